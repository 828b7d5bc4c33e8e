"""Feature-space pictures: animated 2-D features over training, several objectives side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from ..regions import feature_extent
from ..runtime import to_numpy
from .inputs import figure_mapping, figure_values
from .style import (
    distinct_labels,
    OBJECTIVE_LABELS,
    animate,
    class_color,
    class_count,
    fit_layout,
    plot_array,
)

if TYPE_CHECKING:
    import torch

    from ..regions import Regions
    from ..train import History

__all__ = ["feature_animation", "feature_panels", "feature_figure"]


def _label(name: str) -> str:
    return OBJECTIVE_LABELS.get(name, name)


def _region_trace(
    labels: torch.Tensor | np.ndarray, extent: Sequence[float], num_classes: int
) -> go.Heatmap:
    x_min, x_max, y_min, y_max = extent
    resolution = labels.shape[-1]
    # Every class the regions predict gets its colour, also one the points drawn over them lack
    # (a class above the scale's top would take the top class's colour).
    num_classes = max(num_classes, int(labels.max()) + 1)
    # A discrete colour scale: class k fills [k, k+1) / L with its own pale colour.
    scale = []
    for k in range(num_classes):
        scale += [[k / num_classes, class_color(k)], [(k + 1) / num_classes, class_color(k)]]
    return go.Heatmap(
        z=np.asarray(labels, dtype=np.uint8),
        x0=x_min,
        dx=(x_max - x_min) / (resolution - 1),
        y0=y_min,
        dy=(y_max - y_min) / (resolution - 1),
        zmin=0,
        zmax=num_classes,
        colorscale=scale,
        opacity=0.18,
        showscale=False,
        hoverinfo="skip",
    )


def _class_traces(
    points: npt.ArrayLike,
    labels: npt.ArrayLike,
    num_classes: int,
    first_panel: bool,
    *,
    size: float = 5,
    opacity: float = 0.75,
) -> list[go.Scatter]:
    """Return one marker trace per class k < ``num_classes``: the ``points`` (N, 2) labelled k.

    In class k's colour, one legend entry per class (shown with ``first_panel``) for every panel.
    """
    xy, labels = plot_array(points), to_numpy(labels)
    return [
        go.Scatter(
            x=xy[labels == k, 0],
            y=xy[labels == k, 1],
            mode="markers",
            name=f"class {k}",
            legendgroup=f"class {k}",
            showlegend=first_panel,
            marker=dict(size=size, color=class_color(k), opacity=opacity),
        )
        for k in range(num_classes)
    ]


def _panel_traces(
    z: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    centers: torch.Tensor | None,
    regions: torch.Tensor | None,
    extent: Sequence[float] | None,
    first_panel: bool,
) -> list[go.Heatmap | go.Scatter]:
    traces: list[go.Heatmap | go.Scatter] = []
    if regions is not None:
        assert extent is not None  # the regions' extent comes with them
        traces.append(_region_trace(regions, extent, num_classes))
    traces += _class_traces(z, y, num_classes, first_panel)
    if centers is not None:
        traces.append(_centers_trace(centers, first_panel))
    return traces


def _centers_trace(centers: npt.ArrayLike, show_legend: bool = True) -> go.Scatter:
    """Return the (L, 2) class centers as black crosses, one legend entry "centers"."""
    mu = plot_array(centers)
    return go.Scatter(
        x=mu[:, 0],
        y=mu[:, 1],
        mode="markers",
        name="centers",
        legendgroup="centers",
        showlegend=show_legend,
        marker=dict(symbol="x-thin", size=14, line=dict(width=3, color="black")),
    )


def _check_history(name: str, history: History) -> None:
    """Raise naming the run unless its history has finite features of labelled probe points."""
    if history.features is None or history.probe_y is None:
        raise ValueError(f"histories[{name!r}] recorded no probe features (record_every=0?)")
    # the error's index is the snapshot
    figure_values(f"histories[{name!r}].features", history.features)
    checks.labels(f"histories[{name!r}].probe_y", history.probe_y, history.features.shape[1])
    class_count(f"histories[{name!r}].probe_y", history.probe_y)
    if history.centers is not None:
        figure_values(f"histories[{name!r}].centers", history.centers)


def _centers_at(history: History, frame: int) -> torch.Tensor | None:
    """Return the centers shown in ``frame``.

    Moving ones (center loss, L-GM) come from that frame's head state.
    """
    state = history.head_states[frame] if history.head_states else {}
    for key in ("class_centers", "means", "mm_centers"):
        if key in state:
            return state[key]
    return history.centers


def feature_animation(
    histories: dict,
    *,
    title: str | None = None,
    columns: int | None = None,
    duration_ms: int = 0,
    active: int = -1,
) -> go.Figure:
    """Animate the 2-D probe features of several training runs side by side, synchronized.

    Decision regions are not animated: plotly.js does not redraw heatmaps that change between
    frames. Draw them for one snapshot with :func:`feature_panels`.

    Parameters
    ----------
    histories : dict
        Name -> :class:`robviz.train.History` with 2-D features, all with the same snapshot steps.
    title : str or None
        Figure title.
    columns : int or None
        Panels per row (default: up to 3).
    duration_ms : int
        Least time per frame when playing (at least 0.3 s, and 6 s in all; see
        :func:`robviz.viz.style.frame_duration`).
    active : int, default -1
        The frame shown on opening, where the slider starts: the last (the trained state) by
        default; Play runs from the first frame.

    Returns
    -------
    go.Figure
        A plotly Figure with a play button and a step slider; every panel keeps fixed axes.

    Raises
    ------
    ValueError
        No history, histories with different snapshot steps or features that are not 2-D, or a
        history without probe features or with an empty probe set, NaN or infinite features
        (a diverged run; naming the run and the snapshot) or labels that do not fit them.
    """
    columns = checks.integer("columns", columns, low=1, allow_none=True)
    names = figure_mapping("histories", histories)
    distinct_labels("histories", names)
    steps = histories[names[0]].step
    for name in names:
        h = histories[name]
        _check_history(name, h)
        if h.step != steps:
            raise ValueError(
                f"histories must share snapshot steps to animate together; {name!r} differs"
            )
        if h.features.shape[-1] != 2:
            raise ValueError(
                f"{name!r} has {h.features.shape[-1]}-D features; animate 2-D features only "
                "(or embed them first with robviz.embed)"
            )
    fig, columns = _panels(names, columns)

    def frame_traces(frame: int) -> list[go.Heatmap | go.Scatter]:
        traces = []
        for p, name in enumerate(names):
            h = histories[name]
            traces += _panel_traces(
                h.features[frame],
                h.probe_y,
                int(h.probe_y.max()) + 1,
                _centers_at(h, frame),
                None,
                None,
                p == 0,
            )
        return traces

    first = frame_traces(0)
    panel_of = _panel_index(names, histories, first)
    for trace, p in zip(first, panel_of):
        fig.add_trace(trace, row=p // columns + 1, col=p % columns + 1)
    animate(
        fig,
        [frame_traces(f) for f in range(len(steps))],
        steps,
        traces=range(len(first)),
        duration_ms=duration_ms,
        active=active,
    )
    for p, name in enumerate(names):
        h = histories[name]
        plane_axes(
            fig,
            p,
            feature_extent(h.features, centers=h.centers),
            x_title=p + columns >= len(names),
            cover=[_centers_at(h, f) for f in range(len(steps))],
        )
    return fit_layout(
        fig,
        height=_panel_height(names, columns),
        legend_rows="auto",
        subplot_titles=True,
        slider=True,
        title=title or "Features of the probe set during training",
    )


def feature_panels(
    histories: dict,
    regions: dict,
    *,
    frame: int = -1,
    title: str | None = None,
    columns: int | None = None,
) -> go.Figure:
    """Several runs side by side at one snapshot (default: the last).

    Features, class centers and the head's decision regions.

    Parameters
    ----------
    histories : dict
        Maps a run's name to its :class:`robviz.train.History` (2-D features), one panel each.
    regions : dict
        Maps the same names to :class:`robviz.regions.Regions` from
        ``robviz.regions.feature_regions``: one (R, R) frame, or one per snapshot (T, R, R).
    frame : int, default -1
        The snapshot drawn (an index into each history's snapshots; -1 is the last).
    title : str, optional
        The figure's title; by default it names the step of the snapshot.
    columns : int, optional
        Panels per row; by default as many runs as there are, up to 3.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        When ``histories`` is empty, a run has no regions, or a history has no probe features, an
        empty probe set, NaN or infinite features (a diverged run; naming the run and the
        snapshot) or labels that do not fit them.
    """
    columns = checks.integer("columns", columns, low=1, allow_none=True)
    names = figure_mapping("histories", histories)
    distinct_labels("histories", names)
    figure_mapping("regions", regions)
    for name in names:
        _check_history(name, histories[name])
        if name not in regions:
            raise ValueError(f"regions has no entry for {name!r}: it has {list(regions)}")
        class_count(f"regions[{name!r}].labels", regions[name].labels)
    fig, columns = _panels(names, columns)
    for p, name in enumerate(names):
        h, reg = histories[name], regions[name]
        labels = reg.labels[frame] if reg.labels.dim() == 3 else reg.labels
        for trace in _panel_traces(
            h.features[frame],
            h.probe_y,
            int(h.probe_y.max()) + 1,
            _centers_at(h, frame),
            labels,
            reg.extent,
            p == 0,
        ):
            fig.add_trace(trace, row=p // columns + 1, col=p % columns + 1)
        plane_axes(
            fig,
            p,
            reg.extent,
            x_title=p + columns >= len(names),
            cover=[h.features[frame], _centers_at(h, frame)],
        )
    step = histories[names[0]].step[frame]
    return fit_layout(
        fig,
        height=_panel_height(names, columns),
        legend_rows="auto",
        subplot_titles=True,
        title=title or f"Features and decision regions at step {step}",
    )


def _panel_height(names: Sequence[str], columns: int) -> int:
    """Return the plot-area height of a grid of square-ish feature panels: 300 px per row.

    A panel is then ~280 px wide in a 934 px column.
    """
    rows = math.ceil(len(names) / columns)
    return 300 * rows + 50 * (rows - 1)


def _panels(names: Sequence[str], columns: int | None) -> tuple[go.Figure, int]:
    """Return the grid of panels for the runs ``names`` (checked non-empty by the caller).

    Also the panels per row: ``columns``, by default as many as runs, up to 3.
    """
    columns = columns or min(3, len(names))
    rows = math.ceil(len(names) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_label(n) for n in names],
        horizontal_spacing=0.07,
        vertical_spacing=min(0.3, 90 / _panel_height(names, columns)) if rows > 1 else 0.1,
    )
    return fig, columns


def _panel_index(names: Sequence[str], histories: dict, traces: Sequence[object]) -> list[int]:
    """Return the panel each trace of a frame belongs to.

    Panels have L class traces, plus one for centers.
    """
    index = []
    for p, name in enumerate(names):
        h = histories[name]
        count = int(h.probe_y.max()) + 1 + (0 if _centers_at(h, 0) is None else 1)
        index += [p] * count
    assert len(index) == len(traces)
    return index


def plane_axes(
    fig: go.Figure,
    p: int,
    extent: Sequence[float],
    x_title: bool = True,
    *,
    cover: Sequence[npt.ArrayLike | None] = (),
    names: tuple[str, str] = ("z₁", "z₂"),
) -> None:
    """Fix panel ``p``'s axes to ``extent`` = (x_min, x_max, y_min, y_max), at equal scale.

    The axes are labelled ``names`` (z₁ and z₂). A point of ``cover`` outside ``extent`` widens
    the axes to hold it (with a margin of 5% of the extent): a fixed range never cuts off data.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A figure of subplots; changed in place.
    p : int
        The panel's 0-based index, in row-major order.
    extent : tuple of 4 floats
        (x_min, x_max, y_min, y_max), in feature units.
    x_title : bool, default True
        False leaves the x axis untitled: in a grid only the lowest panel of a column carries it
        (an x title between two rows would sit on the lower panel's title when the grid is
        shrunk to fit a laptop).
    cover : sequence of array-like or None
        The panel's drawn points, each (..., 2) (None entries are skipped): the axes hold them all.
    names : tuple of 2 str, default ("z₁", "z₂")
        The axes' titles (("x₁", "x₂") for the input plane).
    """
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    drawn = [to_numpy(c, np.float64).reshape(-1, 2) for c in cover if c is not None]
    xy = np.concatenate(drawn) if drawn else np.zeros((0, 2))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy):
        margin = 0.05 * max(x_max - x_min, y_max - y_min)
        (low_x, low_y), (high_x, high_y) = xy.min(axis=0), xy.max(axis=0)
        x_min = x_min if low_x >= x_min else float(low_x) - margin
        y_min = y_min if low_y >= y_min else float(low_y) - margin
        x_max = x_max if high_x <= x_max else float(high_x) + margin
        y_max = y_max if high_y <= y_max else float(high_y) + margin
    axis = p + 1 if p else ""
    # Both axes keep their range and give up panel room instead: with only x constrained, a panel
    # taller than wide stretched its y range past the extent (empty bands above and below). A
    # shrunk panel stays under its subplot title.
    fig.layout[f"xaxis{axis}"].update(
        range=[x_min, x_max], title=names[0] if x_title else None, constrain="domain"
    )
    fig.layout[f"yaxis{axis}"].update(
        range=[y_min, y_max],
        title=names[1],
        scaleanchor=f"x{axis}",
        constrain="domain",
        constraintoward="top",
    )


def feature_figure(
    z: torch.Tensor,
    y: torch.Tensor,
    *,
    centers: torch.Tensor | None = None,
    regions: Regions | None = None,
    title: str = "Features",
) -> go.Figure:
    """One static 2-D feature scatter (N, 2) coloured by label (N,).

    With optional centers (L, 2) and :class:`robviz.regions.Regions` (a single (R, R) frame)
    underneath.

    Parameters
    ----------
    z : torch.Tensor, (N, 2)
        The features.
    y : torch.Tensor, (N,)
        Integer labels; the number of classes is ``y.max() + 1``.
    centers : torch.Tensor, (L, 2), optional
        The class centers, drawn as markers.
    regions : robviz.regions.Regions, optional
        The decision regions drawn underneath: its (R, R) labels, or the last frame of (T, R, R)
        labels; the axes then span its extent, widened where a feature or a center lies outside.
    title : str, default "Features"
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        When the features are not (N, 2), empty (N = 0) or not finite (naming the sample index),
        ``y`` is not one integer class per feature, or the centers are not (L, 2) or have a NaN
        or infinite coordinate.
    """
    if len(np.shape(z)) != 2 or np.shape(z)[-1] != 2:  # a tensor or an array
        raise ValueError(f"feature_figure draws 2-D features (N, 2), got shape {np.shape(z)}")
    figure_values("z", z)
    y = checks.labels("y", y, len(z))
    if centers is not None and figure_values("centers", centers).shape[1:] != (2,):
        # (L, 3) centers were drawn by their first two coordinates, as if they were features
        raise ValueError(f"centers must be (L, 2), as the features, got {tuple(np.shape(centers))}")
    num_classes = class_count("y", y)
    labels = (
        None
        if regions is None
        else (regions.labels[-1] if regions.labels.dim() == 3 else regions.labels)
    )
    if labels is not None:
        class_count("regions.labels", labels)
    traces = _panel_traces(
        z, y, num_classes, centers, labels, None if regions is None else regions.extent, True
    )
    fig = go.Figure(traces)
    fig.update_layout(
        xaxis=dict(title="z₁", constrain="domain"), yaxis=dict(title="z₂", scaleanchor="x")
    )
    if regions is not None:
        plane_axes(fig, 0, regions.extent, cover=[z, centers])
    return fit_layout(fig, height=380, width=560, title=title, legend_rows="auto")
