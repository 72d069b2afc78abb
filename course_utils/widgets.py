"""Interactive explorers for the lessons, with a static figure where widgets cannot run.

* :func:`augmentation_explorer` - sliders for rotation, brightness, zoom and
  contrast in the units and signs of the Keras layers (rotation as a fraction
  of a full turn, zoom positive outwards), a flip toggle and a "New random
  draw" button; the original and the result side by side, updated live.
* :func:`feature_map_explorer` - pick a layer and a channel of a CNN and see
  that feature map for one image.
* :func:`trace_explorer` - an epoch slider replaying a training run
  (:class:`course_utils.trace.TrainingTrace`, a Keras ``History`` or a dict of
  per-epoch metrics).

Each explorer returns an object holding ipywidgets (attribute ``box``). In a
front end with a widget manager (JupyterLab, Notebook 7, Colab, VS Code) it
shows the controls; in one without (an HTML export, nbconvert slides, GitHub's
viewer) the same output falls back to a static figure with alt text. Outside a
Jupyter kernel, with ``static=True``, or when the environment variable
``COURSE_STATIC_WIDGETS=1`` is set (the slide builder sets it), the functions
return the static :class:`matplotlib.figure.Figure` directly.

The pure parts (:func:`augment_image`, :func:`random_settings`,
:func:`feature_map_layers`, :func:`colorize`, :func:`trace_metrics`) return
numbers and are tested by value; the drawing parts return Figures.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils import _display
from course_utils._validation import as_images, as_seed, describe

__all__ = [
    "AugmentationExplorer",
    "AugmentationSettings",
    "FeatureMapExplorer",
    "TraceExplorer",
    "augment_image",
    "augmentation_explorer",
    "colorize",
    "feature_map_explorer",
    "feature_map_layers",
    "plot_augmentation",
    "pinned_layers",
    "plot_trace_epoch",
    "random_settings",
    "trace_explorer",
    "trace_metrics",
    "widgets_available",
]

#: Environment variable that makes every explorer return its static figure.
STATIC_ENV = "COURSE_STATIC_WIDGETS"

#: Colour-blind-safe, perceptually uniform colormap for feature maps.
CMAP = "viridis"

# Slider bounds: (min, max, step), in the units of AugmentationSettings (Keras' units).
_BOUNDS = {
    "rotation": (-0.5, 0.5, 0.01),
    "brightness": (-1.0, 1.0, 0.05),
    "zoom": (-0.9, 0.9, 0.05),
    "contrast": (-1.0, 1.0, 0.05),
}
_MIN_DISPLAY = 192  # pixels: small images are enlarged (nearest neighbour) to this size


def widgets_available() -> bool:
    """Whether interactive widgets can be shown here.

    False outside a Jupyter kernel (plain Python, IPython in a terminal) and when
    the environment variable ``COURSE_STATIC_WIDGETS`` is ``1``/``true``/``yes``;
    True in a Jupyter kernel and in Colab.
    """
    if os.environ.get(STATIC_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import sys

    return "google.colab" in sys.modules or type(shell).__name__ == "ZMQInteractiveShell"


def _use_static(static: bool | None) -> bool:
    if static is None:
        return not widgets_available()
    if not isinstance(static, bool):
        raise TypeError(f"static must be True, False or None; got {describe(static)}")
    return static


# --------------------------------------------------------------------------- images


def _image_0_255(image: Any, name: str = "image") -> np.ndarray:
    """One image as float32 (H, W, C) on the 0-255 scale (floats up to 1 are scaled)."""
    array = as_images(image, name, batch=False, channels=(1, 3))
    if np.issubdtype(array.dtype, np.floating) and array.max() <= 1.0:
        array = array * 255.0
    return array.astype(np.float32)


def _shrink(image: np.ndarray, max_size: int | None) -> np.ndarray:
    if max_size is None or max(image.shape[:2]) <= max_size:
        return image
    import tensorflow as tf

    scale = max_size / max(image.shape[:2])
    size = [max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))]
    return np.asarray(tf.image.resize(image, size, antialias=True), dtype=np.float32)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    array = np.clip(np.round(np.asarray(image, dtype=np.float32)), 0, 255).astype(np.uint8)
    return array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array


def _enlarge(array: np.ndarray, minimum: int = _MIN_DISPLAY) -> np.ndarray:
    factor = max(1, math.ceil(minimum / max(1, min(array.shape[:2]))))
    if factor == 1:
        return array
    return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)


def _png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image ``(H, W)`` or ``(H, W, 3)``, enlarged if small."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(_enlarge(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def _figure_png(fig: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _alt(fig: Figure) -> str:
    """The figure's description: its suptitle, or the titles of its axes."""
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    if title:
        return title
    return "; ".join(ax.get_title() for ax in fig.axes if ax.get_title()) or "figure"


