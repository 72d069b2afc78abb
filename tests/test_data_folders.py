"""Class-folder data sets: writing, checking and loading them, and the skip report.

Every folder is built in ``tmp_path``, with the same code that
``data_scripts/make_image_folder.py`` runs, or file by file with Pillow.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils._folders import _WRITE_MARKER, _check_candidates, _image_dataset, decode_files
from course_utils._scripts import make_image_folder as make_image_folder_main
from course_utils.data import (
    PROBLEM_FILES,
    SHAPE_CLASSES,
    FolderReport,
    ImageFolderError,
    SkippedFile,
    load_image_folder,
    make_shapes,
    scan_image_folder,
    write_image_folder,
)

REPO = Path(__file__).resolve().parents[1]


def _image(seed: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _save(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return path


def _collect(dataset):
    """All (images, labels) of an unbatched or batched data set, as numpy arrays."""
    images, labels = [], []
    for x, y in dataset:
        images.append(np.asarray(x).reshape(-1, *x.shape[-3:]))
        labels.append(np.asarray(y).reshape(-1))
    return np.concatenate(images), np.concatenate(labels)


@pytest.fixture(scope="module")
def problem_folder(tmp_path_factory):
    """2 images per class of 8x8 plus every kind of problem file (in the first class)."""
    root = tmp_path_factory.mktemp("folders") / "shapes"
    return write_image_folder(root, n_per_class=2, image_size=8, include_problem_files=True)


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders") / "clean"
    return write_image_folder(root, n_per_class=2, image_size=8)


# --------------------------------------------------------------------------
# write_image_folder (the logic of data_scripts/make_image_folder.py)
# --------------------------------------------------------------------------


def test_written_folder_layout_and_formats(clean_folder):
    classes = sorted(p.name for p in clean_folder.iterdir() if p.is_dir())
    assert classes == sorted(SHAPE_CLASSES)
    for name in SHAPE_CLASSES:
        files = sorted((clean_folder / name).iterdir())
        assert [f.name for f in files] == [f"{name}_000.png", f"{name}_001.jpg"]
        assert [Image.open(f).format for f in files] == ["PNG", "JPEG"]
        assert all(Image.open(f).size == (8, 8) for f in files)
    settings = json.loads((clean_folder / _WRITE_MARKER).read_text())
    assert settings["n_per_class"] == 2 and settings["formats"] == ["png", "jpg"]


def test_png_files_hold_the_shapes_images_exactly(tmp_path):
    root = write_image_folder(tmp_path / "f", n_per_class=1, image_size=8, formats=["png"], seed=3)
    images, labels = make_shapes(10, image_size=8, seed=3)
    for image, label in zip(images, labels, strict=True):
        name = SHAPE_CLASSES[label]
        np.testing.assert_array_equal(
            np.asarray(Image.open(root / name / f"{name}_000.png")), image
        )


def test_same_call_again_changes_nothing(tmp_path):
    root = write_image_folder(tmp_path / "f", n_per_class=1, image_size=8)
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert write_image_folder(tmp_path / "f", n_per_class=1, image_size=8) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == stamps


def test_never_writes_into_a_non_empty_folder(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"my photo")
    with pytest.raises(FileExistsError, match="photos is not empty.*never overwrites"):
        write_image_folder(target, n_per_class=1, image_size=8)
    assert [p.name for p in target.iterdir()] == ["holiday.jpg"]
    assert (target / "holiday.jpg").read_bytes() == b"my photo"


def test_other_arguments_on_a_written_folder_are_refused(tmp_path):
    root = write_image_folder(tmp_path / "f", n_per_class=1, image_size=8)
    with pytest.raises(FileExistsError, match="not empty"):
        write_image_folder(root, n_per_class=2, image_size=8)


def test_a_file_is_not_a_target(tmp_path):
    target = tmp_path / "data.txt"
    target.write_text("keep me")
    with pytest.raises(FileExistsError, match="is a file"):
        write_image_folder(target)
    assert target.read_text() == "keep me"


def test_writes_into_an_empty_existing_folder_with_progress(tmp_path, capsys):
    target = tmp_path / "empty"
    target.mkdir()
    write_image_folder(target, n_per_class=1, image_size=8, formats=[".JPG"], progress=True)
    assert "Writing empty [" in capsys.readouterr().err
    assert len(list(target.rglob("*.jpg"))) == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"formats": ["gif"]}, ValueError, "formats must be"),
        ({"formats": []}, ValueError, "formats must be"),
        ({"n_per_class": 0}, ValueError, "n_per_class must be >= 1"),
        ({"image_size": 4}, ValueError, "image_size must be between 8 and 1024"),
        ({"max_rotation": 200}, ValueError, "max_rotation"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_write_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        write_image_folder(tmp_path / "f", **kwargs)
    assert not (tmp_path / "f").exists()


# --------------------------------------------------------------------------
# scan_image_folder: what is skipped and why
# --------------------------------------------------------------------------


def test_problem_files_are_skipped_with_reasons(problem_folder):
    report = scan_image_folder(problem_folder)
    first = SHAPE_CLASSES[0]
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert reasons == {
        "empty.jpg": "empty file (0 bytes)",
        "not_an_image.jpg": "not an image (Pillow cannot identify its content)",
        "notes.txt": "not an image file name (.txt); Keras reads .bmp .gif .jpeg .jpg .png",
        "png_inside.jpg": "content is PNG but the name ends in .jpg (mislabelled format)",
        "truncated.jpg": reasons["truncated.jpg"],
    }
    assert reasons["truncated.jpg"].startswith("corrupt or truncated image")
    assert {name for name, ok in PROBLEM_FILES if not ok} == set(reasons)
    loaded = {p.name for p in report.files}
    assert {name for name, ok in PROBLEM_FILES if ok} <= loaded
    assert report.counts[first] == 2 + 3 and report.n_loaded == 23
    assert all(s.path.parent == problem_folder / first for s in report.skipped)


def test_scanning_and_loading_leave_problem_files_in_place(problem_folder):
    names = {p.name for p in (problem_folder / SHAPE_CLASSES[0]).iterdir()}
    load_image_folder(problem_folder, image_size=8)
    assert names == {p.name for p in (problem_folder / SHAPE_CLASSES[0]).iterdir()}
    assert {name for name, _ in PROBLEM_FILES} <= names


def test_other_formats_and_odd_files(tmp_path):
    root = tmp_path / "odd"
    _save(root / "a" / "photo.bmp", _image(0), "BMP")
    _save(root / "a" / "photo.gif", _image(1), "GIF")
    _save(root / "a" / "UPPER.JPG", _image(2), "JPEG")
    _save(root / "a" / "nested" / "deep.png", _image(3), "PNG")
    _save(root / "b" / "jpeg_inside.png", _image(4), "JPEG")
    _save(root / "b" / "photo.webp", _image(5), "WEBP")
    (root / "b" / "no_extension").write_bytes(b"?")
    (root / "b" / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (root / "b" / "good.jpeg").write_bytes((root / "a" / "UPPER.JPG").read_bytes())
    (root / "loose.jpg").write_bytes(b"a file outside any class folder")
    (root / ".hidden").mkdir()
    report = scan_image_folder(root)
    assert report.class_names == ("a", "b")
    assert [p.relative_to(root).as_posix() for p in report.files] == [
        "a/UPPER.JPG",
        "a/nested/deep.png",
        "a/photo.bmp",
        "a/photo.gif",
        "b/good.jpeg",
    ]
    assert report.labels.tolist() == [0, 0, 0, 0, 1]
    reasons = {s.path.relative_to(root).as_posix(): s.reason for s in report.skipped}
    assert reasons["loose.jpg"] == "not inside a class folder"
    assert reasons["b/jpeg_inside.png"] == (
        "content is JPEG but the name ends in .png (mislabelled format)"
    )
    assert reasons["b/photo.webp"].startswith("not an image file name (.webp)")
    assert reasons["b/no_extension"].startswith("not an image file name (no extension)")
    assert reasons["b/dangling.jpg"].startswith("cannot be read")
    assert len(reasons) == 5


def test_max_per_class_stops_early_and_is_seeded(tmp_path):
    root = tmp_path / "many"
    for i in range(6):
        _save(root / "a" / f"{i}.png", _image(i))
        _save(root / "b" / f"{i}.png", _image(10 + i))
    (root / "a" / "bad.png").write_bytes(b"")
    first = scan_image_folder(root, max_per_class=2, seed=1, workers=1)
    again = scan_image_folder(root, max_per_class=2, seed=1, workers=1)
    other = scan_image_folder(root, max_per_class=2, seed=2, workers=1)
    assert first.counts == {"a": 2, "b": 2}
    assert first.files == again.files and first.files != other.files
    examined = first.n_loaded + len(first.skipped)
    assert first.not_examined == 13 - examined
    assert "not examined (max_per_class reached)" in str(first)


def test_check_candidates_meets_quotas_in_the_given_order(tmp_path):
    files = [_save(tmp_path / f"{i}.png", _image(i)) for i in range(5)]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    order = [files[3], bad, files[0], files[4], files[1], files[2]]
    good, skipped, not_examined = _check_candidates([order, files], [2, None], workers=4)
    # Workers check 4 at a time: files[4] was checked but not needed; the rest was not opened.
    assert good == [sorted([files[3], files[0]]), files]
    assert skipped == [SkippedFile(bad, "empty file (0 bytes)")]
    assert not_examined == 3


# --------------------------------------------------------------------------
# Errors: missing, empty and malformed folders
# --------------------------------------------------------------------------


def test_missing_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as caught:
        load_image_folder(missing)
    message = str(caught.value)
    assert f"No folder at {missing}" in message
    assert f"{missing}/<class_name>/<image files>" in message


def test_a_file_instead_of_a_folder(tmp_path):
    path = _save(tmp_path / "one.png", _image(0))
    with pytest.raises(NotADirectoryError, match="one.png is a file, not a folder"):
        scan_image_folder(path)


def test_empty_folder(tmp_path):
    with pytest.raises(ImageFolderError) as caught:
        load_image_folder(tmp_path)
    message = str(caught.value)
    assert f"The folder {tmp_path} is empty" in message
    assert f"{tmp_path}/<class_name>/<image files>" in message


def test_folder_without_class_sub_folders(tmp_path):
    _save(tmp_path / "1.png", _image(0))
    _save(tmp_path / "2.png", _image(1))
    (tmp_path / ".git").mkdir()  # hidden folders are not classes
    with pytest.raises(ImageFolderError) as caught:
        load_image_folder(tmp_path)
    message = str(caught.value)
    assert f"The folder {tmp_path} has no class sub-folders (it holds 2 files directly)" in message
    assert f"{tmp_path}/<class_name>/<image files>" in message
    assert "sub-folder named after the class" in message


def test_class_folders_without_a_loadable_image(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "0.jpg").write_bytes(b"")
    (tmp_path / "dog").mkdir()
    with pytest.raises(ImageFolderError) as caught:
        scan_image_folder(tmp_path)
    message = str(caught.value)
    assert f"No loadable image in {tmp_path}" in message
    assert "cat/0.jpg: empty file (0 bytes)" in message
    assert "<class_name>/<image files>" in message


def test_requested_class_folder_missing(clean_folder):
    with pytest.raises(FileNotFoundError, match=r"Class folder\(s\) \['unicorn'\] not found"):
        scan_image_folder(clean_folder, class_names=["star", "unicorn"])


def test_bad_loader_arguments(clean_folder):
    with pytest.raises(ValueError, match="max_per_class must be >= 1"):
        scan_image_folder(clean_folder, max_per_class=0)
    with pytest.raises(TypeError, match="image_size must be an int; got str 'big'"):
        load_image_folder(clean_folder, image_size="big")
    with pytest.raises(ValueError, match=r"image_size must be an int or a \(height, width\) pair"):
        load_image_folder(clean_folder, image_size=(8, 8, 3))
    for split, subset in ((0.2, None), (None, "training"), (1.0, "both"), (0.2, "train")):
        with pytest.raises(ValueError, match="validation_split"):
            load_image_folder(clean_folder, validation_split=split, subset=subset)


# --------------------------------------------------------------------------
# load_image_folder: values, odd modes, options
# --------------------------------------------------------------------------


def test_clean_folder_is_read_in_place(clean_folder):
    dataset, report = load_image_folder(clean_folder, image_size=8, batch_size=5, shuffle=False)
    assert report.n_loaded == 20 and report.skipped == ()
    assert all(Path(p).is_relative_to(clean_folder) for p in dataset.file_paths)
    images, labels = _collect(dataset)
    assert images.shape == (20, 8, 8, 3) and images.dtype == np.float32
    assert labels.tolist() == np.repeat(np.arange(10), 2).tolist()
    for image, path in zip(images, dataset.file_paths, strict=True):
        if path.endswith(".png"):  # lossless: the exact pixels
            np.testing.assert_array_equal(image, np.asarray(Image.open(path)))


def test_grayscale_rgba_and_16_bit_load_as_rgb(problem_folder):
    dataset, report = load_image_folder(
        problem_folder, image_size=8, batch_size=None, shuffle=False
    )
    images, labels = _collect(dataset)
    assert images.shape == (report.n_loaded, 8, 8, 3)
    assert labels.tolist() == report.labels.tolist()
    by_name = {p.name: image for p, image in zip(report.files, images, strict=True)}
    source = problem_folder / SHAPE_CLASSES[0]
    gray = np.asarray(Image.open(source / "grayscale.png"))
    np.testing.assert_array_equal(by_name["grayscale.png"], np.stack([gray] * 3, axis=-1))
    rgba = np.asarray(Image.open(source / "with_alpha.png"))
    assert rgba.shape == (8, 8, 4)
    np.testing.assert_array_equal(by_name["with_alpha.png"], rgba[..., :3])
    sixteen = np.asarray(Image.open(source / "sixteen_bit.png")).astype(np.float64) / 257
    assert sixteen.max() > 1.0  # really 16-bit values, scaled down to 0-255
    np.testing.assert_allclose(by_name["sixteen_bit.png"], np.stack([sixteen] * 3, -1), atol=1)
    assert images.max() <= 255.0


def test_skipped_files_are_never_read(problem_folder):
    dataset, report = load_image_folder(problem_folder, image_size=8, batch_size=None)
    assert len(dataset.file_paths) == report.n_loaded == 23 == len(list(dataset))
    assert dataset.file_paths == [str(p) for p in report.files]  # read in place, no copies
    assert dataset.class_names == list(report.class_names)


@pytest.mark.parametrize("crop", [False, True])
def test_images_are_those_keras_reads_from_the_folder(tmp_path, crop):
    """The tf.data route against its oracle, keras.utils.image_dataset_from_directory."""
    _save(
        tmp_path / "a" / "wide.png", np.random.default_rng(0).integers(0, 256, (6, 10, 3), np.uint8)
    )
    _save(
        tmp_path / "b" / "tall.jpg", np.random.default_rng(1).integers(0, 256, (9, 5, 3), np.uint8)
    )
    import keras

    expected = keras.utils.image_dataset_from_directory(
        tmp_path, image_size=(7, 7), shuffle=False, crop_to_aspect_ratio=crop, verbose=False
    )
    ours, _ = load_image_folder(tmp_path, image_size=7, shuffle=False, crop_to_aspect_ratio=crop)
    (x_keras, y_keras), (x_ours, y_ours) = _collect(expected), _collect(ours)
    np.testing.assert_array_equal(y_ours, y_keras)
    np.testing.assert_allclose(x_ours, x_keras, atol=1e-4)


def test_shuffle_is_seeded_and_new_each_epoch(clean_folder):
    dataset, _ = load_image_folder(clean_folder, image_size=8, batch_size=None, seed=3)
    again, _ = load_image_folder(clean_folder, image_size=8, batch_size=None, seed=3)
    first, second = (_collect(dataset)[1].tolist() for _ in range(2))
    assert first == _collect(again)[1].tolist() and first != second
    assert sorted(first) == sorted(second)


def test_max_per_class_class_names_and_validation_split(clean_folder):
    dataset, report = load_image_folder(
        clean_folder, image_size=8, class_names=["star", "arrow"], max_per_class=1, seed=4
    )
    assert report.class_names == ("star", "arrow") and report.counts == {"star": 1, "arrow": 1}
    assert report.not_examined == 2
    images, labels = _collect(dataset)
    assert images.shape == (2, 8, 8, 3) and sorted(labels.tolist()) == [0, 1]
    (train, val), report = load_image_folder(
        clean_folder, image_size=(8, 6), validation_split=0.5, subset="both", seed=1
    )
    x_train, _ = _collect(train)
    x_val, _ = _collect(val)
    assert x_train.shape == (10, 8, 6, 3) and x_val.shape == (10, 8, 6, 3)


def test_decode_files_keeps_the_given_order(clean_folder):
    report = scan_image_folder(clean_folder)
    files = list(reversed(report.files))
    labels = report.labels[::-1]
    images, got = decode_files(files, labels, 8)
    assert images.dtype == np.uint8 and images.shape == (20, 8, 8, 3)
    assert got.tolist() == labels.tolist()
    for image, path in zip(images, files, strict=True):
        if path.suffix == ".png":
            np.testing.assert_array_equal(image, np.asarray(Image.open(path)))
    empty, no_labels = decode_files([], [], (4, 6))
    assert empty.shape == (0, 4, 6, 3) and no_labels.shape == (0,)
    assert list(_image_dataset([], [], (4, 4))) == []


# --------------------------------------------------------------------------
# The skip report
# --------------------------------------------------------------------------


def _report(n_skipped: int, notes=()) -> FolderReport:
    root = Path("/data/pets")
    return FolderReport(
        root=root,
        class_names=("cat", "dog"),
        files=(root / "cat" / "1.jpg", root / "cat" / "2.jpg"),
        labels=np.array([0, 0]),
        skipped=tuple(
            SkippedFile(root / "dog" / f"{i}.jpg", "empty <file>") for i in range(n_skipped)
        ),
        notes=notes,
    )


def test_report_text_markdown_and_html():
    report = _report(2, notes=("class 'dog' has no loadable image",))
    assert report.counts == {"cat": 2, "dog": 0} and report.n_loaded == 2
    assert str(report) == (
        "/data/pets: 2 images in 2 classes (cat: 2, dog: 0); 2 files skipped:\n"
        "  dog/0.jpg: empty <file>\n"
        "  dog/1.jpg: empty <file>\n"
        "  note: class 'dog' has no loadable image"
    )
    assert report.to_markdown().splitlines()[2:] == [
        "| skipped file | reason |",
        "|---|---|",
        "| dog/0.jpg | empty <file> |",
        "| dog/1.jpg | empty <file> |",
    ]
    page = report._repr_html_()
    assert page.count("<tr>") == 3 and page.count("empty &lt;file&gt;") == 2
    assert "<p>Note: class &#x27;dog&#x27; has no loadable image</p>" in page
    assert repr(report).startswith("<FolderReport /data/pets: 2 images")


def test_report_without_skips_and_long_reports():
    assert str(_report(0)).endswith("0 files skipped.")
    assert "<table>" not in _report(0)._repr_html_()
    long = _report(60)
    assert str(long).splitlines()[-1] == "  ... and 40 more"
    assert long.to_markdown(max_rows=5).splitlines()[-1] == "| ... | 55 more |"
    assert "10 more" in long._repr_html_() and "11 more" not in long._repr_html_()


def test_report_paths_outside_the_root_are_shown_whole():
    report = FolderReport(
        root=Path("/data"),
        class_names=("a",),
        files=(),
        labels=np.zeros(0, np.int64),
        skipped=(SkippedFile(Path("/elsewhere/x.jpg"), "why"),),
    )
    assert "  /elsewhere/x.jpg: why" in str(report)


def test_empty_class_gets_a_note(tmp_path):
    _save(tmp_path / "cat" / "0.png", _image(0))
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "x.txt").write_text("no photo")
    report = scan_image_folder(tmp_path)
    assert report.notes == ("class 'dog' has no loadable image",)


# --------------------------------------------------------------------------
# data_scripts/make_image_folder.py
# --------------------------------------------------------------------------


def _make_folder_script(*args):
    return subprocess.run(
        [sys.executable, str(REPO / "data_scripts" / "make_image_folder.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_make_image_folder_script_writes_a_loadable_folder(tmp_path):
    out = tmp_path / "shapes_folder"
    result = _make_folder_script(
        str(out), "--per-class", "2", "--size", "16", "--with-problem-files", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert "23 images in 10 classes" in result.stdout and "5 files skipped" in result.stdout
    dataset, report = load_image_folder(out, image_size=16, batch_size=8)
    images, labels = _collect(dataset)
    assert images.shape == (23, 16, 16, 3) and len(report.skipped) == 5
    assert set(labels.tolist()) == set(range(10))


def test_make_image_folder_script_refuses_a_non_empty_target(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.png").write_bytes(b"precious")
    result = _make_folder_script(str(target), "--per-class", "1", "--size", "8", "--quiet")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {target} is not empty")
    assert [p.name for p in target.iterdir()] == ["keep.png"]
    assert (target / "keep.png").read_bytes() == b"precious"


def test_make_image_folder_script_bad_format(tmp_path, capsys):
    assert make_image_folder_main([str(tmp_path / "x"), "--formats", "png,tiff", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: formats must be")
    assert not (tmp_path / "x").exists()


def test_make_image_folder_script_target_under_a_file(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep")
    assert (
        make_image_folder_main([str(tmp_path / "notes.txt" / "out"), "--size", "8", "--quiet"]) == 2
    )
    assert capsys.readouterr().err.startswith("error: [Errno 20] Not a directory")
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_progress_bar_of_the_folder_check(clean_folder, capsys):
    scan_image_folder(clean_folder, progress=True)
    assert "Checking images in clean [" in capsys.readouterr().err
