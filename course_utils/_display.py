"""Tables and small images as plain text, Markdown, HTML and figure panels: every rich result
of the course renders through these, so it looks alike in a terminal, in Markdown and in Jupyter."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from course_utils._validation import describe


def shape_text(shape: Sequence[int | None], *, rows: bool = True) -> str:
    """Write a shape the course's way, ``1000 x 32x32x3`` (``rows``: the first axis counts rows).

    Examples
    --------
    >>> shape_text((1000, 32, 32, 3)), shape_text((None, 10), rows=False)
    ('1000 x 32x32x3', 'Nonex10')
    """
    parts = ["None" if s is None else str(int(s)) for s in shape]
    if not parts:
        return "scalar"
    if rows and len(parts) > 1:
        return f"{parts[0]} x {'x'.join(parts[1:])}"
    return "x".join(parts)


def number(value: float | None, digits: int = 3) -> str:
    """A compact number: ``0.123``, ``1.2e+03``, ``-`` for None, ``nan`` for NaN.

    Examples
    --------
    >>> number(0.12345), number(1234.5), number(None)
    ('0.123', '1.23e+03', '-')
    """
    if value is None or not np.isfinite(value):
        return "-" if value is None else str(value)
    return f"{value:.{digits}g}"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns, as ``str(Table(headers, rows))`` shows it."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(cell))) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[object]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells is escaped).

    Examples
    --------
    >>> print(markdown_table(["a"], [["x|y"]]))
    | a |
    |---|
    | x\\|y |
    """

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    raw_columns: Sequence[int] = (),
    caption: str | None = None,
) -> str:
    """An HTML table; cells are escaped except in ``raw_columns`` (already HTML).

    Examples
    --------
    >>> html_table(["a", "b"], [["<i>x</i>", "<b>"]], raw_columns=[0]).count("<i>x</i>")
    1
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)

    def cell(i: int, value: object) -> str:
        text = str(value) if i in raw_columns else html.escape(str(value))
        return f'<td style="text-align:left">{text}</td>'

    body = ["<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows]
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class Table:
    """A small table: ``str(table)`` is plain text, :meth:`markdown` Markdown, Jupyter shows HTML.

    Parameters
    ----------
    headers, rows : sequences
        Column names, and one sequence of cells per row, as long as ``headers``.
    caption : str, optional
        Shown above the HTML table.
    raw_columns : sequence of int, optional
        Columns whose cells are already HTML (images, links): not escaped.

    Examples
    --------
    >>> print(Table(["layer", "output"], [["conv", "62x62x32"], ["pool", "31x31x32"]]))
    layer  output
    -----  --------
    conv   62x62x32
    pool   31x31x32
    """

    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""
    raw_columns: Sequence[int] = ()

    def __post_init__(self) -> None:
        width = len(self.headers)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(
                    f"every row must have {width} cells, one per header; got {len(row)} in row {i}"
                )

    def text(self) -> str:
        """Aligned plain-text columns."""
        return text_table(self.headers, self.rows)

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table."""
        return markdown_table(self.headers, self.rows)

    def html(self) -> str:
        """An HTML ``<table>``."""
        return html_table(
            self.headers, self.rows, raw_columns=self.raw_columns, caption=self.caption or None
        )

    __str__ = text
    _repr_html_ = html


def image_grid(
    count: int,
    *,
    ncols: int,
    fig: Figure | None = None,
    cell: tuple[float, float] = (1.6, 1.8),
    extra_height: float = 0.0,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` axes on a grid of at most ``ncols`` columns, axes hidden.

    A new figure has ``cell`` inches per panel plus ``extra_height``; a given ``fig`` is cleared.

    Examples
    --------
    >>> fig, axes = image_grid(5, ncols=3)
    >>> len(axes), axes[0].get_subplotspec().get_geometry()[:2]
    (5, (2, 3))
    """
    count = max(int(count), 1)
    ncols = max(1, min(int(ncols), count))
    nrows = math.ceil(count / ncols)
    fig = fresh_figure(fig, (cell[0] * ncols, cell[1] * nrows + extra_height))
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(count)]
    for ax in axes:
        ax.set_axis_off()
    return fig, axes


def show_image(
    ax: Axes,
    image: np.ndarray,
    title: str = "",
    *,
    fontsize: float = 9,
    **imshow: object,
) -> Axes:
    """Draw one image on ``ax`` scaled by :func:`display_image`, titled, axis off.

    Keywords go to ``Axes.imshow``; one channel is drawn in grey unless ``cmap`` is given.

    Examples
    --------
    >>> fig, (ax,) = image_grid(1, ncols=1)
    >>> show_image(ax, np.zeros((4, 4, 3), np.uint8), "black").get_title()
    'black'
    """
    shown = display_image(image)
    style = {"cmap": "gray" if shown.ndim == 2 else None, "vmin": 0, "vmax": 1}
    ax.imshow(shown, **(style | imshow))
    ax.set_title(title, fontsize=fontsize)
    ax.set_axis_off()
    return ax


def display_image(image: np.ndarray) -> np.ndarray:
    """Scale for display: float32 in [0, 1] (/ 255 unless floats all <= 1), one channel dropped.

    Examples
    --------
    >>> display_image(np.full((2, 2, 1), 255, np.uint8)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    array = np.asarray(image, dtype=np.float32)
    if np.issubdtype(np.asarray(image).dtype, np.integer) or (array.size and array.max() > 1.0):
        array = array / 255.0
    array = np.clip(array, 0.0, 1.0)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return array


def normalize_map(feature_map: np.ndarray) -> np.ndarray:
    """Min-max scale one activation map to [0, 1] (a constant map becomes 0).

    Examples
    --------
    >>> normalize_map(np.array([[-2.0, 0.0], [2.0, 2.0]])).tolist()
    [[0.0, 0.5], [1.0, 1.0]]
    """
    array = np.asarray(feature_map, dtype=np.float32)
    low, high = float(array.min()), float(array.max())
    if high - low < 1e-12:
        return np.zeros_like(array)
    return (array - low) / (high - low)


def png_bytes(image: np.ndarray | Figure, *, dpi: int = 100) -> bytes:
    """PNG bytes of a Figure, or of an image ``(H, W[, C])`` scaled by :func:`display_image`.

    Examples
    --------
    >>> png_bytes(np.zeros((2, 2), np.uint8))[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    if isinstance(image, Figure):
        image.savefig(buffer, format="png", dpi=dpi)
    else:
        array = np.round(display_image(image) * 255).astype(np.uint8)
        Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def img_tag(image: np.ndarray, *, height: int = 48, title: str = "") -> str:
    """An ``<img>`` tag showing ``image`` (a PNG data URI) enlarged without smoothing.

    Examples
    --------
    >>> img_tag(np.zeros((2, 2), np.uint8), height=20).split('"')[1][:22]
    'data:image/png;base64,'
    """
    alt = html.escape(title)
    uri = "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
    return (
        f'<img src="{uri}" alt="{alt}" title="{alt}" '
        f'style="height:{height}px;image-rendering:pixelated;margin:1px">'
    )


def fresh_figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """``fig`` cleared for a new drawing, or a new constrained-layout Figure of ``size``.

    Raises TypeError when ``fig`` is neither None nor a matplotlib Figure.

    Examples
    --------
    >>> fresh_figure(None, (4, 3)).get_size_inches().tolist()
    [4.0, 3.0]
    """
    if fig is None:
        return Figure(figsize=size, layout="constrained")
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or None; got {describe(fig)}")
    fig.clear()
    return fig
