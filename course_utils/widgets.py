"""Interactive explorers and the quiz widget, each with a static view where widgets cannot run.

Each object holds its ipywidgets in ``box`` and shows a figure with alt text (the quiz: its
text) where no widget manager runs; outside a Jupyter kernel, with ``static=True`` or with
``COURSE_STATIC_WIDGETS=1`` the functions return that figure (the shuffled Quiz) instead.
UI only: the numbers come from ``augment``, ``models``, ``trace`` and ``quiz``.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from typing import Any

import ipywidgets as ipw
import numpy as np
import tensorflow as tf
from matplotlib import colormaps
from matplotlib.figure import Figure

from course_utils import _display
from course_utils._validation import as_images, as_int, check_finite, describe
from course_utils.augment import (
    _BOUNDS,
    AugmentationSettings,
    _image_0_255,
    augment_image,
    pinned_layers,
    random_settings,
)
from course_utils.environment import in_jupyter_kernel
from course_utils.models import feature_map_layers
from course_utils.plots import feature_maps, plot_feature_maps
from course_utils.quiz import (
    Feedback,
    Question,
    Quiz,
    _answers_html,
    _as_quiz,
    _feedback,
    _prompt_html,
    learner_seed,
)
from course_utils.trace import plot_trace_epoch, trace_metrics

__all__ = [
    "AugmentationExplorer",
    "FeatureMapExplorer",
    "QuizWidget",
    "TraceExplorer",
    "augmentation_explorer",
    "colorize",
    "feature_map_explorer",
    "plot_augmentation",
    "quiz_widget",
    "trace_explorer",
    "widgets_available",
]

#: Environment variable that makes every explorer return its static figure.
STATIC_ENV = "COURSE_STATIC_WIDGETS"

#: Colour-blind-safe, perceptually uniform colormap for feature maps.
CMAP = "viridis"

_MIN_DISPLAY = 192  # pixels: small images are enlarged (nearest neighbour) to this size


def widgets_available() -> bool:
    """Whether interactive widgets can be shown here (the one front-end check of the course).

    True in a Jupyter kernel (Colab too) unless ``COURSE_STATIC_WIDGETS`` is 1, true or yes.

    Examples
    --------
    >>> widgets_available()  # a doctest runs outside a Jupyter kernel
    False
    """
    forced = os.environ.get(STATIC_ENV, "").strip().lower() in {"1", "true", "yes"}
    return not forced and in_jupyter_kernel()


def _use_static(static: bool | None) -> bool:
    if static is None:
        return not widgets_available()
    if not isinstance(static, bool):
        raise TypeError(f"static must be True, False or None; got {describe(static)}")
    return static


def _uint8(image: np.ndarray) -> np.ndarray:
    """An image on the 0-255 scale, rounded and clipped to uint8."""
    return np.clip(np.round(np.asarray(image, dtype=np.float32)), 0, 255).astype(np.uint8)


def _png(image: np.ndarray) -> bytes:
    """PNG bytes of an image on the 0-255 scale, enlarged (nearest neighbour) if small."""
    array = _uint8(image)
    factor = max(1, math.ceil(_MIN_DISPLAY / max(1, min(array.shape[:2]))))
    return _display.png_bytes(np.repeat(np.repeat(array, factor, axis=0), factor, axis=1))


def _alt(fig: Figure) -> str:
    """The figure's description: its suptitle, or the titles of its axes."""
    titles = "; ".join(ax.get_title() for ax in fig.axes if ax.get_title())
    return fig.get_suptitle() or titles or "figure"


class _Explorer:
    """Widgets in :attr:`box`; ``static_figure()`` is the view for front ends without widgets."""

    box: Any

    def _static_bundle(self) -> dict:
        fig = self.static_figure()
        png = base64.b64encode(_display.png_bytes(fig)).decode("ascii")
        alt = _alt(fig)
        return {
            "image/png": png,
            "text/html": f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">',
            "text/plain": f"{type(self).__name__}: {alt}",
        }

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return {**self.box._repr_mimebundle_(**kwargs), **self._static_bundle()}


def _slider(kind: str, description: str, tooltip: str, width: str = "360px", **options: Any) -> Any:
    """An ipywidgets ``kind`` slider (they update while dragged) of the given width."""
    return getattr(ipw, kind)(
        description=description, tooltip=tooltip, layout={"width": width}, **options
    )


