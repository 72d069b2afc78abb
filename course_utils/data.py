"""Data for the course: built-in shapes, real photos, CIFAR-10, cats vs dogs, any image folder.

:func:`load_dataset` is the one switch of the notebooks; every data set comes
back as :class:`Splits` of uint8 images and int64 labels. Nothing runs on
import: no download, no seeding, no TensorFlow.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from course_utils._display import Table
from course_utils._download import (
    _MARKER,
    OFFLINE_ALTERNATIVE,
    NetworkUnavailableError,
    _read_json,
    download_and_extract,
    sha256_of,
)
from course_utils._folders import (
    KERAS_IMAGE_EXTENSIONS,
    PROBLEM_FILES,
    FolderReport,
    ImageFolderError,
    SkippedFile,
    _candidates,
    _check_candidates,
    decode_files,
    load_image_folder,
    scan_image_folder,
    write_image_folder,
)
from course_utils._shapes import (
    SHAPE_CLASSES,
    ShapeParams,
    _check_rotation,
    _image_size,
    make_shapes,
    render_shape_masks,
    render_shapes,
    shape_params,
)
from course_utils._validation import as_fraction, as_int, as_size, describe

# What a learner uses; the download machinery stays in course_utils._download.
__all__ = [
    "CIFAR10_CLASSES",
    "DATASET_NAMES",
    "KERAS_IMAGE_EXTENSIONS",
    "PROBLEM_FILES",
    "SHAPE_CLASSES",
    "FolderReport",
    "ImageFolderError",
    "NetworkUnavailableError",
    "ShapeParams",
    "SkippedFile",
    "Splits",
    "default_data_dir",
    "download_cats_vs_dogs",
    "load_cifar10",
    "load_dataset",
    "load_image_folder",
    "make_shapes",
    "render_shape_masks",
    "render_shapes",
    "sample_image",
    "sample_image_names",
    "scan_image_folder",
    "sha256_of",
    "shape_params",
    "write_image_folder",
]

#: The names :func:`load_dataset` knows besides folder paths.
DATASET_NAMES: tuple[str, ...] = ("shapes", "cifar10", "cats_vs_dogs")

#: CIFAR-10 class names in label order.
CIFAR10_CLASSES: tuple[str, ...] = tuple(
    "airplane automobile bird cat deer dog frog horse ship truck".split()
)

#: The Microsoft cats vs dogs archive (about 787 MB, 25,000 JPEGs in
#: ``PetImages/Cat`` and ``PetImages/Dog``, some of them corrupt).
CATS_VS_DOGS_URL = (
    "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
    "kagglecatsanddogs_5340.zip"
)
#: Its SHA-256 (824,887,076 bytes), as published with the Hugging Face
#: ``cats_vs_dogs`` data set's download checksums.
CATS_VS_DOGS_SHA256 = "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9"


# --- Real photos shipped with scikit-image ---
# name -> (scikit-image function, what it shows)
_SAMPLES: dict[str, tuple[str, str]] = {
    "cat": ("chelsea", "Chelsea the cat, 300x451 colour photo"),
    "astronaut": ("astronaut", "astronaut Eileen Collins, 512x512 colour photo"),
    "coffee": ("coffee", "a cup of coffee, 400x600 colour photo"),
    "rocket": ("rocket", "a rocket on its launch pad, 427x640 colour photo"),
    "camera": ("camera", "a cameraman, 512x512 grayscale photo"),
    "coins": ("coins", "Greek coins, 303x384 grayscale photo"),
    "hubble": ("hubble_deep_field", "the Hubble deep field, 872x1000 colour photo"),
    "cells": ("immunohistochemistry", "stained tissue under a microscope, 512x512 colour"),
}


def sample_image_names() -> list[str]:
    """Names accepted by :func:`sample_image` (photos that scikit-image installs), "cat" first.

    >>> sample_image_names()[:3]
    ['cat', 'astronaut', 'coffee']
    """
    return list(_SAMPLES)


def sample_image(name: str = "cat", size: int | tuple[int, int] | None = None) -> np.ndarray:
    """A real photo that ships with scikit-image, as a uint8 RGB array ``(height, width, 3)``.

    ``name`` is one of :func:`sample_image_names` (``"cat"`` is scikit-image's
    Chelsea; grayscale photos are repeated on three channels); ``size``
    (``int`` or ``(height, width)``) resizes it, anti-aliased. No download.

    Examples
    --------
    >>> cat = sample_image("cat", size=64)
    >>> cat.shape, cat.dtype.name
    ((64, 64, 3), 'uint8')
    """
    if not isinstance(name, str) or name not in _SAMPLES:
        raise ValueError(f"name must be one of {sample_image_names()}; got {name!r}")
    import skimage.data

    image = np.asarray(getattr(skimage.data, _SAMPLES[name][0])())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3].astype(np.uint8)
    if size is not None:
        from PIL import Image

        height, width = as_size(size, "size")
        resized = Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS)
        image = np.asarray(resized, dtype=np.uint8)
    return np.ascontiguousarray(image)


# --- The common result: Splits ---
@dataclass(frozen=True, repr=False)
class Splits:
    """Train, validation and test images of one data set, as numpy arrays.

    ``x_train``, ``x_val``, ``x_test`` are uint8 ``(n, height, width, 3)``;
    ``y_train``, ``y_val``, ``y_test`` int64 ``(n,)``; label ``i`` is
    ``class_names[i]``; ``name`` is ``"shapes"``, ``"cifar10"``,
    ``"cats_vs_dogs"`` or ``"folder"``; ``source`` says where the images came
    from; ``report`` (folders) lists the skipped files and why.

    Examples
    --------
    >>> splits = load_dataset("shapes", image_size=32, n_train=100, n_val=20, n_test=20)
    >>> splits.x_train.shape, splits.num_classes
    ((100, 32, 32, 3), 10)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str = ""
    report: FolderReport | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(height, width, 3)`` of every image."""
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def counts(self) -> dict[str, int]:
        """Number of images per split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def class_counts(self) -> dict[str, list[int]]:
        """Images per class in each split, ``{"train": [...], "val": [...], "test": [...]}``."""
        labels = {"train": self.y_train, "val": self.y_val, "test": self.y_test}
        return {k: np.bincount(y, minlength=self.num_classes).tolist() for k, y in labels.items()}

    def _headline(self) -> str:
        height, width, _ = self.image_shape
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{self.name}: {counts} images of {height}x{width} RGB, {self.num_classes} classes"

    def table(self) -> Table:
        """Images per class (rows) and split (columns), with a total row.

        >>> load_dataset(image_size=16, n_train=20, n_val=10, n_test=10).table().rows[0]
        ['triangle', 2, 1, 1]
        """
        per_class = self.class_counts()
        rows = [
            [name, *(per_class[s][i] for s in ("train", "val", "test"))]
            for i, name in enumerate(self.class_names)
        ]
        return Table(["class", "train", "val", "test"], [*rows, ["total", *self.counts.values()]])

    def to_markdown(self) -> str:
        """The headline and a Markdown table: images per class and split."""
        return self._headline() + "\n\n" + self.table().markdown()

    def _skipped(self) -> int:
        return len(self.report.skipped) if self.report is not None else 0

    def __str__(self) -> str:
        text = self._headline() + f" ({', '.join(self.class_names)})"
        if self.source:
            text += f"\nsource: {self.source}"
        if self._skipped():
            text += f"\n{self._skipped()} files skipped; see .report"
        return text

    def __repr__(self) -> str:
        return f"<Splits {self._headline()}>"

    def _repr_html_(self) -> str:
        source = f"<br>source: {html.escape(self.source)}" if self.source else ""
        n_skipped = self._skipped()
        skipped = f"<br>{n_skipped} files skipped (see <code>.report</code>)" if n_skipped else ""
        return (
            f"<p><b>{html.escape(self._headline())}</b>{source}{skipped}</p>{self.table().html()}"
        )