# --------------------------------------------------------------------------- base class


class _Explorer:
    """Widgets in :attr:`box`, plus a static figure for front ends without widgets."""

    box: Any

    def static_figure(self) -> Figure:  # pragma: no cover - every explorer overrides it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.box._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # pragma: no cover - (data, metadata) form
            bundle = bundle[0]
        bundle = dict(bundle)
        fig = self.static_figure()
        png = _figure_png(fig)
        alt = _alt(fig)
        encoded = base64.b64encode(png).decode("ascii")
        bundle["image/png"] = encoded
        bundle["text/html"] = (
            f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt, quote=True)}">'
        )
        bundle["text/plain"] = f"{type(self).__name__}: {alt}"
        return bundle


def _caption(text: str) -> Any:
    import ipywidgets as w

    return w.HTML(f"<p style='margin: 0; font-size: 1.05em'>{text}</p>")


# --------------------------------------------------------------------------- augmentation


@dataclass(frozen=True)
class AugmentationSettings:
    """One fixed set of transform values (what one random draw of an augmenter picks).

    The units and signs are those of the Keras layers, so a value here is the
    factor you would pin in the layer (``RandomRotation((r, r))`` and so on).

    Attributes
    ----------
    rotation : float
        Fraction of a full turn, as ``keras.layers.RandomRotation``'s factor;
        positive turns counter-clockwise; -0.5 to 0.5 (0.25 = 90 degrees).
    brightness : float
        Added to every pixel as a fraction of the 0-255 range; -1 to 1.
    zoom : float
        As ``keras.layers.RandomZoom``'s ``height_factor``: positive zooms out
        (shows more), negative zooms in (crops); -0.9 to 0.9.
    contrast : float
        Contrast is multiplied by ``1 + contrast``; -1 (flat grey) to 1.
    flip : bool
        Mirror left to right.
    """

    rotation: float = 0.0
    brightness: float = 0.0
    zoom: float = 0.0
    contrast: float = 0.0
    flip: bool = False

    def __str__(self) -> str:
        parts = []
        if self.flip:
            parts.append("flipped")
        if self.rotation:
            parts.append(f"rotated {self.rotation:+.2f} turn ({self.rotation * 360:+.0f} deg)")
        if self.zoom:
            parts.append(f"zoom {self.zoom:+.2f} ({'out' if self.zoom > 0 else 'in'})")
        if self.brightness:
            parts.append(f"brightness {self.brightness:+.2f}")
        if self.contrast:
            parts.append(f"contrast {self.contrast:+.2f}")
        return ", ".join(parts) or "unchanged"


def pinned_layers(settings: AugmentationSettings) -> str:
    """The Keras layers, with each factor pinned, that :func:`augment_image` applies.

    Parameters
    ----------
    settings : AugmentationSettings

    Returns
    -------
    str
        The layer calls in the order they are applied, or ``"no layer"``.

    Examples
    --------
    >>> pinned_layers(AugmentationSettings(rotation=0.25, zoom=0.1))
    'RandomRotation((0.25, 0.25)), RandomZoom((0.1, 0.1))'
    """
    if not isinstance(settings, AugmentationSettings):
        raise TypeError(f"settings must be an AugmentationSettings; got {describe(settings)}")
    calls = []
    if settings.flip:
        calls.append('a flip as RandomFlip("horizontal") draws it')
    for key, layer in [
        ("rotation", "RandomRotation"),
        ("zoom", "RandomZoom"),
        ("brightness", "RandomBrightness"),
    ]:
        value = getattr(settings, key)
        if value:
            calls.append(f"{layer}(({value:g}, {value:g}))")
    if settings.contrast:
        calls.append(f"RandomContrast drawing the factor {1 + settings.contrast:g}")
    return ", ".join(calls) or "no layer"


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {describe(value)}")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}]; got {value:g}")
    return value