def _pictures(*panels: tuple[str, Any]) -> Any:
    """Image widgets side by side, each under its bold caption."""
    caption = "<p style='margin: 0; font-size: 1.05em'><strong>{}</strong></p>"
    return ipw.HBox([ipw.VBox([ipw.HTML(caption.format(text)), image]) for text, image in panels])


def plot_augmentation(
    image: Any,
    settings: AugmentationSettings | Sequence[AugmentationSettings] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Draw the original image beside one result per set of transform values.

    ``settings`` default to four :func:`~course_utils.augment.random_settings` (seeds 0-3).
    Draws into ``fig`` (cleared) or a new Figure and returns it; the suptitle is alt text.

    Examples
    --------
    >>> len(plot_augmentation(np.zeros((16, 16, 3)), AugmentationSettings(flip=True)).axes)
    2
    """
    if settings is None:
        settings = [random_settings(seed) for seed in range(4)]
    elif isinstance(settings, AugmentationSettings):
        settings = [settings]
    settings = list(settings)
    if not settings or not all(isinstance(s, AugmentationSettings) for s in settings):
        what = "an AugmentationSettings or a non-empty list of them"
        raise TypeError(f"settings must be {what}; got {describe(settings)}")
    original = _image_0_255(image)
    panels = [("original", original)] + [
        (str(s).replace(", ", "\n"), augment_image(original, **vars(s))) for s in settings
    ]
    cell = (2.6, 2.6 * original.shape[0] / original.shape[1])
    fig, axes = _display.image_grid(
        len(panels), ncols=len(panels), fig=fig, cell=cell, extra_height=1.6
    )
    for ax, (title, picture) in zip(axes, panels, strict=True):
        _display.show_image(ax, _uint8(picture), title, fontsize=11)
    fig.suptitle(
        f"The original image and {len(settings)} augmented version(s) with fixed transform values"
    )
    return fig


_LABELS = {  # slider: (label, tooltip), in the Keras layers' units
    "rotation": (
        "rotation (turns)",
        "RandomRotation's factor: a fraction of a full turn, positive counter-clockwise "
        "(0.25 = 90 degrees)",
    ),
    "brightness": ("brightness (x 255)", "RandomBrightness's factor: add this fraction of 255"),
    "zoom": (
        "zoom (+ out, - in)",
        "RandomZoom's factor: positive zooms out (shows more), negative zooms in (crops)",
    ),
    "contrast": ("contrast (x 1+c)", "RandomContrast: scale each channel's contrast by 1 + this"),
}


def _draws(seed: int, flip: bool, strengths: dict[str, float], count: int) -> list:
    """The settings of random draws ``seed + 1`` to ``seed + count``."""
    return [random_settings(seed + i, flip=flip, **strengths) for i in range(1, count + 1)]


class AugmentationExplorer(_Explorer):
    """Sliders and a flip toggle over :func:`augment_image`, original beside result.

    Build it with :func:`augmentation_explorer`; the controls are attributes (``rotation``,
    ``flip``, ``draw_button``, ...), ``result`` is the augmented image as an array.

    Examples
    --------
    >>> explorer = augmentation_explorer(np.zeros((8, 8, 3), np.uint8), static=False)
    >>> explorer.flip.value = True
    >>> str(explorer.settings)
    'flipped'
    """

    def __init__(self, image: np.ndarray, strengths: dict[str, float], flip: bool, seed: int):
        self.image = image
        self.strengths = strengths
        self.allow_flip = flip
        self.seed = seed
        self.draws = 0
        style = {"description_width": "130px"}
        self.sliders = {
            key: _slider("FloatSlider", *_LABELS[key], min=low, max=high, step=step, style=style)
            for key, (low, high, step) in _BOUNDS.items()
        }
        self.rotation, self.brightness, self.zoom, self.contrast = self.sliders.values()
        self.flip = ipw.ToggleButton(description="flip left-right", tooltip="Mirror the image")
        self.draw_button = ipw.Button(
            description="New random draw",
            tooltip="Set every control to a random value, as a random augmenter would",
        )
        self.reset_button = ipw.Button(description="Reset", tooltip="Back to the original image")
        self.original_image = ipw.Image(value=_png(image))
        self.result_image = ipw.Image(value=self.original_image.value)
        self.caption = ipw.HTML()
        layers = ", ".join(f"Random{key.title()}({value:g})" for key, value in strengths.items())
        self.code = ipw.HTML(
            "<p style='margin-top: 0.4em'>A random augmenter draws values like these for every "
            f"image, every epoch: <code>RandomFlip(&quot;horizontal&quot;), {layers}</code>. "
            "&ldquo;New random draw&rdquo; shows one.</p>"
        )
        self._paused = False
        for control in [*self.sliders.values(), self.flip]:
            control.observe(self._on_change, names="value")
        self.draw_button.on_click(lambda _: self.new_draw())
        self.reset_button.on_click(lambda _: self.reset())
        buttons = ipw.HBox([self.flip, self.draw_button, self.reset_button])
        controls = ipw.VBox([*self.sliders.values(), buttons, self.code])
        pictures = _pictures(("original", self.original_image), ("augmented", self.result_image))
        self.box = ipw.VBox([pictures, self.caption, controls])
        self.box.add_class("course-augmentation-explorer")
        self.update()

    @property
    def settings(self) -> AugmentationSettings:
        """The values the controls are set to."""
        values = {key: float(slider.value) for key, slider in self.sliders.items()}
        return AugmentationSettings(flip=bool(self.flip.value), **values)

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
        self.result_image.value = _png(self.result)
        self.caption.value = (
            f"<p role='status' class='augment-caption'>Augmented: {html.escape(str(settings))}"
            f"<br><code>{html.escape(pinned_layers(settings))}</code></p>"
        )

    def static_figure(self) -> Figure:
        """Original, the current result and three random draws (for static output)."""
        draws = _draws(self.seed, self.allow_flip, self.strengths, 3)
        current = [] if self.settings == AugmentationSettings() else [self.settings]
        return plot_augmentation(self.image, current + draws)


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

    A slider applies exactly its value with the Keras layer pinned to it, in its units and
    sign; "New random draw" sets the controls as a random augmenter with these strengths
    (``make_augmenter``'s units), ``flip`` and ``seed`` would. ``image``: ``(H, W, C)`` or
    ``(H, W)``, 0-255 or 0-1, 1 or 3 channels, scaled down to ``max_size`` on its longer
    side (None: kept). ``static`` True returns the original and four draws as a figure,
    False the explorer, None decides as :func:`widgets_available` says.

    Examples
    --------
    >>> explorer = augmentation_explorer(np.full((32, 32, 3), 100, np.uint8), static=False)
    >>> explorer.rotation.value = 0.25  # a quarter turn: the result image is redrawn
    """
    array = _image_0_255(image)
    if max_size is not None and max(array.shape[:2]) > as_int(max_size, "max_size", minimum=8):
        scale = max_size / max(array.shape[:2])
        size = [max(1, round(array.shape[0] * scale)), max(1, round(array.shape[1] * scale))]
        array = np.asarray(tf.image.resize(array, size, antialias=True), dtype=np.float32)
    strengths = {"rotation": rotation, "zoom": zoom, "brightness": brightness, "contrast": contrast}
    if not isinstance(flip, bool):
        raise TypeError(f"flip must be True or False; got {describe(flip)}")
    random_settings(seed, flip=flip, **strengths)  # checks the strengths and the seed
    if _use_static(static):
        return plot_augmentation(array, _draws(seed, flip, strengths, 4))
    return AugmentationExplorer(array, strengths, flip, seed)


def colorize(feature_map: Any, cmap: str = CMAP) -> np.ndarray:
    """Map one feature map ``(H, W)`` of finite activations to uint8 colours ``(H, W, 3)``.

    Min-max scaled (a constant map takes the lowest colour), then ``cmap``: by default
    perceptually uniform and colour-blind safe (dark = weak, yellow = strong).

    Examples
    --------
    >>> colorize(np.array([[0.0, 1.0]])).shape
    (1, 2, 3)
    """
    array = np.asarray(feature_map, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"feature_map must have shape (H, W); got shape {array.shape}")
    check_finite(array, "feature_map")
    rgba = colormaps[cmap](_display.normalize_map(array))
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


class FeatureMapExplorer(_Explorer):
    """A layer dropdown and a channel slider over one image's feature maps.

    Build it with :func:`feature_map_explorer`; ``maps`` is the selected layer's array.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> model = build_course_cnn((16, 16, 3))
    >>> feature_map_explorer(model, np.zeros((16, 16, 3)), static=False).maps.shape
    (14, 14, 32)
    """

    def __init__(self, model: Any, image: np.ndarray, layers: list[str], layer: str):
        self.model = model
        self.image = image
        self._cache: dict[str, np.ndarray] = {}
        self.layer = ipw.Dropdown(
            options=layers, value=layer, description="layer", tooltip="Layer to look into"
        )
        self.channel = _slider("IntSlider", "channel", "Which feature map (filter) of the layer")
        self.input_image = ipw.Image(value=_png(image))
        self.map_image = ipw.Image()
        self.caption = ipw.HTML()
        self.layer.observe(lambda _: self._on_layer(), names="value")
        self.channel.observe(lambda _: self.update(), names="value")
        pictures = _pictures(("input", self.input_image), ("feature map", self.map_image))
        self.box = ipw.VBox([ipw.HBox([self.layer, self.channel]), pictures, self.caption])
        self.box.add_class("course-feature-map-explorer")
        self._on_layer()

    @property
    def maps(self) -> np.ndarray:
        """Feature maps of the selected layer, float32 ``(H', W', C')``."""
        name = self.layer.value
        if name not in self._cache:
            self._cache[name] = np.asarray(feature_maps(self.model, self.image, layer=name))
        return self._cache[name]

    def _on_layer(self) -> None:
        self.channel.max = self.maps.shape[-1] - 1  # the slider clamps its value to it
        self.update()

    def update(self) -> None:
        """Redraw the selected channel of the selected layer."""
        channel = int(self.channel.value)
        chosen = self.maps[..., channel]
        self.map_image.value = _png(colorize(chosen))
        height, width, channels = self.maps.shape
        self.caption.value = (
            f"<p role='status' class='feature-map-caption'>Layer <code>"
            f"{html.escape(self.layer.value)}</code>: output {height}x{width}x{channels}; "
            f"channel {channel} of {channels} (0-based). Values {chosen.min():.3g} to "
            f"{chosen.max():.3g}; dark = weak, yellow = strong response.</p>"
        )

    def static_figure(self) -> Figure:
        """The first 16 maps of the selected layer (for static output)."""
        return plot_feature_maps(self.model, self.image, layer=self.layer.value, max_maps=16)


def feature_map_explorer(
    model: Any, image: Any, layer: str | None = None, static: bool | None = None
) -> FeatureMapExplorer | Figure:
    """Pick a layer and a channel of a CNN and see that feature map for one image.

    ``image`` ``(H, W, C)``, 0-255, has the size the ``model`` takes; ``layer`` is selected
    first (default: the first of :func:`feature_map_layers`). ``static`` True returns the
    layer's first 16 maps as a figure, False the explorer, None decides as
    :func:`widgets_available` says.

    Examples
    --------
    >>> from course_utils.models import build_course_cnn
    >>> model = build_course_cnn((32, 32, 3))
    >>> explorer = feature_map_explorer(model, np.zeros((32, 32, 3)), static=False)
    >>> explorer.channel.value = 5
    """
    array = as_images(image, "image", batch=False, channels=None)
    feature_maps(model, array, layer=None)  # checks the model and the image, builds the model
    layers = feature_map_layers(model)
    if layer is None:
        layer = layers[0]
    elif layer not in layers:
        raise ValueError(f"layer must be one of {layers}; got {layer!r}")
    if _use_static(static):
        return plot_feature_maps(model, array, layer=layer, max_maps=16)
    return FeatureMapExplorer(model, array, layers, layer)


class TraceExplorer(_Explorer):
    """An epoch slider over a training run: curves up to that epoch and its table row.

    Build it with :func:`trace_explorer`; ``epoch`` is the slider, ``play`` its button.

    Examples
    --------
    >>> trace_explorer({"loss": [1.0, 0.5]}, static=False).epoch.max
    2
    """

    def __init__(self, metrics: dict[str, list[float]], observations: list[str]):
        self.metrics = metrics
        self.observations = observations
        self.epochs = len(next(iter(metrics.values())))
        tip = "Replay the run up to this epoch"
        self.epoch = _slider("IntSlider", "epoch", tip, "420px", value=1, min=1, max=self.epochs)
        self.play = ipw.Play(value=1, min=1, max=self.epochs, interval=700, description="replay")
        ipw.jslink((self.play, "value"), (self.epoch, "value"))
        self.plot = ipw.Image()
        self.row = ipw.HTML()
        self.epoch.observe(lambda _: self.update(), names="value")
        self.box = ipw.VBox([ipw.HBox([self.play, self.epoch]), self.row, self.plot])
        self.box.add_class("course-trace-explorer")
        self.update()

    def update(self) -> None:
        """Redraw the curves and the table row for the selected epoch."""
        epoch = int(self.epoch.value)
        self.plot.value = _display.png_bytes(plot_trace_epoch(self.metrics, epoch))
        cells = [values[epoch - 1] for values in self.metrics.values()]
        cells = ["-" if math.isnan(v) else f"{v:.4g}" for v in cells]
        row = [epoch, *cells, self.observations[epoch - 1]]
        self.row.value = _display.Table(["epoch", *self.metrics, "observation"], [row]).html()

    def static_figure(self) -> Figure:
        """The whole run's curves (for static output)."""
        return plot_trace_epoch(self.metrics, self.epochs)


def trace_explorer(trace: Any, static: bool | None = None) -> TraceExplorer | Figure:
    """Replay a training run epoch by epoch with a slider (and a play button).

    ``trace`` is anything :func:`course_utils.trace.trace_metrics` reads; ``static``
    True returns the figure of the whole run, False the explorer, None decides as
    :func:`widgets_available` says.

    Examples
    --------
    >>> explorer = trace_explorer({"loss": [1.2, 0.9, 0.7]}, static=False)
    >>> explorer.epoch.value = 3
    """
    metrics, observations = trace_metrics(trace)
    if _use_static(static):
        return plot_trace_epoch(metrics, len(next(iter(metrics.values()))))
    return TraceExplorer(metrics, observations)


_FEEDBACK_STYLE = {
    True: ("#0072b2", "&#10004; Correct."),  # blue (Okabe-Ito), with a symbol and a word
    False: ("#d55e00", "&#10008; Not quite."),  # vermillion, never colour alone
}


class QuizWidget(_Explorer):
    """Interactive quiz: one question at a time, feedback, explanations, score.

    Build it with :func:`quiz_widget`; ``index`` is the question shown, ``answers`` the
    checked ones (id -> keys), ``score`` how many were right.

    Examples
    --------
    >>> widget = quiz_widget("01", static=False, seed=0)
    >>> widget.select(*widget.question.correct_keys)
    >>> widget.check().is_correct, widget.score
    (True, 1)
    """

    def __init__(self, quiz: Quiz):
        self.quiz = quiz
        self.header = ipw.HTML()
        self.prompt = ipw.HTML()
        self.radio = ipw.RadioButtons(layout={"width": "auto"})
        self.checks_box = ipw.VBox()
        self.feedback = ipw.HTML()
        self.check_button = ipw.Button(description="Check answer", tooltip="Check your answer")
        self.check_button.button_style = "primary"
        self.next_button = ipw.Button(tooltip="Go to the next question")  # labelled by _show
        self.restart_button = ipw.Button(description="Start again", tooltip="Start the quiz again")
        self.check_button.on_click(lambda _: self.check())
        self.next_button.on_click(lambda _: self.next())
        self.restart_button.on_click(lambda _: self.restart())
        self.radio.observe(self._on_pick, names="value")
        self.buttons = ipw.HBox([self.check_button, self.next_button, self.restart_button])
        self.box = ipw.VBox(
            [self.header, self.prompt, self.radio, self.checks_box, self.buttons, self.feedback]
        )
        self.box.add_class("course-quiz")
        self.restart()

    @property
    def question(self) -> Question:
        """The question shown."""
        return self.quiz.questions[self.index]

    @property
    def done(self) -> bool:
        """True once every question has been checked."""
        return len(self.answers) == len(self.quiz)

    def selected(self) -> tuple[str, ...]:
        """Keys currently picked for the question shown."""
        if self.question.multiple:
            boxes = zip(self.question.choices, self.checks, strict=True)
            return tuple(choice.key for choice, box in boxes if box.value)
        return () if self.radio.value is None else (self.radio.value,)

    def select(self, *keys: str) -> None:
        """Pick choices by key, as a learner would (used by tests and demos)."""
        question = self.question
        unknown = [k for k in keys if k not in {c.key for c in question.choices}]
        if unknown:
            raise ValueError(f"keys: {unknown} are not choices of {question.id!r}")
        if question.multiple:
            for choice, box in zip(question.choices, self.checks, strict=True):
                box.value = choice.key in keys
        elif len(keys) != 1:
            raise ValueError(f"keys: {question.id!r} takes one choice; got {len(keys)}")
        else:
            self.radio.value = keys[0]

    def check(self) -> Feedback | None:
        """Score the picked choices and show the explanations (the first check counts)."""
        question = self.question
        chosen = self.selected()
        if not chosen:
            self.feedback.value = "<p role='status'>Pick an answer first.</p>"
            return None
        feedback = _feedback(question, chosen)
        if question.id not in self.answers:  # the first check counts
            self.score += feedback.is_correct
        kept = self.answers.setdefault(question.id, chosen)
        colour, verdict = _FEEDBACK_STYLE[set(kept) == set(question.correct_keys)]
        self.feedback.value = (
            f"<div role='status' aria-live='polite' class='quiz-feedback' "
            f"style='border-left: 4px solid {colour}; padding-left: 0.6em'>"
            f"<p><strong>{verdict}</strong> The answer is "
            f"{', '.join(question.correct_keys)}.</p>{_answers_html(question, kept)}</div>"
        )
        self._lock(True)
        self._update_header()
        return feedback

    def next(self) -> None:
        """Show the next question (or the final score after the last one)."""
        if self.index + 1 < len(self.quiz):
            self.index += 1
            self._show()
        else:
            self._finish()

    def restart(self) -> None:
        """Clear the answers and the score and go back to the first question."""
        self.index = 0
        self.answers: dict[str, tuple[str, ...]] = {}
        self.score = 0
        self._show()

    def _on_pick(self, change: dict) -> None:
        if self.question.id not in self.answers:  # clear "Pick an answer first."
            self.feedback.value = ""

    def _update_header(self, where: str = "", out_of: int | None = None) -> None:
        where = where or f"question {self.index + 1} of {len(self.quiz)}"
        out_of = len(self.answers) if out_of is None else out_of
        self.header.value = (
            f"<p><strong>{html.escape(self.quiz.title)}</strong> &middot; {where} &middot; "
            f"<span class='quiz-score'>score {self.score} / {out_of}</span></p>"
        )

    def _lock(self, locked: bool) -> None:
        for control in [self.radio, *self.checks, self.check_button]:
            control.disabled = locked

    def _show(self) -> None:
        question = self.question
        self.prompt.value = f"<div style='font-size: 1.1em'>{_prompt_html(question)}</div>"
        options = [(f"{c.key}) {c.text}", c.key) for c in question.choices]
        self.radio.options = [] if question.multiple else options
        self.radio.value = None
        self.radio.layout.display = "none" if question.multiple else ""
        self.checks: list[ipw.Checkbox] = [
            ipw.Checkbox(description=label, indent=False, layout={"width": "auto"})
            for label, _ in (options if question.multiple else [])
        ]
        self.checks_box.children = self.checks
        last = self.index + 1 == len(self.quiz)
        self.next_button.description = "See your score" if last else "Next question"
        self.next_button.disabled = False
        self.feedback.value = ""
        self._lock(False)
        self._update_header()

    def _finish(self) -> None:
        self._update_header("finished", len(self.quiz))
        missed = [q for q in self.quiz.questions if q.id not in self.answers]
        note = f" You skipped {len(missed)} question(s); start again to try them." if missed else ""
        self.prompt.value = (
            f"<p role='status'>You answered {self.score} of {len(self.quiz)} questions "
            f"correctly.{note}</p>"
        )
        self.radio.layout.display = "none"
        self.checks_box.children = []
        self.feedback.value = ""
        self.check_button.disabled = True
        self.next_button.disabled = True

    def _static_bundle(self) -> dict:
        return {"text/plain": str(self.quiz), "text/html": self.quiz._repr_html_()}

    def __str__(self) -> str:
        return str(self.quiz)


def quiz_widget(
    quiz: Quiz | str | int, static: bool | None = None, seed: int | None = None
) -> QuizWidget | Quiz:
    """Show a quiz one question at a time with feedback and a running score.

    ``quiz`` is a Quiz or a lesson name/number; ``seed`` orders the choices (None:
    ``learner_seed()``). ``static`` True returns the shuffled Quiz (text, answers hidden),
    False the widget, None decides as :func:`widgets_available` says; ``check_answers`` on
    either takes the keys shown. Keyboard: Tab, arrow keys, Space or Enter.

    Examples
    --------
    >>> quiz = quiz_widget("02", static=False, seed=0)
    >>> quiz.select(*quiz.question.correct_keys)
    >>> quiz.check().is_correct
    True
    """
    quiz = _as_quiz(quiz)
    if not len(quiz):
        raise ValueError(f"quiz: {quiz.lesson!r} has no questions")
    quiz = quiz.shuffled(learner_seed() if seed is None else seed)
    return quiz if _use_static(static) else QuizWidget(quiz)
