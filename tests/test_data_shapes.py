"""The built-in shapes data set: format, determinism, balance, pose control, speed."""

import html

import numpy as np
import pytest
from skimage.transform import rotate

from course_utils.data import (
    SHAPE_CLASSES,
    ShapeParams,
    make_shapes,
    render_shape_masks,
    render_shapes,
    shape_params,
)


def test_ten_named_classes():
    assert len(SHAPE_CLASSES) == 10
    assert len(set(SHAPE_CLASSES)) == 10
    assert all(isinstance(name, str) and name for name in SHAPE_CLASSES)


@pytest.mark.parametrize("size", [32, 64])
def test_format(size):
    images, labels = make_shapes(50, image_size=size, seed=1)
    assert images.shape == (50, size, size, 3)
    assert images.dtype == np.uint8
    assert labels.shape == (50,)
    assert labels.dtype == np.int64
    assert set(labels.tolist()) <= set(range(10))


def test_rectangular_size_and_zero_images():
    images, labels = make_shapes(3, image_size=(24, 40))
    assert images.shape == (3, 24, 40, 3)
    empty, no_labels = make_shapes(0)
    assert empty.shape == (0, 32, 32, 3) and no_labels.shape == (0,)


def test_same_seed_same_images_other_seed_other_images():
    a, la = make_shapes(40, seed=7)
    b, lb = make_shapes(40, seed=7)
    c, _ = make_shapes(40, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_streams_are_independent():
    a = shape_params(30, seed=0, stream=0)
    b = shape_params(30, seed=0, stream=1)
    assert not np.allclose(a.centers, b.centers)


def test_classes_are_balanced_and_shuffled():
    _, labels = make_shapes(1003, seed=2)
    counts = np.bincount(labels, minlength=10)
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == 1003
    assert not np.array_equal(labels[:10], np.arange(10))


def test_images_vary_in_colour_and_position():
    params = shape_params(200, image_size=32, seed=3)
    assert params.foreground.std(axis=0).min() > 40  # colours spread over the range
    assert params.centers.std(axis=0).min() > 1.0  # positions vary
    assert params.radii.max() / params.radii.min() > 1.3  # sizes vary
    images = render_shapes(params)
    assert images.reshape(200, -1).std(axis=1).min() > 5  # no flat images


def test_shape_contrasts_with_background():
    params = shape_params(300, image_size=32, seed=4)
    weights = np.array([0.299, 0.587, 0.114])
    gap = np.abs(params.foreground @ weights - params.background.mean(axis=1) @ weights)
    assert gap.min() >= 79.0


@pytest.mark.parametrize("max_rotation", [0.0, 15.0, 90.0, 180.0])
def test_max_rotation_bounds_the_pose(max_rotation):
    params = shape_params(500, seed=5, max_rotation=max_rotation)
    assert np.abs(params.angles).max() <= max_rotation
    if max_rotation:
        # ... and uses the range it is given
        assert np.abs(params.angles).max() > 0.9 * max_rotation


def test_shapes_stay_inside_the_inscribed_circle():
    params = shape_params(300, image_size=32, seed=6, max_rotation=180)
    masks = render_shape_masks(params)
    rows, cols = np.mgrid[0:32, 0:32] + 0.5
    outside = np.hypot(rows - 16, cols - 16) > 16.5
    assert masks[:, outside].max() == 0.0
    # The shapes are not tiny either: they cover a good part of the image.
    assert masks.mean(axis=(1, 2)).min() > 0.08


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def test_pose_angle_rotates_the_upright_rendering():
    """Drawing at angle t equals drawing upright and rotating by t counter-clockwise."""
    params = shape_params(40, image_size=64, seed=9, max_rotation=0)
    upright = render_shape_masks(params)
    turned = render_shape_masks(params.with_angles(40.0))
    wrong_way = render_shape_masks(params.with_angles(-40.0))
    for i in range(len(params)):
        row, col = params.centers[i]
        expected = rotate(upright[i], 40.0, center=(col - 0.5, row - 0.5), order=1)
        assert _iou(turned[i], expected) > 0.85
        name = SHAPE_CLASSES[params.labels[i]]
        if name in ("arrow", "ell", "heart", "house", "cross"):
            assert _iou(turned[i], expected) > _iou(wrong_way[i], expected) + 0.1


def _orientation(mask):
    rows, cols = np.nonzero(mask > 0.5)
    rows = rows - rows.mean()
    cols = cols - cols.mean()
    mu20, mu02, mu11 = (cols**2).mean(), (rows**2).mean(), (cols * rows).mean()
    return np.degrees(0.5 * np.arctan2(2 * mu11, mu20 - mu02))  # 0 = horizontal axis


def test_upright_arrows_stand_up_and_any_pose_arrows_do_not():
    def deviation_from_vertical(max_rotation):
        params = shape_params(400, image_size=64, seed=10, max_rotation=max_rotation)
        masks = render_shape_masks(params)[params.labels == SHAPE_CLASSES.index("arrow")]
        angles = np.array([_orientation(m) for m in masks])
        return np.abs(90 - np.abs(angles))

    assert deviation_from_vertical(15).max() < 22
    assert deviation_from_vertical(180).max() > 60


def _canonical_masks(angles, mirror=False):
    """Every class, centred, at each angle: array (classes, angles, 64, 64)."""
    out = []
    for label in range(10):
        n = len(angles)
        base = shape_params(n, image_size=64, seed=0, max_rotation=0)
        params = ShapeParams(
            labels=np.full(n, label, dtype=np.int64),
            angles=np.asarray(angles, dtype=np.float64),
            centers=np.full((n, 2), 32.0),
            radii=np.full(n, 28.0),
            foreground=base.foreground,
            background=base.background,
            gradient_angles=base.gradient_angles,
            noise=0.0,
            image_size=(64, 64),
            seed=0,
        )
        masks = render_shape_masks(params)
        out.append(masks[..., ::-1] if mirror else masks)
    return np.stack(out)


def test_no_class_turns_into_another_when_rotated_or_mirrored():
    angles = np.arange(0, 360, 6)
    upright = _canonical_masks([0.0])[:, 0] > 0.5
    for mirror in (False, True):
        turned = _canonical_masks(angles, mirror=mirror) > 0.5
        inter = (upright[:, None, None] & turned[None]).sum(axis=(-1, -2))
        union = (upright[:, None, None] | turned[None]).sum(axis=(-1, -2))
        best = (inter / union).max(axis=2)  # (class a, class b): best match over angles
        off_diagonal = best[~np.eye(10, dtype=bool)]
        assert off_diagonal.max() < 0.8, best.round(2)
        if not mirror:  # the check finds a class when it is there
            assert np.diag(best).min() > 0.99


def test_appearance_changes_with_pose():
    """Turning a shape upside down changes how it looks (for every class)."""
    masks = _canonical_masks([0.0, 90.0, 180.0]) > 0.5
    for label in range(10):
        ious = [_iou(masks[label, 0], masks[label, k]) for k in (1, 2)]
        assert min(ious) < 0.85, (SHAPE_CLASSES[label], ious)


def test_params_str_html_and_with_angles():
    params = shape_params(12, image_size=16, seed=1, max_rotation=15)
    text = str(params)
    assert "12 images of 16x16" in text and "seed 1" in text
    assert params._repr_html_() == f"<p><code>{html.escape(text)}</code></p>"
    flat = params.with_angles(0.0)
    assert np.all(flat.angles == 0) and len(flat) == 12
    assert "no images" in str(shape_params(0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": -1}, ValueError, "n must be >= 0"),
        ({"n": 2.5}, TypeError, "n must be an int"),
        ({"n": True}, TypeError, "n must be an int"),
        ({"n": 2, "image_size": 4}, ValueError, "image_size must be between 8 and 1024"),
        ({"n": 2, "image_size": (32, 32, 3)}, ValueError, "image_size must be an int or"),
        ({"n": 2, "image_size": "32"}, TypeError, "image_size must be an int"),
        ({"n": 2, "max_rotation": 200}, ValueError, "max_rotation must be between 0 and 180"),
        ({"n": 2, "max_rotation": -1}, ValueError, "max_rotation must be between 0 and 180"),
        ({"n": 2, "max_rotation": "all"}, TypeError, "max_rotation must be a number"),
        ({"n": 2, "seed": -3}, ValueError, "seed must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shapes(**kwargs)


def test_render_needs_params():
    with pytest.raises(TypeError, match="params must be a ShapeParams"):
        render_shape_masks({"labels": [0]})
