"""One look for every figure: colour-blind-safe palettes, a plotly template, a layout that fits.

Every builder finishes its figure with :func:`fit_layout`: no fixed width (the figure takes the
width of the notebook column, 934 px on a 1366 px laptop, and follows it when the window changes),
the title in a band at the top, the legend in its own band under the title (never over a subplot
title or an axis), and the animation controls in a band under the x-axis titles. Every animation is
built by :func:`animate`, which shows the frame its slider names and plays at a pace a student can
follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import plotly.io as pio

from .. import checks
from ..objectives import OBJECTIVES
from ..runtime import to_numpy

__all__ = [
    "CLASS_COLORS",
    "SERIES_COLORS",
    "TEMPLATE",
    "class_color",
    "class_count",
    "distinct_labels",
    "series_color",
    "NAMED_COLORS",
    "named_color",
    "series_colors",
    "series_dash",
    "math_text",
    "OBJECTIVE_LABELS",
    "fit_layout",
    "legend_row_count",
    "animation_controls",
    "animate",
    "frame_duration",
    "MAX_WIDTH",
    "MAX_PLAY_HEIGHT",
    "MAX_HEIGHT",
    "plot_array",
    "INK",
]

# Paul Tol's "muted" scheme (distinguishable with the common colour-vision deficiencies), for
# classes. Its pale sand comes ninth, so that figures with up to eight classes never draw a class in
# a colour too light for white.
CLASS_COLORS = [
    "#332288",
    "#CC6677",
    "#117733",
    "#882255",
    "#88CCEE",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#DDCC77",
    "#777777",
]
# Okabe and Ito's palette without yellow (too pale on white), for lines of different methods.
SERIES_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

OBJECTIVE_LABELS = {name: head.label for name, head in OBJECTIVES.items()}

#: One colour per model and per instrument, the same in every figure of every lesson (a name not
#: here takes a cycle colour that the named series of its figure leave free, see
#: :func:`series_colors`). Objectives and instruments rarely share a figure, so they share hues.
NAMED_COLORS = {
    # objectives (adversarially trained variants keep their objective's colour, dashed)
    "sce": "#0072B2",
    "mmc": "#D55E00",
    "center": "#009E73",
    "lgm": "#CC79A7",
    "mmlda": "#E69F00",
    "rce": "#56B4E9",
    # instruments: the truth, certified bounds, attacks
    "exact": "#000000",
    "ibp": "#56B4E9",
    "crown": "#009E73",
    "pgd": "#E69F00",
    "auto_attack": "#CC79A7",
    "apgd": "#CC79A7",
}
# other spellings of the names above (labels of the objectives, common variants)
_ALIASES = {
    **{label.lower(): name for name, label in OBJECTIVE_LABELS.items()},
    "ce": "sce",
    "softmax": "sce",
    "center loss": "center",
    "l-gm": "lgm",
    "autoattack": "auto_attack",
    "auto-attack": "auto_attack",
    # TRADES (Zhang et al. 2019) regularizes the softmax cross-entropy
    "trades": "sce",
}
# a name's first word, and a suffix that names a variant or a step count (SCE-AT, PGD-10)
_FIRST_WORD = re.compile(r"[\s:·(,]+")
_SUFFIX = re.compile(r"-(at|trades|\d+)$")

#: The widest a figure with a fixed width may be: the output column of JupyterLab on a 1366 x 768
#: laptop is 934 px.
MAX_WIDTH = 900
#: The tallest a figure with Play controls may be: the notebook area of that laptop (file browser
#: open) is 647 px tall, and the controls must be in view with the plot, so :func:`fit_layout`
#: shrinks the plot area to fit.
MAX_PLAY_HEIGHT = 640
#: The tallest a figure without Play controls may be: on that laptop a taller one cannot be seen
#: whole (its title or its x axis scrolls away), so :func:`fit_layout` shrinks its plot area too.
MAX_HEIGHT = 600
_MIN_PLOT_HEIGHT = (
    200  # below this a plot is unreadable: a figure with that much furniture may exceed the cap
)
# Bands of the layout, in pixels.
_TITLE_BAND = 46  # the title (one line)
_SUBTITLE_BAND = 22  # a second title line (a subtitle)
_LEGEND_ROW = 24  # one row of a horizontal legend
_SUBPLOT_TITLE_BAND = 26  # subplot titles sit just above their panels
_AXIS_BAND = 58  # x tick labels and the x-axis title
_SLIDER_BAND = 104  # the play button and the slider with its current value and step labels
# Animations: at least this long per frame, and at least this long in all, so that a student can
# follow.
MIN_FRAME_MS = 300
MIN_ANIMATION_MS = 6000


# dark grey for marks that are neither a class nor a series: reference lines, centers, outlines
INK = "#333333"


def class_color(k: int, *, cycle: bool = False) -> str:
    """Colour of class ``k``: one of the ``len(CLASS_COLORS)`` (10) distinct class colours.

    Parameters
    ----------
    k : int
        The class index.
    cycle : bool
        Let classes past the palette take the colours again (class 10 class 0's): only for marks
        that carry their class in writing too, as the labelled centers of ``robviz.viz.theory``.

    Returns
    -------
    str
        A hex colour from ``CLASS_COLORS``.

    Raises
    ------
    ValueError
        ``k`` < 0: no class (``robviz.runtime.predict`` gives -1 for non-finite logits), which
        the cycle would otherwise paint in the last class's colour; ``k`` >= 10 without ``cycle``:
        it would be drawn in the colour of class ``k - 10`` (:func:`class_count` names the
        argument with the classes).
    """
    cycle = checks.flag("cycle", cycle)
    k = checks.integer("k", k)
    if k < 0:
        raise ValueError(
            f"k = {k} is no class index; -1 marks a prediction from non-finite logits "
            "(robviz.runtime.predict): draw it apart"
        )
    if k >= len(CLASS_COLORS) and not cycle:
        raise ValueError(
            f"class {k} has no colour of its own: the class palette has {len(CLASS_COLORS)} "
            f"colours, and class {k} would look like class {k % len(CLASS_COLORS)}"
        )
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def class_count(name: str, labels: npt.ArrayLike) -> int:
    """Return the number of classes a figure colours, ``max(labels) + 1``, or raise naming ``name``.

    The check of every builder that colours points by class: past the 10 colours of
    ``CLASS_COLORS`` two classes would share one, and the figure would show them as one class.

    Parameters
    ----------
    name : str
        The argument holding the labels, for the error.
    labels : array-like of int
        Class indices (-1, a prediction from non-finite logits, allowed: drawn apart).

    Returns
    -------
    int
        The number of classes coloured (at least 1).

    Raises
    ------
    ValueError
        A label >= ``len(CLASS_COLORS)``.
    """
    values = to_numpy(labels)
    count = int(values.max()) + 1 if values.size else 1
    if count > len(CLASS_COLORS):
        raise ValueError(
            f"{name} holds class {count - 1}, but the class palette has {len(CLASS_COLORS)} "
            f"distinct colours: classes k and k + {len(CLASS_COLORS)} would look alike; draw at "
            f"most {len(CLASS_COLORS)} classes (select the points of classes 0 to "
            f"{len(CLASS_COLORS) - 1})"
        )
    return max(count, 1)


def distinct_labels(name: str, keys: Iterable[object], labels: dict | None = None) -> list[str]:
    """Return the label each key of ``name`` is drawn under, or raise when two keys share one.

    Keys are relabelled for the figure (``"sce"`` -> ``"SCE"`` by :data:`OBJECTIVE_LABELS`); two
    keys with one label (``"sce"`` and ``"SCE"``) would be two series drawn in one colour under one
    legend entry, read as one.

    Parameters
    ----------
    name : str
        The argument whose keys these are, for the error.
    keys : iterable
        The keys, in drawing order.
    labels : dict or None
        Key -> label; None: :data:`OBJECTIVE_LABELS`. A key not in it is its own label (``str``).

    Returns
    -------
    list of str
        One label per key, in order.

    Raises
    ------
    ValueError
        Two keys with the same label, naming both.
    """
    labels = OBJECTIVE_LABELS if labels is None else labels
    drawn: dict[str, object] = {}
    out = []
    for key in keys:
        label = str(labels.get(key, key)) if isinstance(key, str) else str(key)
        if label in drawn:
            raise ValueError(
                f"{name} has the keys {drawn[label]!r} and {key!r}, both drawn as {label!r}: two "
                "series would look like one; rename one of them"
            )
        drawn[label] = key
        out.append(label)
    return out


def series_color(i: int) -> str:
    """Return the colour of series ``i``, cycling through ``SERIES_COLORS``.

    Parameters
    ----------
    i : int
        The series index.

    Returns
    -------
    str
        A hex colour from ``SERIES_COLORS``.
    """
    return SERIES_COLORS[i % len(SERIES_COLORS)]


def _named_key(name: str) -> str | None:
    """Return the key of :data:`NAMED_COLORS` that ``name`` denotes, or None.

    The whole name first ("Center loss", "auto_attack"), then its first word without a variant or
    step suffix ("SCE-AT", "MMC: PGD-10" names MMC, "PGD-10" names PGD, "SCE C&W" names SCE).
    """
    whole = str(name).strip().lower()
    for candidate in (whole, _FIRST_WORD.split(whole)[0]):
        for key in (candidate, _SUFFIX.sub("", candidate)):
            key = _ALIASES.get(key, key)
            if key in NAMED_COLORS:
                return key
    return None


def named_color(name: str) -> str | None:
    """Return the fixed colour of a model or instrument, or None for a name without one.

    Parameters
    ----------
    name : str
        A series name: an objective's key or label ("mmc", "Center loss"), a variant ("SCE-AT",
        "MMC (TRADES)"), an instrument ("exact", "IBP", "CROWN", "PGD-10", "auto_attack"), or a
        name starting with one of them ("SCE C&W", "MMC · full batch").

    Returns
    -------
    str or None
        A hex colour from :data:`NAMED_COLORS`, None when the name denotes none of them.

    Examples
    --------
    >>> named_color("MMC-AT") == named_color("mmc") == NAMED_COLORS["mmc"]
    True
    >>> named_color("PGD-10") == NAMED_COLORS["pgd"], named_color("clean")
    (True, None)
    """
    key = _named_key(name)
    return None if key is None else NAMED_COLORS[key]


def series_colors(names: Iterable[str], colors: dict | None = None) -> list[str]:
    """Return one colour per series name: the fixed one where it has one, else a free cycle colour.

    Names without a fixed colour (given in ``colors``, else :func:`named_color`) take the colours
    of ``SERIES_COLORS`` in order, skipping those of ``colors`` and those the named series of the
    same figure use (the cycle restarts when all are used); the same name always gets the same
    colour.

    Parameters
    ----------
    names : iterable of str
        The series' names, in drawing order.
    colors : dict or None
        Colours chosen by the caller, ``{name: colour}``, ahead of :func:`named_color`: how a lesson
        gives a model without a named colour (an ensemble, a setting) one colour in every figure.

    Returns
    -------
    list of str
        One hex colour per name, in the same order.

    Examples
    --------
    >>> series_colors(["clean", "SCE", "exact"]) == ["#D55E00", "#0072B2", "#000000"]
    True
    """
    names = [str(name) for name in names]
    chosen = {str(name): color for name, color in (colors or {}).items()}
    fixed = {name: chosen.get(name) or named_color(name) for name in names}
    # a colour the caller gave is the lesson's for its model, even where the model is not drawn
    taken = {color for color in fixed.values() if color is not None} | set(chosen.values())
    free = [color for color in SERIES_COLORS if color not in taken] or list(SERIES_COLORS)
    unnamed: dict[str, str] = {}
    for name in names:
        if fixed[name] is None and name not in unnamed:
            unnamed[name] = free[len(unnamed) % len(free)]
    return [fixed[name] or unnamed[name] for name in names]


def series_dash(name: str) -> str | None:
    """Return the dash of a series: "dash" for adversarially trained variants, "dot" for TRADES.

    Parameters
    ----------
    name : str
        The series name ("SCE-AT", "MMC (PGD-AT)", "TRADES", "SCE").

    Returns
    -------
    str or None
        A plotly dash style, None (solid) for other names.

    Examples
    --------
    >>> series_dash("SCE-AT"), series_dash("TRADES"), series_dash("SCE")
    ('dash', 'dot', None)
    """
    words = str(name).lower()
    if "trades" in words:
        return "dot"
    return "dash" if re.search(r"(^|[-\s(])(pgd-)?at\b", words) else None


# a subscript written with an underscore after one letter or an acronym: σ_y, F_y, ADP_2,0.5 (not
# after a word: auto_attack stays)
_SUBSCRIPT = re.compile(
    r"(?<![\w<])([A-Za-zΑ-Ωα-ω]|[A-Z]{2,})_([0-9A-Za-zα-ω]+(?:[,.][0-9A-Za-zα-ω]+)*)"
)


# a power written with a caret: ℓ^((d-1)/2) (the outer brackets dropped), 10^-4, M^T
_SUPERSCRIPT = re.compile(r"\^(?:\(((?:[^()]|\([^()]*\))*)\)|([-−]?[0-9A-Za-zα-ω]+))")


def math_text(text: str) -> str:
    """Return ``text`` with its subscripts and powers set as such (plotly's ``<sub>``, ``<sup>``).

    :func:`fit_layout` applies it to every title, axis title, subplot title and legend entry, so
    a name like ``"ADP_2,0.5"``, ``"σ_y = 0.35"`` or ``"ℓ^((d-1)/2)"`` shows as mathematics, not
    code.

    Parameters
    ----------
    text : str
        A title or a series name.

    Returns
    -------
    str
        The text, an underscore after one letter or an acronym (two or more capitals) turned into a
        subscript; an underscore inside a word (``auto_attack``) is kept. A caret starts a power:
        the bracketed group after it (its outer brackets dropped) or the one word or number.

    Examples
    --------
    >>> math_text("trained ADP_2,0.5"), math_text("σ_y < σ"), math_text("auto_attack")
    ('trained ADP<sub>2,0.5</sub>', 'σ<sub>y</sub> < σ', 'auto_attack')
    >>> math_text("N p(ℓ) / ℓ^((d-1)/2)"), math_text("det(M M^T)")
    ('N p(ℓ) / ℓ<sup>(d-1)/2</sup>', 'det(M M<sup>T</sup>)')
    """
    if "_" in text:
        text = _SUBSCRIPT.sub(r"\1<sub>\2</sub>", text)
    if "^" in text:
        text = _SUPERSCRIPT.sub(lambda m: f"<sup>{m.group(1) or m.group(2)}</sup>", text)
    return text


def _set_math_text(fig: go.Figure) -> None:
    """Apply :func:`math_text` to the texts of ``fig`` that a reader sees as words."""
    traces = list(fig.data) + [trace for frame in fig.frames or () for trace in frame.data]
    for trace in traces:
        if isinstance(getattr(trace, "name", None), str):
            trace.name = math_text(trace.name)
    for annotation in fig.layout.annotations or ():
        if isinstance(annotation.text, str):
            annotation.text = math_text(annotation.text)
    for key in fig.layout:
        if key.startswith(("xaxis", "yaxis")) and isinstance(fig.layout[key].title.text, str):
            fig.layout[key].title.text = math_text(fig.layout[key].title.text)


def _power_ticks(fig: go.Figure) -> None:
    """Label the ticks of ``fig``'s log axes as powers of ten (10⁻⁴), never SI prefixes (100μ)."""
    for key in fig.layout:
        axis = fig.layout[key]
        if key.startswith(("xaxis", "yaxis")) and axis.type == "log" and not axis.exponentformat:
            axis.exponentformat = "power"


def plot_array(values: npt.ArrayLike) -> np.ndarray:
    """Return values for a trace (tensor, list or array) as float32 NumPy.

    It converts with :func:`robviz.runtime.to_numpy`.

    Plotly stores float32 arrays as compact typed arrays, so figures stay light.

    Parameters
    ----------
    values : torch.Tensor, numpy.ndarray or list
        The values, any shape; a tensor may be on any device and require gradients.

    Returns
    -------
    numpy.ndarray
        The values as float32, same shape.
    """
    return to_numpy(values, np.float32)


TEMPLATE = go.layout.Template(pio.templates["simple_white"])
TEMPLATE.layout.update(
    font=dict(family="Arial, Helvetica, sans-serif", size=13),
    title=dict(x=0.02, xanchor="left", font=dict(size=16)),
    margin=dict(l=60, r=20, t=70, b=50),
    colorway=SERIES_COLORS,
    legend=dict(bgcolor="rgba(255,255,255,0.8)"),
    autosize=True,
)
pio.templates["robviz"] = TEMPLATE


def legend_row_count(fig: go.Figure, width: int = 840) -> int:
    """Return the rows a horizontal legend of ``fig``'s named traces needs, ``width`` px wide.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure; heatmaps, contours, surfaces, tables, unnamed traces and traces with
        ``showlegend=False`` take no legend entry, and traces sharing a ``legendgroup`` take one.
    width : int, default 840
        The legend's width in pixels.

    Returns
    -------
    int
        The number of rows (an estimate from the names' lengths), 0 when no trace has an entry.
    """
    seen: set[str] = set()
    used, rows = 0.0, 1
    for trace in fig.data:
        if (
            trace.type in ("heatmap", "contour", "surface", "table")
            or trace.showlegend is False
            or not trace.name
        ):
            continue
        key = trace.legendgroup or trace.name
        if key in seen:
            continue
        seen.add(key)
        item = 44 + 7.2 * len(trace.name)
        if used and used + item > width:
            rows, used = rows + 1, 0
        used += item
    return rows if seen else 0


def fit_layout(
    fig: go.Figure,
    *,
    height: int,
    title: str | None = None,
    subtitle: str | None = None,
    legend_rows: int | str = 0,
    subplot_titles: bool = False,
    slider: bool = False,
    bottom: int | None = None,
    width: int | None = None,
    left: int = 60,
    right: int = 20,
    top_extra: int = 0,
) -> go.Figure:
    """Lay ``fig`` out in bands that cannot collide, and let it take the notebook column's width.

    From the top: the title (and an optional ``subtitle`` line, in a readable size), ``legend_rows``
    rows of a horizontal legend, the subplot titles, the panels (``height`` pixels of plot area),
    the x-axis band and, with ``slider``, the play button and the slider. The plot area shrinks
    (down to 200 px) so that the whole figure is at most :data:`MAX_HEIGHT` tall, or
    :data:`MAX_PLAY_HEIGHT` with ``slider``.

    Parameters
    ----------
    height : int
        The height of the plot area (the panels), in pixels; the bands are added to it, and it
        shrinks to keep the figure within :data:`MAX_HEIGHT` (:data:`MAX_PLAY_HEIGHT` with
        ``slider``).
    legend_rows : int or str
        Rows reserved for the legend (0: the legend stays where the figure put it; "auto": as many
        as its entries need, see :func:`legend_row_count`).
    subplot_titles : bool
        Reserve room for subplot titles above the panels.
    bottom : int or None
        The bottom band in pixels (default: one x-axis band).
    width : int or None
        A fixed width, only for figures that must stay small (at most :data:`MAX_WIDTH`); None
        follows the column.
    top_extra : int
        More room above the panels (e.g. for ternary corner titles above their panels).

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig`` itself, laid out.

    Raises
    ------
    ValueError
        A ``height`` not a finite number > 0 (a negative plot area gave a figure 99 px tall), or
        ``legend_rows`` neither ``"auto"`` nor an integer >= 0 (a negative count moved the title
        band up, under the legend).
    """
    subplot_titles = checks.flag("subplot_titles", subplot_titles)
    slider = checks.flag("slider", slider)
    checks.real("height", height, low=0, low_open=True)
    if legend_rows != "auto":
        legend_rows = checks.integer("legend_rows", legend_rows, low=0, note='or "auto"')
    rows = (
        legend_row_count(fig, 840 if width is None else min(int(width), MAX_WIDTH) - left - right)
        if legend_rows == "auto"
        else int(legend_rows)
    )
    top = _TITLE_BAND + (_SUBTITLE_BAND if subtitle else 0)
    legend_top = top
    top += (
        rows * _LEGEND_ROW
        + (_SUBPLOT_TITLE_BAND if subplot_titles else 0)
        + (8 if rows else 0)
        + top_extra
    )
    bottom = (_AXIS_BAND if bottom is None else bottom) + (_SLIDER_BAND if slider else 0)
    # the whole figure (with its Play controls) in view on a laptop
    cap = MAX_PLAY_HEIGHT if slider else MAX_HEIGHT
    height = min(height, max(cap - top - bottom, _MIN_PLOT_HEIGHT))
    total = height + top + bottom
    layout = dict(
        template="robviz",
        height=total,
        autosize=True,
        margin=dict(t=top, b=bottom, l=left, r=right),
    )
    text = math_text(title if title is not None else (fig.layout.title.text or ""))
    _set_math_text(fig)
    _power_ticks(fig)
    title_layout = dict(
        text=text, yref="container", y=1 - 12 / total, yanchor="top", x=0.02, xanchor="left"
    )
    if subtitle:
        title_layout["subtitle"] = dict(
            text=math_text(subtitle), font=dict(size=13, color="#444444")
        )
    layout["title"] = title_layout
    if rows:
        layout["legend"] = dict(
            orientation="h",
            yref="container",
            y=1 - (legend_top + 2) / total,
            yanchor="top",
            x=0,
            xanchor="left",
            bgcolor="rgba(0,0,0,0)",
            itemsizing="constant",
        )
    if width is not None:
        layout["width"] = min(int(width), MAX_WIDTH)
    else:
        layout["width"] = None
    fig.update_layout(**layout)
    return fig


def frame_duration(frames: int, duration_ms: int = 0) -> int:
    """Return the time per frame in ms.

    At least ``MIN_FRAME_MS`` and long enough for the whole animation to take ``MIN_ANIMATION_MS``.

    Parameters
    ----------
    frames : int
        The number of frames (0 counts as 1).
    duration_ms : int, default 0
        A lower bound on the time per frame, in ms.

    Returns
    -------
    int
        The time per frame, in ms.

    Raises
    ------
    ValueError
        ``frames`` not an integer >= 0.
    """
    frames = checks.integer("frames", frames, low=0)
    return int(max(duration_ms, MIN_FRAME_MS, MIN_ANIMATION_MS / max(frames, 1)))


def animation_controls(
    labels: Iterable[object], duration_ms: int = 0, prefix: str = "step ", active: int = 0
) -> dict:
    """Layout entries for a play/pause button and a slider over frames named by ``labels``.

    Placed in the band under the x-axis titles (see :func:`fit_layout` with ``slider=True``),
    starting on frame ``active``.

    Parameters
    ----------
    labels : iterable
        The frames' names, in order (converted with ``str``); each names a frame of the figure.
    duration_ms : int, default 0
        A lower bound on the time per frame, in ms (see :func:`frame_duration`).
    prefix : str, default "step "
        Shown before the current frame's label above the slider.
    active : int, default 0
        The frame the slider starts on; negative indices count from the end.

    Returns
    -------
    dict
        ``updatemenus`` (the play and pause buttons) and ``sliders``, for ``fig.update_layout``.

    Raises
    ------
    ValueError
        When ``active`` does not index one of the frames.
    """
    labels = [str(label) for label in labels]
    if not -len(labels) <= active < len(labels):
        raise ValueError(f"active must index one of the {len(labels)} frames, got {active}")
    active %= len(labels)
    duration = frame_duration(len(labels), duration_ms)
    play = dict(
        label="Play",
        method="animate",
        args=[
            None,
            dict(
                frame=dict(duration=duration, redraw=True),
                fromcurrent=True,
                transition=dict(duration=0),
            ),
        ],
    )
    pause = dict(
        label="Pause",
        method="animate",
        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
    )
    slider = dict(
        active=active,
        x=0.19,
        xanchor="left",
        len=0.81,
        y=0,
        yanchor="top",
        pad=dict(t=_AXIS_BAND + 8),
        currentvalue=dict(
            prefix=prefix, suffix="   (▶ Play, or drag the slider)", font=dict(size=13)
        ),
        steps=[
            dict(
                label=lab,
                method="animate",
                args=[
                    [lab],
                    dict(
                        mode="immediate",
                        frame=dict(duration=0, redraw=True),
                        transition=dict(duration=0),
                    ),
                ],
            )
            for lab in labels
        ],
    )
    return dict(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                xanchor="left",
                y=0,
                yanchor="top",
                pad=dict(t=_AXIS_BAND + 30, r=4),
                showactive=False,
                buttons=[play, pause],
            )
        ],
        sliders=[slider],
    )


