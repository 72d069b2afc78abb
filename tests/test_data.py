"""course_utils.data: sample photos, Splits, load_dataset's every branch, CIFAR-10, data safety.

Nothing here uses the network: CIFAR-10 is replaced by small fake arrays, its
offline path by a download that fails the way an unreachable network does,
and every folder is built in ``tmp_path``.
"""

import hashlib
import os
import socket
import stat
import subprocess
import sys
import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from course_utils.augment import apply_augmenter, make_augmenter
from course_utils.data import (
    CIFAR10_CLASSES,
    DATASET_NAMES,
    OFFLINE_ALTERNATIVE,
    SHAPE_CLASSES,
    FolderReport,
    ImageFolderError,
    NetworkUnavailableError,
    SkippedFile,
    Splits,
    load_cifar10,
    load_dataset,
    load_image_folder,
    sample_image,
    sample_image_names,
    scan_image_folder,
    write_image_folder,
)
from course_utils.models import build_course_cnn

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _solid(path: Path, rgb, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), rgb, np.uint8)).save(path)


# --------------------------------------------------------------------------
# sample_image
# --------------------------------------------------------------------------


def test_sample_names():
    names = sample_image_names()
    assert names[0] == "cat" and len(names) >= 4 and len(set(names)) == len(names)
    names.append("mutated")
    assert "mutated" not in sample_image_names()  # a fresh list each time


@pytest.mark.parametrize("name", sample_image_names())
def test_every_sample_is_a_uint8_rgb_photo_offline(name, no_network):
    image = sample_image(name)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= 256  # a real photo, not a thumbnail
    assert image.flags["C_CONTIGUOUS"] and image.std() > 10


def test_cat_and_grayscale_photos():
    assert sample_image().shape == (300, 451, 3)
    np.testing.assert_array_equal(sample_image(), sample_image("cat"))
    coins = sample_image("coins")
    assert np.array_equal(coins[..., 0], coins[..., 1]) and np.array_equal(
        coins[..., 1], coins[..., 2]
    )
    cat = sample_image("cat")
    assert not np.array_equal(cat[..., 0], cat[..., 2])


def test_sample_size():
    small = sample_image("astronaut", size=32)
    assert small.shape == (32, 32, 3) and small.dtype == np.uint8
    assert sample_image("cat", size=(30, 45)).shape == (30, 45, 3)
    # Anti-aliased: the mean colour survives the shrinking.
    np.testing.assert_allclose(
        small.mean(axis=(0, 1)), sample_image("astronaut").mean(axis=(0, 1)), atol=6
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "dog"}, ValueError, r"name must be one of \['cat', .*got 'dog'"),
        ({"name": None}, ValueError, "got None"),
        ({"size": 0}, ValueError, "^size must be >= 1; got 0"),
        ({"size": (10, 10, 3)}, ValueError, r"^size must be an int or a \(height, width\) pair"),
        ({"size": 2.5}, TypeError, "^size must be an int; got float"),
    ],
)
def test_sample_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_image(**kwargs)


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def _splits(report=None, source="made by hand") -> Splits:
    def images(n):
        return np.zeros((n, 4, 6, 3), np.uint8)

    return Splits(
        x_train=images(5),
        y_train=np.array([0, 1, 1, 2, 2]),
        x_val=images(2),
        y_val=np.array([2, 2]),
        x_test=images(1),
        y_test=np.array([0]),
        class_names=("a<b", "c", "d"),
        name="toy",
        source=source,
        report=report,
    )


def test_splits_counts_and_shapes():
    splits = _splits()
    assert splits.num_classes == 3 and splits.image_shape == (4, 6, 3)
    assert splits.counts == {"train": 5, "val": 2, "test": 1}
    assert splits.class_counts() == {"train": [1, 2, 2], "val": [0, 0, 2], "test": [1, 0, 0]}


