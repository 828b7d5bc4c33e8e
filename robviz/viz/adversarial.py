"""Adversarial training in pictures.

The exact decision boundary over training beside the data, and accuracy lines (robust accuracy over
training, the clean/robust trade-off over the training radius, train vs test).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy.typing as npt
import plotly.graph_objects as go

from .. import checks
from ..runtime import to_numpy
from .exact import boundary_trace
from .features import _class_traces, _label, _panel_height, _panels, plane_axes
from .inputs import figure_mapping, figure_series, figure_values
from .style import animate, distinct_labels, fit_layout, plot_array, series_colors, series_dash

__all__ = ["boundary_animation", "accuracy_lines"]


def boundary_animation(
    boundaries: dict,
    steps: Iterable[int],
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    extent: Sequence[float],
    title: str | None = None,
    columns: int | None = None,
    duration_ms: int = 0,
    active: int = -1,
) -> go.Figure:
    """Return the exact decision boundaries of several training runs over training, side by side.

    They are drawn over the data.

    Parameters
    ----------
    boundaries : dict
        ``{run name: per snapshot the (B_s, 2, 2) boundary segments}``
        (``ExactOverTraining.segments`` from :func:`robviz.adversarial.exact_over_training`), all
        with one entry per step.
    steps : sequence of int
        (S,) the snapshot steps, the frames' names.
    x, y
        The points drawn in every panel, (N, 2) and (N,) (e.g. the test set). A snapshot's boundary
        may have no segment (no boundary in ``extent``).
    extent : tuple of float
        (x_min, x_max, y_min, y_max) of every panel, widened where a point lies outside.
    title : str or None
        The figure title.
    columns : int or None
        Panels per row (default up to 3).
    duration_ms : int
        Least time per frame.
    active : int, default -1
        The frame shown on opening, where the slider starts: the last (the trained state) by
        default; Play runs from the first frame.

    Returns
    -------
    go.Figure
        A plotly Figure with Play and a step slider; the points stay, the black boundary lines move.

    Raises
    ------
    ValueError
        No runs, no steps, a run with another number of snapshots than ``steps``, no points or
        points not (N, 2), labels that are not one integer class per point, segments not
        (B, 2, 2), or a NaN or infinite point or boundary coordinate (naming the run and the
        snapshot).
    """
    columns = checks.integer("columns", columns, low=1, allow_none=True)
    names = figure_mapping("boundaries", boundaries)
    steps = [int(s) for s in figure_series("steps", steps)]
    points = figure_values("x", x)
    if points.ndim != 2 or points.shape[1] != 2:  # (N, 3) was drawn by its first two columns
        raise ValueError(f"x must be points of the plane, (N, 2), got shape {points.shape}")
    labels = checks.labels("y", to_numpy(y), len(points)).numpy()
    for name in names:
        for f, segments in enumerate(boundaries[name]):
            where = f"boundaries[{name!r}][{f}]"
            shape = figure_values(where, segments, allow_empty=True).shape
            if len(shape) != 3 or shape[1:] != (2, 2):
                raise ValueError(f"{where} must be (B, 2, 2) segments, got shape {shape}")
    for name in names:
        if len(boundaries[name]) != len(steps):
            raise ValueError(
                f"{name!r} has {len(boundaries[name])} boundaries for {len(steps)} steps"
            )
    fig, columns = _panels(names, columns)
    points = plot_array(points)
    num_classes = int(labels.max()) + 1
    lines = []
    for p, name in enumerate(names):
        row, col = p // columns + 1, p % columns + 1
        for trace in _class_traces(points, labels, num_classes, p == 0, opacity=0.8):
            fig.add_trace(trace, row=row, col=col)
        fig.add_trace(boundary_trace(boundaries[name][0], name="exact boundary"), row=row, col=col)
        fig.data[-1].update(showlegend=p == 0, legendgroup="boundary")
        lines.append(len(fig.data) - 1)
        plane_axes(fig, p, extent, cover=[points], names=("x₁", "x₂"))
    frames = [
        [boundary_trace(boundaries[name][f], name="exact boundary") for name in names]
        for f in range(len(steps))
    ]
    for frame in frames:
        for p, trace in enumerate(frame):
            trace.update(showlegend=p == 0, legendgroup="boundary")
    animate(fig, frames, steps, traces=lines, duration_ms=duration_ms, active=active)
    return fit_layout(
        fig,
        height=_panel_height(names, columns),
        legend_rows="auto",
        subplot_titles=True,
        slider=True,
        title=title or "The exact decision boundary during training",
    )


def accuracy_lines(
    x: Iterable[float],
    series: dict,
    *,
    x_title: str,
    title: str,
    dashed: Sequence[str] = (),
    markers: bool = True,
    zoom: bool = False,
) -> go.Figure:
    """Plot accuracies against one variable, one line per series.

    Accuracies are fractions in [0, 1], drawn in percent, on an axis from 0 to 100 % unless
    ``zoom``.

    Parameters
    ----------
    x : sequence of float
        (K,) the variable (optimizer steps, training radii).
    series : dict
        ``{name: (K,) accuracies}``; names of registered objectives get their labels.
    x_title, title : str
        The axis and figure titles.
    dashed : sequence of str
        Series drawn dashed (e.g. the test set beside the training set).
    markers : bool
        Draw a marker at every value.
    zoom : bool
        Fit the accuracy axis to the data, rounded out to multiples of 10 %, for curves that
        differ by a few points; the axis title says that it does not start at 0.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No series or no x value, a series whose length is not that of ``x``, a NaN or infinite
        x value or accuracy, or an accuracy outside [0, 1] (naming the series and the index).
    """
    markers = checks.flag("markers", markers)
    zoom = checks.flag("zoom", zoom)
    xs = figure_values("x", list(x)).tolist()
    for name in figure_mapping("series", series):
        figure_values(f"series[{name!r}]", series[name], within=(0, 1))
    fig = go.Figure()
    colors = series_colors(distinct_labels("series", series))
    for i, (name, values) in enumerate(series.items()):
        values = [100 * float(v) for v in values]
        if len(values) != len(xs):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(xs)} x values")
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=values,
                mode="lines+markers" if markers else "lines",
                name=_label(name),
                line=dict(
                    color=colors[i],
                    width=2.5,
                    dash="dash" if name in dashed else series_dash(_label(name)),
                ),
            )
        )
    low, high = 0.0, 100.0
    if zoom:
        drawn = [100 * float(v) for values in series.values() for v in values]
        low = max(0.0, 10 * math.floor(min(drawn) / 10))
        high = min(100.0, 10 * math.ceil(max(drawn) / 10))
        if high - low < 10:  # at least a 10-point window
            low, high = (90.0, 100.0) if high == 100 else (low, low + 10)
    fig.update_layout(
        xaxis_title=x_title,
        yaxis_title="accuracy (%)" if low == 0 else f"accuracy (%, axis from {low:g})",
        yaxis_range=[low - 0.03 * (high - low), high + 0.03 * (high - low)],
    )
    return fit_layout(fig, height=320, legend_rows="auto", title=title)
