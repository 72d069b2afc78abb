"""Input checks every public helper runs on entry: a wrong argument fails at once, with a message
that names the parameter, says what was expected and shows what was given."""

from __future__ import annotations

from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages.

    Examples
    --------
    >>> describe(np.zeros((2, 3), np.uint8)), describe("cat")
    ('ndarray of shape (2, 3) and dtype uint8', "str 'cat'")
    """
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


def as_array(value: Any, name: str, what: str) -> np.ndarray:
    """``np.asarray(value)`` with a TypeError for None and non-numeric data.

    Examples
    --------
    >>> as_array(["a"], "x", "a vector")
    Traceback (most recent call last):
    TypeError: x must be a vector with a numeric dtype; got dtype <U1
    """
    if value is None:
        raise TypeError(f"{name} must be {what}; got None")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be {what}; got {describe(value)} ({error})") from None
    if array.dtype.kind not in "iuf":  # signed and unsigned ints, floats; not bools
        raise TypeError(f"{name} must be {what} with a numeric dtype; got dtype {array.dtype}")
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError if a float array holds NaN or infinity.

    Examples
    --------
    >>> check_finite(np.array([1.0, np.nan]), "loss")
    Traceback (most recent call last):
    ValueError: loss must be finite; got 1 NaN or infinite value(s)
    """
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must be finite; got {bad} NaN or infinite value(s)")


def as_images(
    value: Any,
    name: str = "images",
    *,
    batch: bool = True,
    channels: tuple[int, ...] | None = (1, 3),
    allow_gray: bool = True,
) -> np.ndarray:
    """Check an image or a batch of images and return it as a numpy array, dtype unchanged.

    Parameters
    ----------
    value : array-like
        A batch ``(N, H, W, C)``, or one image ``(H, W, C)`` with ``batch=False``; uint8 in 0-255
        or floats in 0-255 (0-1 also fits). With ``allow_gray`` a missing channel axis is added.
    name : str
        Parameter name used in error messages.
    channels : tuple of int or None
        Allowed channel counts; ``None`` accepts any.

    Examples
    --------
    >>> as_images(np.zeros(5), "x")
    Traceback (most recent call last):
    ValueError: x must have shape (N, H, W, C) (rank 4); got shape (5,) (rank 1)
    """
    rank = 4 if batch else 3
    layout = "(N, H, W, C)" if batch else "(H, W, C)"
    array = as_array(value, name, f"an image array of shape {layout}")
    if allow_gray and array.ndim == rank - 1:
        array = array[..., np.newaxis]
    if array.ndim != rank:
        raise ValueError(
            f"{name} must have shape {layout} (rank {rank}); got shape {array.shape} "
            f"(rank {array.ndim})"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}")
    if channels is not None and array.shape[-1] not in channels:
        allowed = " or ".join(str(c) for c in channels)
        raise ValueError(
            f"{name} must have {allowed} channels in the last axis; got shape {array.shape} "
            f"with {array.shape[-1]} channels"
        )
    check_finite(array, name)
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise ValueError(
            f"{name} must hold pixel values in 0-255 (uint8) or 0-1/0-255 (float); got values "
            f"from {low:g} to {high:g}"
        )
    return array


def as_labels(
    value: Any, name: str = "labels", *, n: int | None = None, num_classes: int | None = None
) -> np.ndarray:
    """Check integer class labels (``n`` of them, below ``num_classes``) as an int64 ``(N,)``.

    Examples
    --------
    >>> as_labels([0, 2.0, 1], num_classes=3).tolist()
    [0, 2, 1]
    """
    array = as_array(value, name, "a vector of integer class labels")
    if array.ndim != 1:
        raise ValueError(f"{name} must have shape (N,); got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        check_finite(array, name)
        if not np.all(array == np.round(array)):
            raise TypeError(f"{name} must hold whole-number class indices; got {array[:5]}...")
    array = array.astype(np.int64)
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} must have one label per image ({n}); got {array.shape[0]}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be class indices >= 0; got {int(array.min())}")
    if num_classes is not None and array.size and array.max() >= num_classes:
        raise ValueError(f"{name} must be below num_classes={num_classes}; got {int(array.max())}")
    return array


