"""Folders of images, one sub-folder per class: check them, load them, write one.

Source folders are read-only to the course: every file is opened read-only and
either loaded (along Keras' tf.data route) or reported with the reason it was
skipped; nothing is ever written to, renamed or cleaned up there.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils._display import Table
from course_utils._download import _keras, _progress, _read_json
from course_utils._shapes import SHAPE_CLASSES, _check_rotation, make_shapes
from course_utils._validation import as_fraction, as_int, as_size

#: File name endings that ``keras.utils.image_dataset_from_directory`` reads.
KERAS_IMAGE_EXTENSIONS: tuple[str, ...] = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

_WRITE_MARKER = ".course_utils_image_folder.json"


class ImageFolderError(ValueError):
    """A folder does not have the ``root/<class_name>/<image files>`` layout or no usable image."""


def _expected(root: Path) -> str:
    return (
        f"Expected images laid out as {root}/<class_name>/<image files>, "
        f"e.g. {root}/cat/001.jpg and {root}/dog/002.jpg"
    )


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not loaded (``path``), and why (``reason``, e.g. "empty file (0 bytes)")."""

    path: Path
    reason: str


@dataclass(frozen=True)
class FolderReport:
    """What :func:`scan_image_folder` found in a class-folder data set.

    ``root`` was scanned; ``class_names[i]`` is label ``i``; ``files`` are the
    loadable images (label order, then name order) with their int64 ``labels``;
    ``skipped`` lists every other file with the reason; ``not_examined`` counts
    files left unopened once ``max_per_class`` was reached; ``notes`` holds
    remarks such as a class without a loadable image.
    """

    root: Path
    class_names: tuple[str, ...]
    files: tuple[Path, ...]
    labels: np.ndarray
    skipped: tuple[SkippedFile, ...] = ()
    not_examined: int = 0
    notes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Number of loadable images per class."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}

    @property
    def n_loaded(self) -> int:
        """Number of loadable images."""
        return len(self.files)

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.root) if path.is_relative_to(self.root) else path)

    def table(self, max_rows: int = 20) -> Table:
        """The skipped files and why, at most ``max_rows`` rows.

        Examples
        --------
        >>> report = FolderReport(Path("/data"), ("cat",), (), np.zeros(0, np.int64),
        ...                       (SkippedFile(Path("/data/cat/1.jpg"), "empty file (0 bytes)"),))
        >>> print(report.table())
        skipped file  reason
        ------------  --------------------
        cat/1.jpg     empty file (0 bytes)
        """
        rows = [(self._relative(s.path), s.reason) for s in self.skipped[:max_rows]]
        if len(self.skipped) > max_rows:
            rows.append(("...", f"{len(self.skipped) - max_rows} more"))
        return Table(["skipped file", "reason"], rows)

    def to_markdown(self, max_rows: int = 20) -> str:
        """The summary line and a Markdown table of the skipped files."""
        return self._summary() + "\n\n" + self.table(max_rows).markdown()

    def _summary(self) -> str:
        per_class = ", ".join(f"{name}: {n}" for name, n in self.counts.items())
        text = (
            f"{self.root}: {self.n_loaded} images in {len(self.class_names)} classes "
            f"({per_class}); {len(self.skipped)} files skipped"
        )
        if self.not_examined:
            text += f"; {self.not_examined} not examined (max_per_class reached)"
        return text

    def __str__(self) -> str:
        lines = [self._summary() + (":" if self.skipped else ".")]
        lines += [f"  {self._relative(s.path)}: {s.reason}" for s in self.skipped[:20]]
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FolderReport {self._summary()}>"

    def _repr_html_(self) -> str:
        table = self.table(50).html() if self.skipped else ""
        notes = "".join(f"<p>Note: {html.escape(n)}</p>" for n in self.notes)
        return f"<p>{html.escape(self._summary())}.</p>{table}{notes}"