def augment_image(
    image: Any,
    rotation: float = 0.0,
    brightness: float = 0.0,
    zoom: float = 0.0,
    contrast: float = 0.0,
    flip: bool = False,
) -> np.ndarray:
    """Apply fixed values of the course's transforms to one image, with Keras layers.

    The random Keras layers draw these values at random for every image; here
    each is pinned to the value given, in the layer's own units and sign
    (``RandomRotation((rotation, rotation))``, ``RandomZoom((zoom, zoom))``,
    ``RandomBrightness((brightness, brightness))``), so the result is
    deterministic. Order: flip, rotation, zoom, brightness, contrast, as in
    :func:`course_utils.augment.make_augmenter`. A value of 0 (or
    ``flip=False``) leaves the image unchanged by that transform.

    Parameters
    ----------
    image : array-like, shape (H, W, C) or (H, W)
        uint8 0-255, or float 0-255 (floats with a maximum of at most 1 are
        taken as 0-1); 1 or 3 channels.
    rotation : float
        Fraction of a full turn, in [-0.5, 0.5], as ``RandomRotation``'s factor:
        positive turns counter-clockwise, 0.25 is 90 degrees; uncovered corners
        are filled by reflection.
    brightness : float
        Fraction of the 0-255 range added to every pixel, in [-1, 1]; clipped.
    zoom : float
        In [-0.9, 0.9], as ``RandomZoom``'s ``height_factor`` (the width follows,
        keeping the aspect): 0.2 zooms out by 20 percent (shows more, filled by
        reflection), -0.2 zooms in (crops).
    contrast : float
        In [-1, 1]; each channel's deviation from its mean is scaled by
        ``1 + contrast``.
    flip : bool
        Mirror left to right.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W, C)`` on the 0-255 scale.

    Examples
    --------
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> float(augment_image(image, brightness=0.5).mean())
    127.5
    """
    x = _image_0_255(image)
    rotation = _number(rotation, "rotation", *_BOUNDS["rotation"][:2])
    brightness = _number(brightness, "brightness", -1, 1)
    zoom = _number(zoom, "zoom", *_BOUNDS["zoom"][:2])
    contrast = _number(contrast, "contrast", -1, 1)
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False; got {describe(flip)}")
    if flip:
        x = x[:, ::-1]
    steps = []
    import keras

    if rotation:
        steps.append(keras.layers.RandomRotation((rotation, rotation), fill_mode="reflect"))
    if zoom:
        # width_factor=None: the width follows the height, keeping the aspect ratio.
        steps.append(keras.layers.RandomZoom((zoom, zoom), fill_mode="reflect"))
    if brightness:
        steps.append(keras.layers.RandomBrightness((brightness, brightness), value_range=(0, 255)))
    batch = x[np.newaxis]
    for layer in steps:
        batch = np.asarray(layer(batch, training=True), dtype=np.float32)
    if contrast:
        layer = keras.layers.RandomContrast(0.0, value_range=(0, 255))
        factor = np.full((1, 1, 1, 1), 1.0 + contrast, dtype=np.float32)
        batch = np.asarray(
            layer.transform_images(batch, {"contrast_factor": factor}, training=True),
            dtype=np.float32,
        )
    return np.ascontiguousarray(batch[0], dtype=np.float32)


def random_settings(
    seed: int,
    rotation: float = 0.1,
    brightness: float = 0.2,
    zoom: float = 0.2,
    contrast: float = 0.2,
    flip: bool = True,
) -> AugmentationSettings:
    """Draw one set of values the way ``make_augmenter(...)`` with these strengths would.

    Parameters
    ----------
    seed : int
        Same seed, same draw.
    rotation, brightness, zoom, contrast : float
        Strengths in :func:`course_utils.augment.make_augmenter`'s units:
        rotation as a fraction of a full turn (0.1 -> up to 36 degrees either
        way), the others as fractions in [0, 1] (zoom below 0.9). Each value is
        drawn uniformly in ``[-strength, strength]``.
    flip : bool
        Whether a coin decides a left-right flip.

    Returns
    -------
    AugmentationSettings
        The values drawn, in the layers' units (rotation as a fraction of a
        turn), rounded to the explorer's slider steps.

    Examples
    --------
    >>> settings = random_settings(0)
    >>> abs(settings.rotation) <= 0.1
    True
    """
    seed = as_seed(seed)
    if seed is None:
        raise TypeError("seed must be an int >= 0; got None")
    strengths = {
        "rotation": _number(rotation, "rotation", 0, 0.5),
        "brightness": _number(brightness, "brightness", 0, 1),
        "zoom": _number(zoom, "zoom", 0, 0.9),
        "contrast": _number(contrast, "contrast", 0, 1),
    }
    rng = np.random.default_rng(seed)
    drawn = {key: float(rng.uniform(-value, value)) for key, value in strengths.items()}
    flipped = bool(rng.random() < 0.5) and bool(flip)
    step = {key: _BOUNDS[key][2] for key in strengths}
    rounded = {key: round(round(v / step[key]) * step[key], 4) for key, v in drawn.items()}
    return AugmentationSettings(flip=flipped, **rounded)