# --- Helpers for splitting and resizing ---
def _balanced_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of ``labels``' indices whose every prefix is class-balanced."""
    labels = np.asarray(labels)
    perm = rng.permutation(len(labels))
    shuffled = labels[perm]
    rank = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(shuffled):
        where = np.flatnonzero(shuffled == label)
        rank[where] = np.arange(len(where))
    # Interleave the classes: all first members, then all second members, ...
    return perm[np.lexsort((rng.random(len(labels)), rank))]


def _check_counts(
    n_train: int | None, n_val: int | None, n_test: int | None
) -> dict[str, int | None]:
    """``{"train": n_train, ...}``, each None or an int >= 0."""
    n = {"train": n_train, "val": n_val, "test": n_test}
    return {k: v if v is None else as_int(v, f"n_{k}", minimum=0) for k, v in n.items()}


def _resize_uint8(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 batch ``(n, h, w, 3)`` to ``size`` with anti-aliased bilinear."""
    if images.shape[1:3] == tuple(size) or len(images) == 0:
        return images
    import tensorflow as tf

    out = np.empty((len(images), *size, images.shape[3]), dtype=np.uint8)
    for start in range(0, len(images), 1024):
        chunk = tf.image.resize(images[start : start + 1024], size, antialias=True)
        out[start : start + 1024] = np.clip(np.rint(chunk.numpy()), 0, 255)
    return out


# --- CIFAR-10 ---
def _cifar10_arrays() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``keras.datasets.cifar10.load_data()``, with a clear error when offline."""
    import keras

    try:
        return keras.datasets.cifar10.load_data()
    except Exception as error:  # Keras wraps URL errors in a plain Exception
        if "URL fetch failure" in str(error):
            raise NetworkUnavailableError(
                "Could not download CIFAR-10 (about 170 MB, once; Keras caches it in "
                f"~/.keras/datasets): the network is unreachable ({error}). " + OFFLINE_ALTERNATIVE
            ) from error
        raise


def load_cifar10(
    image_size: int | tuple[int, int] = 32,
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Splits:
    """CIFAR-10 (60,000 photos of 32x32 in 10 classes) via ``keras.datasets``.

    The first call downloads about 170 MB (cached in ``~/.keras/datasets``);
    offline, with nothing cached, raises :class:`NetworkUnavailableError`. The
    arguments are those of :func:`load_dataset`; the validation split is
    ``val_fraction`` of the 50,000 training images.

    Examples
    --------
    >>> load_cifar10(n_train=-1)  # checked before any download
    Traceback (most recent call last):
    ValueError: n_train must be >= 0; got -1
    """
    size = as_size(image_size)
    val_fraction = as_fraction(val_fraction, "val_fraction", inclusive=False, optional=False)
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    n = _check_counts(n_train, n_val, n_test)  # before a download, not after it
    (x_all, y_all), (x_test, y_test) = _cifar10_arrays()
    y_all, y_test = (np.asarray(y).reshape(-1).astype(np.int64) for y in (y_all, y_test))
    order = _balanced_order(y_all, rng)
    n_val_all = int(round(len(order) * val_fraction))
    parts = [
        (x_all, y_all, order[n_val_all:][: n["train"]]),
        (x_all, y_all, order[:n_val_all][: n["val"]]),
        (x_test, y_test, _balanced_order(y_test, rng)[: n["test"]]),
    ]
    arrays = []
    for x, y, index in parts:
        index = np.sort(index)
        arrays += [_resize_uint8(np.asarray(x)[index], size), y[index]]
    return Splits(
        *arrays,
        class_names=CIFAR10_CLASSES,
        name="cifar10",
        source="keras.datasets.cifar10 (cached in ~/.keras/datasets)",
    )


# --- Cats vs dogs ---
def default_data_dir() -> Path:
    """Where downloads go: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``.

    >>> default_data_dir().name
    'datasets'
    """
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def download_cats_vs_dogs(
    dest: str | os.PathLike | None = None,
    *,
    url: str = CATS_VS_DOGS_URL,
    sha256: str | None = CATS_VS_DOGS_SHA256,
    keep_archive: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
    stream: IO[str] | None = None,
) -> Path:
    """Download and extract the cats vs dogs photos; return ``dest/PetImages``.

    :func:`~course_utils._download.download_and_extract` with the archive's
    SHA-256, whose other arguments these are. ``dest`` defaults to
    ``default_data_dir() / "cats_vs_dogs"``; ``url`` may be a mirror or a
    ``file://`` copy. Corrupt JPEGs are kept: :func:`scan_image_folder` lists
    them. Returns ``dest`` itself when the archive has no ``PetImages`` folder.

    Examples
    --------
    >>> import pathlib, tempfile, zipfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(folder / "pets.zip", "w") as zf:
    ...     zf.writestr("PetImages/Cat/0.jpg", b"")
    >>> download_cats_vs_dogs(folder / "cvd", url=(folder / "pets.zip").as_uri(), sha256=None,
    ...                       progress=False).name
    'PetImages'
    """
    dest = Path(dest).expanduser() if dest is not None else default_data_dir() / "cats_vs_dogs"
    download_and_extract(
        url,
        dest,
        sha256,
        archive_name="kagglecatsanddogs.zip",
        what="cats vs dogs",
        keep_archive=keep_archive,
        progress=progress,
        timeout=timeout,
        stream=stream,
    )
    root = dest / "PetImages"
    return root if root.is_dir() else dest


# --- Folders -> Splits ---
_SPLIT_DIRS = {"train": ("train", "training"), "val": ("validation", "val"), "test": ("test",)}


def _split_layout(root: Path) -> dict[str, Path] | None:
    """``{"train": root/train, ...}`` when ``root`` holds split folders of class folders."""
    found: dict[str, Path] = {}
    for split, names in _SPLIT_DIRS.items():
        for name in names:
            candidate = root / name
            if candidate.is_dir() and any(
                p.is_dir() and not p.name.startswith(".") for p in candidate.iterdir()
            ):
                found[split] = candidate
                break
    return found if "train" in found and len(found) > 1 else None


def _quotas(n: int | None, n_classes: int, rng: np.random.Generator) -> list[int | None]:
    """Per-class numbers of images that add up to ``n`` (extra ones go to random classes)."""
    if n is None:
        return [None] * n_classes
    base, extra = divmod(n, n_classes)
    # A class gets one more when it is among the first ``extra`` of a random order.
    return [base + int(rank < extra) for rank in np.argsort(rng.permutation(n_classes))]


def _carve(pool: list[list[Path]], fraction: float) -> tuple[list[list[Path]], list[list[Path]]]:
    """Split each class's (shuffled) files into a ``fraction`` part and the rest."""
    cuts = [int(round(len(files) * fraction)) for files in pool]
    return (
        [files[:cut] for files, cut in zip(pool, cuts, strict=True)],
        [files[cut:] for files, cut in zip(pool, cuts, strict=True)],
    )


def _load_folder(
    root: Path,
    size: tuple[int, int],
    n: dict[str, int | None],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    progress: bool,
    name: str = "folder",
) -> Splits:
    """Split a class-folder data set into train/val/test arrays, checking only what it uses."""
    rng = np.random.default_rng(seed)
    layout = _split_layout(root) or {"train": root}
    if len(layout) == 1 and val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    class_names, skipped, pools = None, [], {}
    for split, folder in layout.items():  # train first: its classes are those of the others
        class_names, loose, pools[split] = _candidates(folder, class_names, rng)
        skipped.extend(loose)
    left = 1.0  # the share of the training pool's files not carved out yet
    for split, fraction in (("val", val_fraction), ("test", test_fraction)):
        if split not in pools:  # carve it out of the training folder
            pools[split], pools["train"] = _carve(pools["train"], fraction / left)
            left -= fraction
    files, labels, not_examined = [], [], 0  # per split
    for split in ("train", "val", "test"):
        good, bad, unused = _check_candidates(
            pools[split],
            _quotas(n[split], len(class_names), rng),
            progress=progress,
            description=f"Checking {split} images",
        )
        skipped.extend(bad)
        not_examined += unused
        split_files = [f for kept in good for f in kept]
        order = rng.permutation(len(split_files))  # mix the classes
        files.append([split_files[i] for i in order])
        counts = [len(kept) for kept in good]
        labels.append(np.repeat(np.arange(len(good), dtype=np.int64), counts)[order])
    report = FolderReport(
        root=root,
        class_names=tuple(class_names),
        files=tuple(f for split_files in files for f in split_files),
        labels=np.concatenate(labels),
        skipped=tuple(sorted(skipped, key=lambda s: str(s.path))),
        not_examined=not_examined,
    )
    if not files[0]:
        raise ImageFolderError(
            f"No loadable training image in {root}:\n{report}\n"
            f"Expected images laid out as {str(root)}/<class_name>/<image files>."
        )
    return Splits(
        *(a for split in zip(files, labels, strict=True) for a in decode_files(*split, size)),
        class_names=tuple(class_names),
        name=name,
        source=str(root),
        report=report,
    )


# --- The switch ---
_SHAPES_DEFAULTS = {"train": 2000, "val": 500, "test": 1000}


def _load_shapes(
    size: tuple[int, int],
    n: dict[str, int | None],
    train_rotation: float,
    test_rotation: float,
    seed: int,
) -> Splits:
    arrays = []
    for stream, split in enumerate(("train", "val", "test"), start=1):
        count = _SHAPES_DEFAULTS[split] if n[split] is None else n[split]  # checked already
        rotation = test_rotation if split == "test" else train_rotation
        # Each split has its own random stream, different from make_shapes(seed=...) itself.
        params = shape_params(count, size, seed, rotation, stream=stream)
        arrays += [render_shapes(params), params.labels.copy()]
    return Splits(
        *arrays,
        class_names=SHAPE_CLASSES,
        name="shapes",
        source=(
            f"generated (seed {seed}); train and val poses within +/-{train_rotation:g} degrees, "
            f"test poses within +/-{test_rotation:g} degrees"
        ),
    )


def load_dataset(
    name: str | os.PathLike = "shapes",
    image_size: int | tuple[int, int] = 64,
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    train_rotation: float = 15.0,
    test_rotation: float | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = False,
) -> Splits:
    """Load a data set by name or folder path, as train/validation/test arrays.

    Parameters
    ----------
    name : str or path-like
        ``"shapes"`` (built in, offline), ``"cifar10"``, ``"cats_vs_dogs"``, or a
        folder laid out as ``root/<class_name>/<image files>`` (or as
        ``root/train/<class_name>/...`` with ``validation`` and/or ``test``).
    image_size : int or (int, int)
        Every image is resized to this size.
    n_train, n_val, n_test : int, optional
        At most this many images per split (class-balanced, random with
        ``seed``); ``None``: 2000, 500 and 1000 for ``"shapes"``, all elsewhere.
    val_fraction, test_fraction : float
        Shares held out from a folder without split folders (CIFAR-10:
        ``val_fraction`` of its training set).
    train_rotation, test_rotation : float
        Shapes only: pose range in degrees of train and validation, and of test
        (``None``: the same; 180: any pose).
    seed : int
        Seed for generation, splits and subsets.
    data_dir, download : path-like, bool
        Cats vs dogs: where downloads go (default :func:`default_data_dir`);
        whether to download when missing (photos already there are used).
    progress : bool
        Show progress bars for downloads and folder checks.

    Raises
    ------
    ValueError, TypeError
        ``name`` is neither a known data set nor an existing folder path.
    NetworkUnavailableError, FileNotFoundError, ImageFolderError
        Offline when a download is needed; a missing folder (or cats vs dogs
        with ``download=False``); a folder of the wrong layout.

    Examples
    --------
    >>> splits = load_dataset("shapes", image_size=32, n_train=200, n_val=50, n_test=50,
    ...                       test_rotation=180)
    >>> print(splits)  # doctest: +ELLIPSIS
    shapes: train 200, val 50, test 50 images of 32x32 RGB, 10 classes (triangle, arrow, ...
    """
    size = as_size(image_size)
    seed = as_int(seed, "seed", minimum=0)
    n = _check_counts(n_train, n_val, n_test)
    val_fraction = as_fraction(val_fraction, "val_fraction", inclusive=False, optional=False)
    test_fraction = as_fraction(test_fraction, "test_fraction", inclusive=False, optional=False)
    key = name.lower().strip().replace("-", "").replace("_", "") if isinstance(name, str) else ""
    if key == "shapes":
        train_rotation = _check_rotation(train_rotation, "train_rotation")
        test_rotation = train_rotation if test_rotation is None else test_rotation
        test_rotation = _check_rotation(test_rotation, "test_rotation")
        _image_size(image_size)  # the shapes need 8 to 1024 pixels
        return _load_shapes(size, n, train_rotation, test_rotation, seed)
    if key == "cifar10":
        return load_cifar10(
            size, n_train=n_train, n_val=n_val, n_test=n_test, val_fraction=val_fraction, seed=seed
        )
    if key == "catsvsdogs":
        dest = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        dest = dest / "cats_vs_dogs"
        # Photos already there (from the script, a mirror or a copy) are used as they are,
        # unless a download of ours was interrupted half-way through extracting them.
        if (dest / "PetImages").is_dir() and _read_json(dest / _MARKER).get("complete", True):
            root = dest / "PetImages"
        elif download:
            root = download_cats_vs_dogs(dest, progress=progress)
        else:
            raise FileNotFoundError(
                f"Cats vs dogs is not in {dest} and download=False. Run "
                "data_scripts/download_cats_vs_dogs.py, or pass download=True. "
                + OFFLINE_ALTERNATIVE
            )
        return _load_folder(
            root, size, n, val_fraction, test_fraction, seed, progress, name="cats_vs_dogs"
        )
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(
            f"name must be one of {list(DATASET_NAMES)} or a folder path; got {describe(name)}"
        )
    path = Path(name).expanduser()
    if isinstance(name, str) and not path.exists() and os.sep not in name and "/" not in name:
        raise ValueError(
            f"name must be one of {list(DATASET_NAMES)} or the path of a folder of images"
            f"; got {name!r} (no such folder either)"
        )
    return _load_folder(path, size, n, val_fraction, test_fraction, seed, progress)