def as_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Check a whole number within ``[minimum, maximum]``.

    Examples
    --------
    >>> as_int(4, "image_size", minimum=8, maximum=1024)
    Traceback (most recent call last):
    ValueError: image_size must be between 8 and 1024; got 4
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int; got {describe(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        limit = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {limit}; got {value}")
    return int(value)


def as_number(
    value: Any, name: str, *, low: float | None = None, high: float | None = None
) -> float:
    """Check a finite real number (not a bool), optionally within ``[low, high]``.

    Examples
    --------
    >>> as_number(-5, "rotation_range", low=0)
    Traceback (most recent call last):
    ValueError: rotation_range must be a finite number >= 0; got -5
    """
    if not _is_real(value):
        raise TypeError(f"{name} must be a number; got {describe(value)}")
    number = float(value)
    too_low = low is not None and not number >= low
    too_high = high is not None and not number <= high
    if not np.isfinite(number) or too_low or too_high:
        if low is not None and high is not None:
            limit = f"in [{low:g}, {high:g}]"
        elif low is not None:
            limit = f"a finite number >= {low:g}"
        elif high is not None:
            limit = f"a finite number <= {high:g}"
        else:
            limit = "finite"
        raise ValueError(f"{name} must be {limit}; got {number:g}")
    return number


def as_size(
    value: Any, name: str = "image_size", *, minimum: int = 1, maximum: int | None = None
) -> tuple[int, int]:
    """Check an image size, ``32`` or ``(height, width)``, and return ``(height, width)``.

    Examples
    --------
    >>> as_size(32), as_size([24, 48], "size")
    ((32, 32), (24, 48))
    """
    if not isinstance(value, (tuple, list)):
        size = as_int(value, name, minimum=minimum, maximum=maximum)
        return size, size
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a (height, width) pair; got {describe(value)}")
    height, width = (
        as_int(v, f"{name}[{i}]", minimum=minimum, maximum=maximum) for i, v in enumerate(value)
    )
    return height, width


def as_image_shape(
    value: Any, name: str = "input_shape", *, min_size: int = 1
) -> tuple[int, int, int]:
    """Check an image shape ``(height, width, channels)`` of positive ints, H and W >= min_size.

    Examples
    --------
    >>> as_image_shape((8, 8, 3), min_size=10)
    Traceback (most recent call last):
    ValueError: input_shape must be at least 10x10; got 8x8
    """
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(f"{name} must be (height, width, channels); got {describe(value)}")
    if not all(_is_int(v) and v >= 1 for v in value):
        raise ValueError(
            f"{name} must hold positive ints (height, width, channels); got {describe(value)}"
        )
    height, width, channels = (int(v) for v in value)
    if height < min_size or width < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size}; got {height}x{width}")
    return height, width, channels


def as_fraction(
    value: Any,
    name: str,
    *,
    upper: float = 1.0,
    meaning: str = "",
    inclusive: bool = True,
    optional: bool = True,
) -> float | None:
    """Check a strength or share in ``[0, upper]`` (``[0, upper)`` unless ``inclusive``).

    With ``optional`` (the default) None, False and 0 mean "off" and return None; without it None
    is refused and 0 returns 0.0. ``meaning`` is added to the range in the error message.

    Examples
    --------
    >>> as_fraction(0.2, "zoom"), as_fraction(0, "zoom")
    (0.2, None)
    """
    if optional and (value is None or value is False):
        return None
    if not _is_real(value):
        what = "a number or None" if optional else "a number"
        raise TypeError(f"{name} must be {what}; got {describe(value)}")
    value = float(value)
    too_big = value > upper if inclusive else value >= upper
    if not np.isfinite(value) or value < 0 or too_big:
        bracket = "]" if inclusive else ")"
        raise ValueError(f"{name} must be in [0, {upper:g}{bracket}{meaning}; got {value:g}")
    return (value or None) if optional else value


def as_seed(value: Any, name: str = "seed") -> int | None:
    """Check an optional integer seed (>= 0).

    Examples
    --------
    >>> as_seed(None), as_seed(7)
    (None, 7)
    """
    return None if value is None else as_int(value, name, minimum=0)