# --- Scanning ---
def _check_file(path: Path) -> str | None:
    """Why ``path`` cannot be loaded as an image, or None when it can."""
    from PIL import Image, UnidentifiedImageError

    suffix = path.suffix.lower()
    if suffix not in KERAS_IMAGE_EXTENSIONS:
        return (
            f"not an image file name ({suffix or 'no extension'}); "
            f"Keras reads {' '.join(KERAS_IMAGE_EXTENSIONS)}"
        )
    try:
        size = path.stat().st_size
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if size == 0:
        return "empty file (0 bytes)"
    try:
        with Image.open(path) as image:
            found = image.format
            image.load()  # decode every pixel: catches truncated and corrupt data
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify its content)"
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
        return f"corrupt or truncated image ({error})"
    # MPO (a multi-picture JPEG) is what Pillow calls many cameras' JPEGs.
    if found not in ({"JPEG", "MPO"} if suffix in (".jpg", ".jpeg") else {suffix[1:].upper()}):
        return f"content is {found} but the name ends in {suffix} (mislabelled format)"
    return None


def _resolve_classes(root: Path, class_names: Sequence[str] | None) -> list[str]:
    """Check the layout of ``root`` and pick the class folders (all by default)."""
    if not root.exists():
        raise FileNotFoundError(f"No folder at {root}. {_expected(root)}.")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder. {_expected(root)}.")
    entries = sorted(os.listdir(root))
    if not entries:
        raise ImageFolderError(f"The folder {root} is empty. {_expected(root)}.")
    found = [e for e in entries if (root / e).is_dir() and not e.startswith(".")]
    if not found:
        n_files = sum((root / e).is_file() for e in entries)
        raise ImageFolderError(
            f"The folder {root} has no class sub-folders (it holds {n_files} files directly). "
            f"{_expected(root)}: put each class's images in a sub-folder named after the class."
        )
    names = found if class_names is None else [str(c) for c in class_names]
    missing = [c for c in names if c not in found]
    if missing:
        raise FileNotFoundError(
            f"Class folder(s) {missing} not found in {root} (found {found}). {_expected(root)}."
        )
    return names


def _candidates(
    root: Path, class_names: Sequence[str] | None, rng: np.random.Generator | None = None
) -> tuple[list[str], list[SkippedFile], list[list[Path]]]:
    """The classes of ``root``, its loose files, and each class's files (sub-folders included).

    A class's files come in name order, as Keras walks them, or shuffled by ``rng``.
    """
    names = _resolve_classes(root, class_names)
    loose = [
        SkippedFile(root / entry, "not inside a class folder")
        for entry in sorted(os.listdir(root))
        if (root / entry).is_file() and not entry.startswith(".")
    ]
    files = []
    for name in names:
        walk = sorted(os.walk(root / name))
        found = [Path(folder) / f for folder, _, filenames in walk for f in sorted(filenames)]
        files.append(found if rng is None else [found[i] for i in rng.permutation(len(found))])
    return names, loose, files


def _check_candidates(
    candidates: Sequence[Sequence[Path]],
    quotas: Sequence[int | None],
    *,
    progress: bool = False,
    description: str = "Checking images",
    workers: int | None = None,
) -> tuple[list[list[Path]], list[SkippedFile], int]:
    """Check files class by class, in the given order, until each quota of good ones is met.

    Returns the good files per class (name order), the skipped ones, and how many
    files were not opened (or not needed) once a quota was met.
    """
    total = sum(
        len(c) if q is None else min(len(c), q) for c, q in zip(candidates, quotas, strict=True)
    )
    workers = workers or min(8, os.cpu_count() or 1)
    good: list[list[Path]] = []
    skipped: list[SkippedFile] = []
    not_examined = 0
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        _progress(total, description, enabled=progress) as advance,
    ):
        for files, quota in zip(candidates, quotas, strict=True):
            kept: list[Path] = []
            position = 0
            while position < len(files) and (quota is None or len(kept) < quota):
                # Enough files for the quota, and at least one for each worker
                step = len(files) if quota is None else max(quota - len(kept), workers)
                chunk = files[position : position + step]
                position += len(chunk)
                for file, reason in zip(chunk, pool.map(_check_file, chunk), strict=True):
                    if reason is not None:
                        skipped.append(SkippedFile(file, reason))
                    elif quota is None or len(kept) < quota:
                        kept.append(file)
                    else:
                        not_examined += 1  # good, but over the quota
                    advance()
            not_examined += len(files) - position
            # Keras reads files in name order within a class; keep that order.
            good.append(sorted(kept))
    return good, skipped, not_examined