def animate(
    fig: go.Figure,
    frames: list,
    labels: Iterable[object],
    *,
    traces: Sequence[int] | None = None,
    active: int = 0,
    duration_ms: int = 0,
    prefix: str = "step ",
    frame_layouts: Sequence[dict] | None = None,
) -> go.Figure:
    """Add ``frames`` to ``fig`` with the play button and the slider.

    ``frames`` is one list of traces per frame, named by ``labels``; frame ``active`` (the slider's)
    shows on opening.

    Parameters
    ----------
    frames : list
        Per frame, the traces that change, in the order of ``traces``.
    traces : sequence of int or None
        The indices in ``fig.data`` that the frames replace (default: the last ``len(frames[0])``).
    frame_layouts : sequence of dict or None
        Optional per-frame layout updates (e.g. a title that names the frame).

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig``, changed in place.

    Raises
    ------
    ValueError
        No frame, not one label per frame, two frames labelled alike (the slider would show the
        first for both), frames of another number of traces than ``traces``, or an ``active`` that
        indexes no frame.
    """
    # plotly finds a frame by its name: of two frames named alike, the slider shows the first twice
    labels = checks.unique_labels("the frame labels", labels)
    if len(frames) != len(labels) or not frames:
        raise ValueError(f"one label per frame: {len(frames)} frames, {len(labels)} labels")
    # the play button and the slider; also refuses an active that indexes no frame
    controls = animation_controls(labels, duration_ms, prefix, active)
    count = len(frames[0])
    if traces is None:
        traces = list(range(len(fig.data) - count, len(fig.data)))
    traces = list(traces)
    if len(traces) != count:
        raise ValueError(
            f"each frame has {count} traces but {len(traces)} trace indices were given"
        )
    active %= len(labels)
    # The figure opens on the slider's frame: its traces are that frame's.
    for index, trace in zip(traces, frames[active]):
        fig.data[index].update(
            trace.to_plotly_json() if hasattr(trace, "to_plotly_json") else trace
        )
    fig.frames = [
        go.Frame(
            data=data,
            name=label,
            traces=traces,
            layout=None if frame_layouts is None else frame_layouts[f],
        )
        for f, (data, label) in enumerate(zip(frames, labels))
    ]
    if frame_layouts is not None:
        fig.update_layout(frame_layouts[active])
    fig.update_layout(**controls)
    return fig