def plot_augmentation(
    image: Any,
    settings: AugmentationSettings | Sequence[AugmentationSettings] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Draw the original image beside one result per set of transform values.

    Parameters
    ----------
    image : array-like, shape (H, W, C) or (H, W)
        The image, as for :func:`augment_image`.
    settings : AugmentationSettings or sequence of them, optional
        Default: four draws of :func:`random_settings` (seeds 0 to 3).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first); a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
        One axes titled "original", then one per setting titled with its values;
        the suptitle describes the figure (it doubles as alt text).

    Examples
    --------
    >>> image = np.full((16, 16, 3), 100, np.uint8)
    >>> len(plot_augmentation(image, AugmentationSettings(flip=True)).axes)
    2
    """
    if settings is None:
        settings = [random_settings(seed) for seed in range(4)]
    elif isinstance(settings, AugmentationSettings):
        settings = [settings]
    settings = list(settings)
    if not settings or not all(isinstance(s, AugmentationSettings) for s in settings):
        raise TypeError(
            "settings must be an AugmentationSettings or a non-empty list of them; "
            f"got {describe(settings)}"
        )
    original = _image_0_255(image)
    panels = [("original", original)] + [
        (str(s).replace(", ", "\n"), augment_image(original, **vars(s))) for s in settings
    ]
    height, width = original.shape[:2]
    fig = _display.fresh_figure(fig, (2.6 * len(panels), 2.6 * height / width + 1.6))
    for index, (title, picture) in enumerate(panels, 1):
        ax = fig.add_subplot(1, len(panels), index)
        shown = _to_uint8(picture)
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(title, fontsize=11)
        ax.set_axis_off()
    fig.suptitle(
        f"The original image and {len(settings)} augmented version(s) with fixed transform values"
    )
    return fig


class AugmentationExplorer(_Explorer):
    """Sliders and a flip toggle over :func:`augment_image`, original beside result.

    Build it with :func:`augmentation_explorer`. Attributes ``rotation``,
    ``brightness``, ``zoom``, ``contrast`` (sliders), ``flip`` (toggle),
    ``draw_button``, ``original_image`` and ``result_image`` (PNG ``Image``
    widgets), ``caption`` and ``code`` (HTML) are the widgets; ``result`` is
    the current augmented image as an array.
    """

    def __init__(
        self,
        image: np.ndarray,
        strengths: dict[str, float],
        flip: bool,
        seed: int,
    ):
        import ipywidgets as w

        self.image = image
        self.strengths = strengths
        self.allow_flip = flip
        self.seed = seed
        self.draws = 0
        self.result = image
        style = {"description_width": "130px"}
        layout = w.Layout(width="360px")
        labels = {
            "rotation": (
                "rotation (turns)",
                "RandomRotation's factor: a fraction of a full turn, positive counter-clockwise "
                "(0.25 = 90 degrees)",
            ),
            "brightness": (
                "brightness (x 255)",
                "RandomBrightness's factor: add this fraction of 255 to every pixel",
            ),
            "zoom": (
                "zoom (+ out, - in)",
                "RandomZoom's factor: positive zooms out (shows more), negative zooms in (crops)",
            ),
            "contrast": (
                "contrast (x 1+c)",
                "RandomContrast: scale each channel's contrast by 1 + this value",
            ),
        }
        self.sliders = {}
        for key, (low, high, step) in _BOUNDS.items():
            label, tip = labels[key]
            self.sliders[key] = w.FloatSlider(
                value=0.0,
                min=low,
                max=high,
                step=step,
                description=label,
                tooltip=tip,
                readout_format=".2f",
                continuous_update=True,
                style=style,
                layout=layout,
            )
        self.rotation = self.sliders["rotation"]
        self.brightness = self.sliders["brightness"]
        self.zoom = self.sliders["zoom"]
        self.contrast = self.sliders["contrast"]
        self.flip = w.ToggleButton(
            value=False, description="flip left-right", tooltip="Mirror the image"
        )
        self.draw_button = w.Button(
            description="New random draw",
            tooltip="Set every control to a random value, as a random augmenter would",
        )
        self.reset_button = w.Button(description="Reset", tooltip="Back to the original image")
        self.original_image = w.Image(value=_png(_to_uint8(image)), format="png")
        self.result_image = w.Image(value=self.original_image.value, format="png")
        self.caption = w.HTML()
        self.code = w.HTML()
        self._paused = False
        for control in [*self.sliders.values(), self.flip]:
            control.observe(self._on_change, names="value")
        self.draw_button.on_click(lambda _: self.new_draw())
        self.reset_button.on_click(lambda _: self.reset())
        controls = w.VBox(
            [
                *self.sliders.values(),
                w.HBox([self.flip, self.draw_button, self.reset_button]),
                self.code,
            ]
        )
        pictures = w.HBox(
            [
                w.VBox([_caption("<strong>original</strong>"), self.original_image]),
                w.VBox([_caption("<strong>augmented</strong>"), self.result_image]),
            ]
        )
        self.box = w.VBox([pictures, self.caption, controls])
        self.box.add_class("course-augmentation-explorer")
        self.update()

    @property
    def settings(self) -> AugmentationSettings:
        """The values the controls are set to."""
        return AugmentationSettings(
            rotation=float(self.rotation.value),
            brightness=float(self.brightness.value),
            zoom=float(self.zoom.value),
            contrast=float(self.contrast.value),
            flip=bool(self.flip.value),
        )

    def set(self, settings: AugmentationSettings) -> None:
        """Move every control to ``settings`` and redraw once."""
        self._paused = True
        try:
            for key, slider in self.sliders.items():
                slider.value = getattr(settings, key)
            self.flip.value = settings.flip
        finally:
            self._paused = False
        self.update()

    def new_draw(self) -> AugmentationSettings:
        """Draw random values within the strengths and show them."""
        self.draws += 1
        settings = random_settings(self.seed + self.draws, flip=self.allow_flip, **self.strengths)
        self.set(settings)
        return settings

    def reset(self) -> None:
        """Every control back to 0 / off: the result equals the original."""
        self.set(AugmentationSettings())

    def _on_change(self, _change: dict) -> None:
        if not self._paused:
            self.update()

    def update(self) -> None:
        """Recompute the result for the current controls and redraw it."""
        settings = self.settings
        self.result = augment_image(self.image, **vars(settings))
        self.result_image.value = _png(_to_uint8(self.result))
        self.caption.value = (
            f"<p role='status' class='augment-caption'>Augmented: {html.escape(str(settings))}"
            f"<br><code>{html.escape(pinned_layers(settings))}</code></p>"
        )
        s = self.strengths
        self.code.value = (
            "<p style='margin-top: 0.4em'>A random augmenter draws values like these for "
            "every image, every epoch: <code>RandomFlip(&quot;horizontal&quot;), "
            f"RandomRotation({s['rotation']:g}), RandomZoom({s['zoom']:g}), "
            f"RandomBrightness({s['brightness']:g}), RandomContrast({s['contrast']:g})</code>. "
            "&ldquo;New random draw&rdquo; shows one.</p>"
        )

    def static_figure(self) -> Figure:
        """Original, the current result and three random draws (for static output)."""
        draws = [
            random_settings(self.seed + i, flip=self.allow_flip, **self.strengths)
            for i in range(1, 4)
        ]
        current = self.settings
        return plot_augmentation(
            self.image, draws if current == AugmentationSettings() else [current, *draws]
        )


def augmentation_explorer(
    image: Any,
    rotation: float = 0.1,
    brightness: float = 0.2,
    zoom: float = 0.2,
    contrast: float = 0.2,
    flip: bool = True,
    seed: int = 0,
    max_size: int | None = 256,
    static: bool | None = None,
) -> AugmentationExplorer | Figure:
    """Explore flips, rotations, brightness, zoom and contrast on one image.

    Move a slider to apply exactly that value with the Keras layer pinned to it
    (in the layer's units and sign: rotation as a fraction of a full turn, zoom
    positive outwards); "New random draw" sets every control to values a random
    augmenter with the given strengths could draw.

    Parameters
    ----------
    image : array-like, shape (H, W, C) or (H, W)
        uint8 0-255 or float (0-255, or 0-1), 1 or 3 channels; e.g.
        ``course_utils.data.sample_image("cat")``.
    rotation, brightness, zoom, contrast : float
        Strengths for "New random draw", in ``make_augmenter``'s units
        (rotation as a fraction of a full turn, at most 0.5).
    flip : bool
        Whether random draws may flip the image.
    seed : int
        Seed of the random draws (same seed, same sequence of draws).
    max_size : int or None, default 256
        Larger images are scaled down to this many pixels on their longer side
        so that the sliders respond quickly; None keeps the size.
    static : bool or None
        True: return the static figure. False: return the widgets. None:
        widgets in a Jupyter kernel, the figure elsewhere (see
        :func:`widgets_available`).

    Returns
    -------
    AugmentationExplorer or matplotlib.figure.Figure
        The explorer (display it as the last line of a cell), or the figure of
        the original and three random draws.

    Examples
    --------
    >>> image = np.full((32, 32, 3), 100, np.uint8)
    >>> explorer = augmentation_explorer(image, static=False)
    >>> explorer.rotation.value = 0.25  # a quarter turn: the result image is redrawn
    """
    array = _shrink(_image_0_255(image), _check_size(max_size))
    strengths = {
        "rotation": _number(rotation, "rotation", 0, 0.5),
        "brightness": _number(brightness, "brightness", 0, 1),
        "zoom": _number(zoom, "zoom", 0, 0.9),
        "contrast": _number(contrast, "contrast", 0, 1),
    }
    if not isinstance(flip, bool):
        raise TypeError(f"flip must be True or False; got {describe(flip)}")
    seed = as_seed(seed)
    if seed is None:
        raise TypeError("seed must be an int >= 0; got None")
    if _use_static(static):
        draws = [random_settings(seed + i, flip=flip, **strengths) for i in range(1, 5)]
        return plot_augmentation(array, draws)
    return AugmentationExplorer(array, strengths, flip, seed)


def _check_size(max_size: Any) -> int | None:
    if max_size is None:
        return None
    if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)):
        raise TypeError(f"max_size must be an int or None; got {describe(max_size)}")
    if max_size < 8:
        raise ValueError(f"max_size must be at least 8 pixels; got {max_size}")
    return int(max_size)


# --------------------------------------------------------------------------- feature maps


def _check_model(model: Any) -> Any:
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras Model; got {describe(model)}")
    return model


def feature_map_layers(model: Any) -> list[str]:
    """Names of the top-level layers whose output is a stack of feature maps.

    Convolution, pooling, normalization and activation layers with a 4-D output
    ``(N, H, W, C)``; preprocessing layers (rescaling, augmentation) and nested
    models are left out. The model must be built (it has an input shape).

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    list of str
        In model order; empty if there is none.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> feature_map_layers(build_course_cnn((64, 64, 3)))[:2]  # doctest: +SKIP
    ['conv1', 'pool1']
    """
    import keras

    model = _check_model(model)
    names = []
    for layer in model.layers:
        if isinstance(layer, (keras.Model, keras.layers.InputLayer)):
            continue
        if ".preprocessing." in type(layer).__module__:
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names


def colorize(feature_map: Any, cmap: str = CMAP) -> np.ndarray:
    """Map one feature map to colours: min-max scaled, then a colormap.

    Parameters
    ----------
    feature_map : array-like, shape (H, W)
        Activations (any float values).
    cmap : str, default "viridis"
        A matplotlib colormap; the default is perceptually uniform and
        readable with colour-vision deficiencies (dark = weak, yellow = strong).

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W, 3)``. A constant map becomes the colormap's lowest colour.

    Examples
    --------
    >>> colorize(np.array([[0.0, 1.0]])).shape
    (1, 2, 3)
    """
    from matplotlib import colormaps

    array = np.asarray(feature_map, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"feature_map must have shape (H, W); got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("feature_map must be finite; got NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    scaled = (array - low) / (high - low) if high > low else np.zeros_like(array)
    rgba = colormaps[cmap](scaled)
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


class FeatureMapExplorer(_Explorer):
    """A layer dropdown and a channel slider over one image's feature maps.

    Build it with :func:`feature_map_explorer`. Widgets: ``layer`` (Dropdown),
    ``channel`` (IntSlider), ``input_image`` and ``map_image`` (Image),
    ``caption`` (HTML). ``maps`` is the current layer's array ``(H', W', C')``.
    """

    def __init__(self, model: Any, image: np.ndarray, layers: list[str], layer: str):
        import ipywidgets as w

        self.model = model
        self.image = image
        self._cache: dict[str, np.ndarray] = {}
        self.layer = w.Dropdown(
            options=layers, value=layer, description="layer", tooltip="Layer to look into"
        )
        self.channel = w.IntSlider(
            value=0,
            min=0,
            max=0,
            description="channel",
            tooltip="Which feature map (filter) of the layer",
            continuous_update=True,
            layout=w.Layout(width="360px"),
        )
        self.input_image = w.Image(value=_png(_to_uint8(image)), format="png")
        self.map_image = w.Image(format="png")
        self.caption = w.HTML()
        self.layer.observe(lambda _: self._on_layer(), names="value")
        self.channel.observe(lambda _: self.update(), names="value")
        pictures = w.HBox(
            [
                w.VBox([_caption("<strong>input</strong>"), self.input_image]),
                w.VBox([_caption("<strong>feature map</strong>"), self.map_image]),
            ]
        )
        self.box = w.VBox([w.HBox([self.layer, self.channel]), pictures, self.caption])
        self.box.add_class("course-feature-map-explorer")
        self._on_layer()

    @property
    def maps(self) -> np.ndarray:
        """Feature maps of the selected layer, float32 ``(H', W', C')``."""
        name = self.layer.value
        if name not in self._cache:
            from course_utils.plots import feature_maps

            self._cache[name] = np.asarray(feature_maps(self.model, self.image, layer=name))
        return self._cache[name]

    def _on_layer(self) -> None:
        channels = self.maps.shape[-1]
        self.channel.max = channels - 1
        if self.channel.value > channels - 1:  # pragma: no cover - traitlets clamps it first
            self.channel.value = channels - 1
        self.update()

    def update(self) -> None:
        """Redraw the selected channel of the selected layer."""
        maps = self.maps
        channel = int(self.channel.value)
        chosen = maps[..., channel]
        self.map_image.value = _png(colorize(chosen))
        height, width, channels = maps.shape
        self.caption.value = (
            f"<p role='status' class='feature-map-caption'>Layer <code>"
            f"{html.escape(self.layer.value)}</code>: output {height}x{width}x{channels}; "
            f"channel {channel} of {channels} (0-based). Values {chosen.min():.3g} to "
            f"{chosen.max():.3g}; dark = weak, yellow = strong response.</p>"
        )

    def static_figure(self) -> Figure:
        """The first 16 maps of the selected layer (for static output)."""
        return _feature_map_figure(self.model, self.image, self.layer.value)


def _feature_map_figure(model: Any, image: np.ndarray, layer: str) -> Figure:
    from course_utils.plots import plot_feature_maps

    return plot_feature_maps(model, image, layer=layer, max_maps=16)


def feature_map_explorer(
    model: Any,
    image: Any,
    layer: str | None = None,
    static: bool | None = None,
) -> FeatureMapExplorer | Figure:
    """Pick a layer and a channel of a CNN and see that feature map for one image.

    Parameters
    ----------
    model : keras.Model
        An image model with convolution layers, e.g. from
        :func:`course_utils.models.build_course_cnn`.
    image : array-like, shape (H, W, C)
        One image of the size the model takes, 0-255.
    layer : str, optional
        Layer selected first; default the first of :func:`feature_map_layers`.
    static : bool or None
        True: the static figure; False: the widgets; None: decide as
        :func:`widgets_available` says.

    Returns
    -------
    FeatureMapExplorer or matplotlib.figure.Figure
        The explorer, or the figure of the layer's first 16 feature maps.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> model = build_course_cnn((32, 32, 3))
    >>> explorer = feature_map_explorer(model, np.zeros((32, 32, 3)), static=False)
    >>> explorer.channel.value = 5
    """
    from course_utils.plots import feature_maps

    model = _check_model(model)
    array = as_images(image, "image", batch=False, channels=None)
    feature_maps(model, array, layer=None)  # builds the model and checks the image
    layers = feature_map_layers(model)
    if layer is None:
        layer = layers[0]
    elif layer not in layers:
        raise ValueError(f"layer must be one of {layers}; got {layer!r}")
    if _use_static(static):
        return _feature_map_figure(model, array, layer)
    return FeatureMapExplorer(model, array, layers, layer)


# --------------------------------------------------------------------------- training trace


def trace_metrics(trace: Any) -> tuple[dict[str, list[float]], list[str]]:
    """Per-epoch metrics (and observations, if any) of a training run.

    Parameters
    ----------
    trace : TrainingTrace, keras History, or mapping
        A :class:`course_utils.trace.TrainingTrace`, the ``History`` returned by
        ``model.fit``, or a mapping such as ``{"loss": [...], "val_loss": [...]}``.

    Returns
    -------
    metrics : dict of str to list of float
        Metric name -> one value per epoch (NaN where an epoch did not log
        it); all lists have the same length.
    observations : list of str
        One remark per epoch: the trace's own, or for a History or mapping with
        a ``"loss"`` those of :class:`course_utils.trace.TrainingTrace`.

    Examples
    --------
    >>> metrics, notes = trace_metrics({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]})
    >>> metrics["loss"], notes[1]
    ([1.0, 0.5], 'improving: loss -50%')
    """
    observations: list[str] = []
    if isinstance(trace, Mapping):
        history = trace
    elif isinstance(getattr(trace, "history", None), Mapping):
        history = trace.history
        observations = [str(o) for o in getattr(trace, "observations", None) or []]
    else:
        raise TypeError(
            "trace must be a TrainingTrace, a keras History or a mapping of per-epoch "
            f"metrics; got {describe(trace)}"
        )
    metrics: dict[str, list[float]] = {}
    for name, values in history.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
            raise TypeError(f"trace[{name!r}] must be a list of numbers; got {describe(values)}")
        metrics[str(name)] = [math.nan if v is None else float(v) for v in values]
    lengths = {len(v) for v in metrics.values()}
    if not metrics or lengths == {0}:
        raise ValueError("trace must hold at least one epoch of metrics; got none")
    if len(lengths) != 1:
        raise ValueError(
            f"trace: every metric must have one value per epoch; got lengths "
            f"{ {k: len(v) for k, v in metrics.items()} }"
        )
    epochs = lengths.pop()
    order = sorted(metrics, key=lambda n: (n.startswith("val_"), "loss" not in n, n))
    metrics = {name: metrics[name] for name in order}  # loss, accuracy, val_loss, ...
    if not observations and "loss" in metrics:
        from course_utils.trace import TrainingTrace

        observations = TrainingTrace.from_history(metrics).observations
    observations = (list(observations) + [""] * epochs)[:epochs]
    return metrics, observations


def plot_trace_epoch(
    metrics: Mapping[str, Sequence[float]], epoch: int, fig: Figure | None = None
) -> Figure:
    """Loss and accuracy curves up to ``epoch``, the rest of the run faded.

    Parameters
    ----------
    metrics : mapping of str to list of float
        From :func:`trace_metrics`.
    epoch : int
        1-based epoch to replay up to.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first).

    Returns
    -------
    matplotlib.figure.Figure
        One axes for the loss metrics and, if the run has accuracy metrics,
        one for them; training solid, validation dashed; a marker at ``epoch``.

    Examples
    --------
    >>> fig = plot_trace_epoch({"loss": [1.0, 0.6, 0.4]}, epoch=2)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss']
    """
    epochs = len(next(iter(metrics.values())))
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise TypeError(f"epoch must be an int; got {describe(epoch)}")
    if not 1 <= epoch <= epochs:
        raise ValueError(f"epoch must be between 1 and {epochs}; got {epoch}")
    groups = [("loss", [k for k in metrics if "loss" in k])]
    accuracy = [k for k in metrics if "acc" in k]
    if accuracy:
        groups.append(("accuracy", accuracy))
    others = [k for k in metrics if "loss" not in k and "acc" not in k]
    if not groups[0][1]:
        groups = groups[1:] or [("metric", others)]
    fig = _display.fresh_figure(fig, (5.5 * len(groups), 3.8))
    x = np.arange(1, epochs + 1)
    colours = ("#0072b2", "#d55e00", "#009e73", "#cc79a7")  # Okabe-Ito, colour-blind safe
    for index, (title, names) in enumerate(groups, 1):
        ax = fig.add_subplot(1, len(groups), index)
        for number, name in enumerate(sorted(names, key=lambda n: n.startswith("val_"))):
            values = np.asarray(metrics[name], dtype=float)
            colour = colours[number % len(colours)]
            style = "--" if name.startswith("val_") else "-"
            ax.plot(x, values, style, color=colour, alpha=0.25)
            ax.plot(x[:epoch], values[:epoch], style, marker="o", color=colour, label=name)
        ax.axvline(epoch, color="0.4", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_xticks(x if epochs <= 12 else np.linspace(1, epochs, 6).round())
        ax.legend(loc="best")
    fig.suptitle(f"Training curves replayed up to epoch {epoch} of {epochs}")
    return fig


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


class TraceExplorer(_Explorer):
    """An epoch slider over a training run: curves up to that epoch and its table row.

    Build it with :func:`trace_explorer`. Widgets: ``epoch`` (IntSlider),
    ``plot`` (Image), ``row`` (HTML).
    """

    def __init__(self, metrics: dict[str, list[float]], observations: list[str]):
        import ipywidgets as w

        self.metrics = metrics
        self.observations = observations
        epochs = len(next(iter(metrics.values())))
        self.epoch = w.IntSlider(
            value=1,
            min=1,
            max=epochs,
            description="epoch",
            tooltip="Replay the run up to this epoch",
            continuous_update=True,
            layout=w.Layout(width="420px"),
        )
        self.play = w.Play(value=1, min=1, max=epochs, interval=700, description="replay")
        w.jslink((self.play, "value"), (self.epoch, "value"))
        self.plot = w.Image(format="png")
        self.row = w.HTML()
        self.epoch.observe(lambda _: self.update(), names="value")
        self.box = w.VBox([w.HBox([self.play, self.epoch]), self.row, self.plot])
        self.box.add_class("course-trace-explorer")
        self.update()

    def update(self) -> None:
        """Redraw the curves and the table row for the selected epoch."""
        epoch = int(self.epoch.value)
        fig = plot_trace_epoch(self.metrics, epoch)
        self.plot.value = _figure_png(fig)
        cells = "".join(f"<td>{_cell(values[epoch - 1])}</td>" for values in self.metrics.values())
        heads = "".join(f"<th>{html.escape(name)}</th>" for name in self.metrics)
        note = self.observations[epoch - 1]
        self.row.value = (
            f"<table class='trace-row'><thead><tr><th>epoch</th>{heads}<th>observation</th>"
            f"</tr></thead><tbody><tr><td>{epoch}</td>{cells}<td>{html.escape(note)}</td></tr>"
            "</tbody></table>"
        )

    def static_figure(self) -> Figure:
        """The whole run's curves (for static output)."""
        epochs = len(next(iter(self.metrics.values())))
        return plot_trace_epoch(self.metrics, epochs)


def trace_explorer(trace: Any, static: bool | None = None) -> TraceExplorer | Figure:
    """Replay a training run epoch by epoch with a slider (and a play button).

    Parameters
    ----------
    trace : TrainingTrace, keras History or mapping
        See :func:`trace_metrics`.
    static : bool or None
        True: the static figure of the whole run; False: the widgets; None:
        decide as :func:`widgets_available` says.

    Returns
    -------
    TraceExplorer or matplotlib.figure.Figure

    Examples
    --------
    >>> explorer = trace_explorer({"loss": [1.2, 0.9, 0.7]}, static=False)
    >>> explorer.epoch.value = 3
    """
    metrics, observations = trace_metrics(trace)
    if _use_static(static):
        epochs = len(next(iter(metrics.values())))
        return plot_trace_epoch(metrics, epochs)
    return TraceExplorer(metrics, observations)