def test_splits_text_and_markdown():
    splits = _splits()
    headline = "toy: train 5, val 2, test 1 images of 4x6 RGB, 3 classes"
    assert str(splits) == headline + " (a<b, c, d)\nsource: made by hand"
    assert repr(splits) == f"<Splits {headline}>"
    assert splits.to_markdown() == "\n".join(
        [
            headline,
            "",
            "| class | train | val | test |",
            "|---|---|---|---|",
            "| a<b | 1 | 0 | 1 |",
            "| c | 2 | 0 | 0 |",
            "| d | 2 | 2 | 0 |",
            "| total | 5 | 2 | 1 |",
        ]
    )


def test_splits_html():
    page = _splits()._repr_html_()
    assert page.startswith("<p><b>toy: train 5")
    assert "<th>class</th><th>train</th><th>val</th><th>test</th>" in page
    cells = ["a&lt;b", "1", "0", "1"]
    assert "<tr>" + "".join(f'<td style="text-align:left">{c}</td>' for c in cells) in page
    assert "source: made by hand" in page and "skipped" not in page


def test_splits_mention_skipped_files():
    report = FolderReport(
        root=Path("/x"),
        class_names=("a", "b"),
        files=(),
        labels=np.zeros(0, np.int64),
        skipped=(SkippedFile(Path("/x/a/1.jpg"), "empty file (0 bytes)"),),
    )
    splits = _splits(report=report, source="")
    assert str(splits).endswith("3 classes (a<b, c, d)\n1 files skipped; see .report")
    assert "1 files skipped (see <code>.report</code>)" in splits._repr_html_()
    assert "source" not in str(splits)


# --------------------------------------------------------------------------
# load_dataset("shapes")
# --------------------------------------------------------------------------


def test_shapes_default_sizes_and_format(no_network):
    splits = load_dataset(image_size=16)
    assert splits.name == "shapes" and splits.class_names == SHAPE_CLASSES
    assert splits.counts == {"train": 2000, "val": 500, "test": 1000}
    for x, y in ((splits.x_train, splits.y_train), (splits.x_test, splits.y_test)):
        assert x.dtype == np.uint8 and x.shape[1:] == (16, 16, 3)
        assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))
    assert "train and val poses within +/-15 degrees, test poses within +/-15 degrees" in (
        splits.source
    )


def test_shapes_splits_are_distinct_seeded_and_posed():
    kwargs = dict(image_size=(16, 20), n_train=30, n_val=10, n_test=10, test_rotation=180)
    a = load_dataset("Shapes", seed=1, **kwargs)
    b = load_dataset(" shapes ", seed=1, **kwargs)
    c = load_dataset("shapes", seed=2, **kwargs)
    assert a.x_train.shape == (30, 16, 20, 3) and a.counts == {"train": 30, "val": 10, "test": 10}
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_train[:10], a.x_val)
    assert "test poses within +/-180 degrees" in a.source


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_train": -1}, ValueError, "n_train must be >= 0"),
        ({"n_val": 1.5}, TypeError, "n_val must be an int; got float"),
        ({"n_test": True}, TypeError, "n_test must be an int"),
        ({"val_fraction": 1.0}, ValueError, r"val_fraction must be in \[0, 1\); got 1"),
        ({"test_fraction": "a lot"}, TypeError, "test_fraction must be a number; got str"),
        ({"seed": -3}, ValueError, "seed must be >= 0"),
        ({"image_size": 0}, ValueError, "image_size must be >= 1"),
        ({"image_size": 4}, ValueError, "image_size must be between 8 and 1024"),
        ({"train_rotation": 200}, ValueError, "train_rotation must be between 0 and 180"),
        ({"test_rotation": "any"}, TypeError, "test_rotation must be a number of degrees"),
        (
            {"name": "mnist"},
            ValueError,
            r"name must be one of \['shapes', 'cifar10', 'cats_vs_dogs'\]",
        ),
        ({"name": 10}, TypeError, "name must be one of .* or a folder path; got int 10"),
    ],
)
def test_load_dataset_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_dataset(**{"name": "shapes", **kwargs})


def test_known_names():
    assert DATASET_NAMES == ("shapes", "cifar10", "cats_vs_dogs")


# --------------------------------------------------------------------------
# CIFAR-10, with fake arrays in place of the download
# --------------------------------------------------------------------------