def scan_image_folder(
    path: str | os.PathLike,
    *,
    class_names: Sequence[str] | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    progress: bool = False,
    workers: int | None = None,
) -> FolderReport:
    """Check every file of a class-folder data set without changing anything.

    Each file in ``path/<class_name>/`` (sub-folders included, as in Keras) is
    opened read-only and fully decoded; empty, corrupt and non-image files,
    content that does not match the name (a PNG called ``.jpg``) and files
    directly in ``path`` go to :attr:`FolderReport.skipped`, with the reason.

    Parameters
    ----------
    path : path-like
        Root folder, laid out as ``path/<class_name>/<image files>``.
    class_names : sequence of str, optional
        Use these class folders, in this order (default: all, sorted).
    max_per_class, seed : int, optional
        Stop after this many loadable images per class, drawn in a random
        order fixed by ``seed`` (for quick runs on big folders).
    progress, workers : bool, int
        Progress bar on stderr; decoding threads (default: CPUs, at most 8).

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ImageFolderError
        ``path`` or a class folder is missing; ``path`` is a file; it is empty,
        has no class sub-folders or no loadable image.

    Examples
    --------
    >>> import tempfile
    >>> root = write_image_folder(tempfile.mkdtemp() + "/shapes", n_per_class=2)
    >>> scan_image_folder(root).n_loaded
    20
    """
    root = Path(path).expanduser()
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    if max_per_class is not None:  # then a random sample of each class is checked
        max_per_class = as_int(max_per_class, "max_per_class", minimum=1)
    names, skipped, candidates = _candidates(
        root, class_names, None if max_per_class is None else rng
    )
    good, bad, not_examined = _check_candidates(
        candidates,
        [max_per_class] * len(names),
        progress=progress,
        description=f"Checking images in {root.name}",
        workers=workers,
    )
    skipped.extend(bad)
    files_out = tuple(f for kept in good for f in kept)
    report = FolderReport(
        root=root,
        class_names=tuple(names),
        files=files_out,
        labels=np.repeat(np.arange(len(good), dtype=np.int64), [len(kept) for kept in good]),
        skipped=tuple(sorted(skipped, key=lambda s: str(s.path))),
        not_examined=not_examined,
        notes=tuple(
            f"class '{name}' has no loadable image"
            for name, kept in zip(names, good, strict=True)
            if not kept
        ),
    )
    if not files_out:
        raise ImageFolderError(f"No loadable image in {root}: {report}\n{_expected(root)}.")
    return report


# --- Loading: the tf.data route ---
def _image_dataset(
    files: Sequence[str | os.PathLike],
    labels: Sequence[int] | np.ndarray,
    size: tuple[int, int],
    *,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    crop_to_aspect_ratio: bool = False,
    interpolation: str = "bilinear",
) -> Any:
    """Keras' ``from_tensor_slices(paths).map(read + decode + resize)``: float32 0-255 images."""
    keras = _keras()
    import tensorflow as tf

    paths = [str(f) for f in files]
    labels = np.asarray(labels, dtype=np.int32).reshape(-1)
    dataset = tf.data.Dataset.from_tensor_slices((tf.constant(paths, tf.string), labels))
    if shuffle and paths:
        dataset = dataset.shuffle(len(paths), seed=as_int(seed, "seed", minimum=0))
    resize = keras.layers.Resizing(
        *size, interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio
    )

    def load(path: Any, label: Any) -> tuple[Any, Any]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return resize(tf.cast(image, tf.float32)), label

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size is not None:
        dataset = dataset.batch(as_int(batch_size, "batch_size", minimum=1))
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.file_paths = paths
    return dataset