def _fake_cifar(n_train=200, n_test=50):
    """CIFAR-10's format: uint8 (n, 32, 32, 3) images, uint8 (n, 1) labels.

    Every image is one flat colour that encodes its index (red = index // 256,
    green = index % 256, blue = 1 for training, 2 for test), so a test can tell
    which source image went where, even after resizing.
    """

    def part(n, blue):
        index = np.arange(n)
        x = np.zeros((n, 32, 32, 3), np.uint8)
        x[..., 0] = (index // 256)[:, None, None]
        x[..., 1] = (index % 256)[:, None, None]
        x[..., 2] = blue
        y = (index % 10).astype(np.uint8).reshape(-1, 1)
        return x, y

    return part(n_train, 1), part(n_test, 2)


def _source_index(images):
    return images[:, 0, 0, 0].astype(int) * 256 + images[:, 0, 0, 1].astype(int)


@pytest.fixture
def fake_cifar(monkeypatch):
    calls = []

    def load_data():
        calls.append(1)
        return _fake_cifar()

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", load_data)
    return calls


def test_cifar10_split_sizes_balance_and_disjointness(fake_cifar):
    splits = load_cifar10(n_train=50, n_val=10, n_test=20, val_fraction=0.1, seed=3)
    assert fake_cifar == [1]
    assert splits.name == "cifar10" and splits.class_names == CIFAR10_CLASSES
    assert splits.counts == {"train": 50, "val": 10, "test": 20}
    assert splits.class_counts() == {"train": [5] * 10, "val": [1] * 10, "test": [2] * 10}
    assert splits.x_train.shape == (50, 32, 32, 3) and splits.x_train.dtype == np.uint8
    assert splits.y_train.dtype == np.int64 and splits.y_train.shape == (50,)
    train, val, test = (_source_index(x) for x in (splits.x_train, splits.x_val, splits.x_test))
    assert not set(train) & set(val)
    assert (splits.x_train[..., 2] == 1).all() and (splits.x_test[..., 2] == 2).all()
    # Labels travel with their images.
    np.testing.assert_array_equal(splits.y_train, train % 10)
    np.testing.assert_array_equal(splits.y_test, test % 10)


def test_cifar10_everything_by_default_and_seeded(fake_cifar):
    splits = load_cifar10(val_fraction=0.2)
    assert splits.counts == {"train": 160, "val": 40, "test": 50}
    assert sorted(
        _source_index(splits.x_train).tolist() + _source_index(splits.x_val).tolist()
    ) == (list(range(200)))
    again = load_cifar10(val_fraction=0.2)
    other = load_cifar10(val_fraction=0.2, seed=1)
    np.testing.assert_array_equal(splits.x_val, again.x_val)
    assert not np.array_equal(splits.x_val, other.x_val)


def test_cifar10_through_load_dataset_resized(fake_cifar):
    splits = load_dataset("CIFAR-10", image_size=16, n_train=20, n_val=5, n_test=5, seed=0)
    assert splits.x_train.shape == (20, 16, 16, 3) and splits.x_test.shape == (5, 16, 16, 3)
    assert splits.x_val.shape == (5, 16, 16, 3)
    # A flat colour stays that colour when resized: the index can still be read.
    np.testing.assert_array_equal(splits.y_train, _source_index(splits.x_train) % 10)
    assert "keras.datasets.cifar10" in splits.source


def test_cifar10_bad_arguments(fake_cifar):
    with pytest.raises(ValueError, match="val_fraction must be in"):
        load_cifar10(val_fraction=-0.1)
    with pytest.raises(ValueError, match="n_train must be >= 0"):
        load_cifar10(n_train=-5)
    with pytest.raises(TypeError, match="n_test must be an int"):
        load_cifar10(n_test="all")
    assert fake_cifar == []  # checked before anything is loaded or downloaded


def test_cifar10_offline_says_so(tmp_path, monkeypatch):
    """The real keras download path, with a network that cannot be reached."""
    import keras.src.utils.file_utils as file_utils
    from keras.src.backend import config

    def unreachable(url, *args, **kwargs):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setattr(file_utils, "urlretrieve", unreachable)
    with pytest.raises(NetworkUnavailableError) as caught:
        load_dataset("cifar10", image_size=32)
    message = str(caught.value)
    assert "Could not download CIFAR-10" in message and "network is unreachable" in message
    assert OFFLINE_ALTERNATIVE in message and "load_dataset('shapes')" in message


def test_cifar10_other_errors_pass_through(monkeypatch):
    def broken():
        raise ValueError("the cached CIFAR-10 files are damaged")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", broken)
    with pytest.raises(ValueError, match="damaged"):
        load_cifar10()


# --------------------------------------------------------------------------
# load_dataset(<folder>) and load_dataset("cats_vs_dogs") from a prepared folder
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(root, n_per_class=4, image_size=8, include_problem_files=True)


def test_folder_without_split_folders(shapes_folder, no_network):
    splits = load_dataset(shapes_folder, image_size=12, val_fraction=0.25, test_fraction=0.25)
    assert splits.name == "folder" and splits.source == str(shapes_folder)
    assert splits.class_names == tuple(sorted(SHAPE_CLASSES))
    # 4 images in each class: 1 for validation, 1 for test (0.25 of 3), 2 for training.
    # The problem files are all in the first class, which is left out here.
    others = [splits.class_names.index(name) for name in SHAPE_CLASSES[1:]]
    per_class = splits.class_counts()
    assert [per_class[s][i] for s in ("train", "val", "test") for i in others] == (
        [2] * 9 + [1] * 9 + [1] * 9
    )
    assert sum(splits.counts.values()) == 43  # 40 shapes and 3 odd-mode PNGs
    assert splits.x_train.shape == (splits.counts["train"], 12, 12, 3)
    assert splits.x_train.dtype == np.uint8 and splits.y_train.dtype == np.int64
    files = splits.report.files
    assert len(set(files)) == len(files) == 43  # no image in two splits
    assert {s.path.name for s in splits.report.skipped} == {
        "empty.jpg",
        "not_an_image.jpg",
        "notes.txt",
        "png_inside.jpg",
        "truncated.jpg",
    }
    assert "5 files skipped; see .report" in str(splits)


def test_folder_limits_and_progress(shapes_folder, capsys):
    splits = load_dataset(
        str(shapes_folder), image_size=8, n_train=15, n_val=0, n_test=3, seed=5, progress=True
    )
    assert splits.counts == {"train": 15, "val": 0, "test": 3}
    assert splits.x_val.shape == (0, 8, 8, 3)
    counts = splits.class_counts()["train"]
    assert sorted(counts) == [1] * 5 + [2] * 5  # 15 over 10 classes, as even as can be
    assert "Checking train images [" in capsys.readouterr().err


def test_folder_with_split_folders(tmp_path):
    colours = {"cat": (200, 0, 0), "dog": (0, 0, 200)}
    layout = {"train": 3, "validation": 2, "test": 1}
    for split, n in layout.items():
        for name, rgb in colours.items():
            for i in range(n):
                _solid(tmp_path / split / name / f"{i}.png", rgb)
    (tmp_path / "train" / "README.txt").write_text("loose file")
    splits = load_dataset(tmp_path, image_size=8)
    assert splits.counts == {"train": 6, "val": 4, "test": 2}
    assert splits.class_names == ("cat", "dog")
    for x, y in ((splits.x_train, splits.y_train), (splits.x_val, splits.y_val)):
        red = x[..., 0].mean(axis=(1, 2)) > 100
        np.testing.assert_array_equal(red, y == 0)
    assert [s.reason for s in splits.report.skipped] == ["not inside a class folder"]


def test_split_folders_without_validation_carve_it_from_train(tmp_path):
    for split, n in {"training": 4, "test": 2}.items():
        for name in ("a", "b"):
            for i in range(n):
                _solid(tmp_path / split / name / f"{i}.png", (i * 40, 10, 10))
    splits = load_dataset(tmp_path, image_size=8, val_fraction=0.5)
    assert splits.counts == {"train": 4, "val": 4, "test": 4}


def test_split_folders_must_hold_the_same_classes(tmp_path):
    _solid(tmp_path / "train" / "a" / "0.png", (1, 2, 3))
    _solid(tmp_path / "train" / "b" / "0.png", (1, 2, 3))
    _solid(tmp_path / "val" / "a" / "0.png", (1, 2, 3))
    with pytest.raises(FileNotFoundError, match=r"\['b'\] not found in .*val"):
        load_dataset(tmp_path)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder at"):
        load_dataset(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="<class_name>/<image files>"):
        load_dataset(str(tmp_path / "missing"))
    with pytest.raises(ImageFolderError, match="is empty"):
        load_dataset(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.jpg").write_bytes(b"")
    with pytest.raises(ImageFolderError, match="No loadable training image") as caught:
        load_dataset(tmp_path)
    assert "a/broken.jpg: empty file (0 bytes)" in str(caught.value)
    with pytest.raises(ValueError, match=r"val_fraction \+ test_fraction must be below 1"):
        load_dataset(tmp_path, val_fraction=0.5, test_fraction=0.5)


def test_cats_vs_dogs_from_a_prepared_folder_offline(tmp_path, no_network):
    pets = tmp_path / "cats_vs_dogs" / "PetImages"
    for label, rgb in (("Cat", (250, 200, 0)), ("Dog", (0, 60, 250))):
        for i in range(5):
            _solid(pets / label / f"{i}.jpg", rgb, size=10)
    (pets / "Dog" / "Thumbs.db").write_bytes(b"\x00" * 10)
    (pets / "Cat" / "666.jpg").write_bytes(b"")
    for download in (False, True):  # already there: no download either way
        splits = load_dataset(
            "cats_vs_dogs", image_size=8, data_dir=tmp_path, download=download, seed=1
        )
        assert splits.name == "cats_vs_dogs" and splits.class_names == ("Cat", "Dog")
        assert sum(splits.counts.values()) == 10
        assert sorted(s.path.name for s in splits.report.skipped) == ["666.jpg", "Thumbs.db"]
        blue = splits.x_train[..., 2].mean(axis=(1, 2)) > 128
        np.testing.assert_array_equal(blue, splits.y_train == 1)


# --------------------------------------------------------------------------
# Source data is read-only to the course
# --------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: its kind, content hash, size, mode and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out[str(path.relative_to(root))] = (
            stat.S_IFMT(info.st_mode),
            digest,
            info.st_size if path.is_file() else None,
            stat.S_IMODE(info.st_mode),
            info.st_mtime_ns,
        )
    return out


def test_loading_augmenting_and_training_leave_the_source_untouched(tmp_path):
    root = write_image_folder(
        tmp_path / "source", n_per_class=2, image_size=16, include_problem_files=True
    )
    before = _snapshot(root)
    assert len(before) == 10 + 20 + 8 + 1  # class folders, images, problem files, marker

    scan_image_folder(root)
    # Staged loading (some files are skipped) and in-place loading (a clean subset).
    dataset, report = load_image_folder(root, image_size=16, batch_size=8, seed=0)
    in_place, _ = load_image_folder(root, image_size=16, class_names=["star", "arrow"])
    assert any(Path(p).is_relative_to(root) for p in in_place.file_paths)
    for _ in in_place:
        pass
    augmenter = make_augmenter(flip="horizontal", rotation=0.1, brightness=0.2, seed=0)
    for images, _ in dataset:
        assert tuple(apply_augmenter(augmenter, images, seed=1).shape[1:]) == (16, 16, 3)
    model = build_course_cnn((16, 16, 3), num_classes=len(report.class_names), augmenter=augmenter)
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    load_dataset(root, image_size=16)

    assert _snapshot(root) == before


# --------------------------------------------------------------------------
# Every data script has --help
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script", sorted((REPO / "data_scripts").glob("*.py")), ids=lambda p: p.name
)
def test_every_data_script_has_help(script):
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and "--quiet" in result.stdout