def _split(n: int, fraction: Any, subset: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random ``{"training": indices, "validation": indices}`` (each in file order)."""
    if subset in ("training", "validation", "both") and fraction is not None:
        fraction = as_fraction(fraction, "validation_split", inclusive=False)  # 0 -> None
    if not fraction or subset not in ("training", "validation", "both"):
        raise ValueError(
            "validation_split (in (0, 1)) and subset ('training', 'validation' or 'both') go "
            f"together; got validation_split={fraction} and subset={subset!r}"
        )
    order = rng.permutation(n)
    n_val = int(fraction * n)  # as Keras counts it
    return {"training": np.sort(order[: n - n_val]), "validation": np.sort(order[n - n_val :])}


def load_image_folder(
    path: str | os.PathLike,
    image_size: int | tuple[int, int] = (64, 64),
    batch_size: int | None = 32,
    *,
    shuffle: bool = True,
    seed: int = 0,
    validation_split: float | None = None,
    subset: str | None = None,
    class_names: Sequence[str] | None = None,
    max_per_class: int | None = None,
    crop_to_aspect_ratio: bool = False,
    interpolation: str = "bilinear",
    progress: bool = False,
) -> tuple[Any, FolderReport]:
    """Load a class-folder data set as ``keras.utils.image_dataset_from_directory`` does.

    Checked first by :func:`scan_image_folder`: only loadable files are read.
    Grayscale, RGBA, palette and 16-bit images come out as 8-bit-range RGB.

    Parameters
    ----------
    path, class_names, max_per_class, seed, progress
        As in :func:`scan_image_folder`; ``seed`` also fixes the shuffle and
        the validation split.
    image_size, batch_size : int or (int, int), int or None
        ``(height, width)`` of every image; ``None`` yields single images.
    shuffle : bool
        Shuffle the files each epoch; ``False`` keeps class-then-name order.
    validation_split, subset : float, {"training", "validation", "both"}, optional
        Hold out this random fraction for validation and return that part, the
        rest, or both as a ``(training, validation)`` pair.
    crop_to_aspect_ratio, interpolation : bool, str
        As in ``keras.layers.Resizing``.

    Returns
    -------
    dataset : tf.data.Dataset or (tf.data.Dataset, tf.data.Dataset)
        ``(images, labels)``: float32 ``(batch, height, width, 3)`` in
        ``[0, 255]`` and int32 ``(batch,)``, with Keras' ``file_paths`` and
        ``class_names`` attributes.
    report : FolderReport
        Classes, counts and the skipped files with reasons.

    Examples
    --------
    >>> import tempfile
    >>> root = write_image_folder(tempfile.mkdtemp() + "/shapes", n_per_class=2)
    >>> ds, report = load_image_folder(root, image_size=32, batch_size=8)
    >>> tuple(next(iter(ds))[0].shape), report.n_loaded
    ((8, 32, 32, 3), 20)
    """
    size = as_size(image_size)
    report = scan_image_folder(
        path, class_names=class_names, max_per_class=max_per_class, seed=seed, progress=progress
    )
    parts = {None: np.arange(report.n_loaded)}
    if validation_split is not None or subset is not None:
        parts = _split(report.n_loaded, validation_split, subset, np.random.default_rng(seed))
    datasets = []
    for name, index in parts.items():
        if subset in (name, "both"):
            dataset = _image_dataset(
                [report.files[i] for i in index],
                report.labels[index],
                size,
                batch_size=batch_size,
                shuffle=shuffle,
                seed=seed,
                crop_to_aspect_ratio=crop_to_aspect_ratio,
                interpolation=interpolation,
            )
            dataset.class_names = list(report.class_names)
            datasets.append(dataset)
    return (tuple(datasets) if subset == "both" else datasets[0]), report


def decode_files(
    files: Sequence[Path],
    labels: Sequence[int] | np.ndarray,
    image_size: int | tuple[int, int],
    *,
    crop_to_aspect_ratio: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode checked image files, in the given order, to uint8 ``(n, height, width, 3)``.

    >>> import tempfile
    >>> root = write_image_folder(tempfile.mkdtemp() + "/shapes", n_per_class=1, image_size=8)
    >>> images, labels = decode_files(sorted(root.glob("*/*.png")), [0] * 10, 8)
    >>> images.shape, images.dtype.name, labels.dtype.name
    ((10, 8, 8, 3), 'uint8', 'int64')
    """
    height, width = as_size(image_size)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    dataset = _image_dataset(
        files, labels, (height, width), batch_size=256, crop_to_aspect_ratio=crop_to_aspect_ratio
    )
    batches = [np.clip(np.rint(np.asarray(batch)), 0, 255).astype(np.uint8) for batch, _ in dataset]
    return np.concatenate([np.zeros((0, height, width, 3), np.uint8), *batches]), labels


# --- Writing a small class-folder data set from the shapes ---
def _write_problem_files(root: Path, image: np.ndarray) -> None:
    """Files that a real folder may hold: broken ones, and odd-but-valid ones."""
    from PIL import Image

    target = root / SHAPE_CLASSES[0]
    (target / "empty.jpg").write_bytes(b"")
    (target / "notes.txt").write_text("A text file among the images.\n")
    (target / "not_an_image.jpg").write_text("This is text, whatever the name says.\n")
    Image.fromarray(image).save(target / "png_inside.jpg", format="PNG")
    buffer = target / "truncated.jpg"
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    data = buffer.read_bytes()
    buffer.write_bytes(data[: len(data) // 2])
    # Valid images in unusual modes: these load as RGB.
    Image.fromarray(image).convert("L").save(target / "grayscale.png")
    rgba = np.dstack([image, np.full(image.shape[:2], 200, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(target / "with_alpha.png")
    gray16 = (image.mean(axis=2) * 257).astype(np.uint16)
    Image.fromarray(gray16).save(target / "sixteen_bit.png")


PROBLEM_FILES: tuple[tuple[str, bool], ...] = (
    ("empty.jpg", False),
    ("notes.txt", False),
    ("not_an_image.jpg", False),
    ("png_inside.jpg", False),
    ("truncated.jpg", False),
    ("grayscale.png", True),
    ("with_alpha.png", True),
    ("sixteen_bit.png", True),
)
"""Files that ``include_problem_files=True`` adds to the first class: (name, loadable)."""


def write_image_folder(
    path: str | os.PathLike,
    n_per_class: int = 20,
    image_size: int = 64,
    *,
    seed: int = 0,
    max_rotation: float = 180.0,
    formats: Sequence[str] = ("png", "jpg"),
    include_problem_files: bool = False,
    progress: bool = False,
) -> Path:
    """Write a small class-folder data set of PNG and JPEG files from the shapes.

    Produces ``path/<shape class>/<class>_<i>.<png|jpg>``, the layout of cats vs
    dogs, for teaching and testing offline. ``path`` must not exist or be empty
    (``FileExistsError`` otherwise); the same call again on a folder it wrote
    returns at once, and nothing is ever overwritten.

    Parameters
    ----------
    n_per_class, image_size, seed, max_rotation
        Images per class (10 classes), side in pixels, and the seed and pose
        range of :func:`make_shapes`.
    formats : sequence of {"png", "jpg"}
        File formats, used in turn.
    include_problem_files, progress : bool
        Also add :data:`PROBLEM_FILES` to the first class; show a progress bar.

    Examples
    --------
    >>> import tempfile
    >>> root = write_image_folder(tempfile.mkdtemp() + "/shapes", n_per_class=3)
    >>> sorted(p.name for p in (root / "arrow").iterdir())[:2]
    ['arrow_000.png', 'arrow_001.jpg']
    """
    from PIL import Image

    root = Path(path).expanduser()
    n_per_class = as_int(n_per_class, "n_per_class", minimum=1)
    image_size = as_int(image_size, "image_size", minimum=8, maximum=1024)
    max_rotation = _check_rotation(max_rotation)
    formats = tuple(str(f).lower().lstrip(".") for f in formats)
    if not formats or not set(formats) <= {"png", "jpg"}:
        raise ValueError(f"formats must be a non-empty sequence of 'png'/'jpg', got {formats!r}")
    settings = {
        "n_per_class": n_per_class,
        "image_size": image_size,
        "seed": as_int(seed, "seed", minimum=0),
        "max_rotation": max_rotation,
        "formats": list(formats),
        "include_problem_files": bool(include_problem_files),
    }
    if root.exists():
        if not root.is_dir():
            raise FileExistsError(f"{root} is a file; choose a new folder name.")
        if os.listdir(root):
            if _read_json(root / _WRITE_MARKER) == settings:
                return root
            raise FileExistsError(
                f"{root} is not empty; the course never overwrites files. Choose a new folder "
                "(or delete this one yourself if it is a copy you no longer need)."
            )
    n_classes = len(SHAPE_CLASSES)
    images, labels = make_shapes(
        n_per_class * n_classes, image_size=image_size, seed=seed, max_rotation=max_rotation
    )
    for name in SHAPE_CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
    counters = [0] * n_classes
    with _progress(len(labels), f"Writing {root.name}", enabled=progress) as advance:
        for image, label in zip(images, labels, strict=True):
            index = counters[label]
            counters[label] += 1
            kind, name = formats[index % len(formats)], SHAPE_CLASSES[label]
            target = root / name / f"{name}_{index:03d}.{kind}"
            Image.fromarray(image).save(target, "PNG" if kind == "png" else "JPEG", quality=92)
            advance()
    if include_problem_files:
        _write_problem_files(root, images[np.flatnonzero(labels == 0)[0]])
    (root / _WRITE_MARKER).write_text(json.dumps(settings, indent=1))
    return root
