"""Ensemble pictures: members' predictions, diversity, transferability and the ADP optimum.

Members' non-true-label predictions on the triangle (L = 4), diversity over training, the
transferability matrix and the Eq. 7 optimum of ADP against measured predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from ..runtime import percent_text, to_numpy
from .inputs import figure_fields, figure_mapping, figure_values
from .style import SERIES_COLORS, animate, fit_layout, plot_array, series_color, series_colors

__all__ = ["ternary_animation", "diversity_figure", "transferability_heatmap", "adp_optimum_figure"]


def _ternary_members(points: np.ndarray, panel: str, first_panel: bool) -> list[go.Scatterternary]:
    """Return one Scatterternary per member for points (K, P, 3) on the simplex."""
    return [
        go.Scatterternary(
            a=points[k, :, 0],
            b=points[k, :, 1],
            c=points[k, :, 2],
            mode="markers",
            subplot=panel,
            name=f"member {k + 1}",
            legendgroup=f"member {k + 1}",
            showlegend=first_panel,
            marker=dict(size=6, color=series_color(k), opacity=0.7),
            hovertemplate=f"member {k + 1}<br>(%{{a:.2f}}, %{{b:.2f}}, %{{c:.2f}})<extra></extra>",
        )
        for k in range(points.shape[0])
    ]


def _ternary_reference(reference: np.ndarray, panel: str, first_panel: bool) -> go.Scatterternary:
    """Return the reference marks as open rings, drawn under the members' points.

    That way they hide none of them.
    """
    return go.Scatterternary(
        a=reference[:, 0],
        b=reference[:, 1],
        c=reference[:, 2],
        mode="markers",
        subplot=panel,
        name="Corollary 1 optimum",
        legendgroup="reference",
        showlegend=first_panel,
        hoverinfo="skip",
        marker=dict(symbol="circle-open", size=16, color="black", line=dict(width=2)),
    )


def ternary_animation(
    points: dict,
    steps: Sequence[int],
    *,
    reference: npt.ArrayLike | None = None,
    title: str | None = None,
    axis_titles: Sequence[str] = ("label 1", "label 2", "label 3"),
    duration_ms: int = 0,
    active: int = -1,
) -> go.Figure:
    """Members' L1-normalized non-true-label predictions on the triangle, one panel per ensemble.

    Animated over the snapshots; it opens on the last.

    Parameters
    ----------
    points : dict
        ``{name: (S, K, P, 3)}`` (S snapshots, K members, P probe points; rows on the simplex), e.g.
        ``non_true_predictions(p, y, "l1")`` per snapshot. Every panel must have the same S.
    steps : sequence of int
        The S training steps (frame labels).
    reference : torch.Tensor or None
        Optional (R, 3) points drawn in every panel and frame (Corollary 1's vertices), as rings
        under the points.
    axis_titles : sequence of str
        What the three corners mean (the wrong labels in increasing order); keep them short, the
        corners of neighbouring panels are close.
    duration_ms : int
        Least time per frame when playing.
    active : int, default -1
        The frame shown on opening, where the slider starts: the last (the trained state) by
        default; Play runs from the first frame.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No ensemble, points that are not (S, K, P, 3) or are empty or NaN or infinite (naming the
        ensemble and the snapshot), a reference point that is not finite, or another number of
        snapshots than ``steps``.
    """
    names = figure_mapping("points", points)
    arrays = [plot_array(figure_values(f"points[{n!r}]", points[n])) for n in names]
    if any(a.ndim != 4 or a.shape[-1] != 3 for a in arrays):
        raise ValueError("points must map names to (S, K, P, 3) arrays")
    S = arrays[0].shape[0]
    if any(a.shape[0] != S for a in arrays) or len(steps) != S:
        raise ValueError(
            f"every panel needs {len(steps)} snapshots (one per step), got "
            f"{[a.shape[0] for a in arrays]}"
        )
    ref = None if reference is None else plot_array(figure_values("reference", reference))
    fig = make_subplots(
        rows=1,
        cols=len(names),
        specs=[[{"type": "ternary"}] * len(names)],
        subplot_titles=names,
        horizontal_spacing=0.1,
    )
    panels = ["ternary" if i == 0 else f"ternary{i + 1}" for i in range(len(names))]
    if ref is not None:
        for i, panel in enumerate(panels):
            fig.add_trace(_ternary_reference(ref, panel, i == 0))
    static = len(fig.data)

    def frame_traces(s: int) -> list[go.Scatterternary]:
        return [t for i, a in enumerate(arrays) for t in _ternary_members(a[s], panels[i], i == 0)]

    for trace in frame_traces(0):
        fig.add_trace(trace)
    animate(
        fig,
        [frame_traces(s) for s in range(S)],
        list(steps),
        traces=range(static, len(fig.data)),
        duration_ms=duration_ms,
        active=active,
    )
    # Corner titles only (tick labels would crowd the corners); the grid lines stay for reading
    # proportions.
    axis = dict(
        showticklabels=False,
        ticks="",
        showgrid=True,
        gridcolor="#e4e4e4",
        linecolor="#888888",
        title=dict(font=dict(size=12)),
    )
    for panel in panels:
        fig.layout[panel].update(
            aaxis=dict(axis, title=dict(text=axis_titles[0])),
            baxis=dict(axis, title=dict(text=axis_titles[1])),
            caxis=dict(axis, title=dict(text=axis_titles[2])),
            sum=1,
        )
    # Subplot titles go above the top corner's title, in a band of their own.
    for annotation in fig.layout.annotations:
        annotation.update(yshift=24)
    return fit_layout(
        fig,
        height=260,
        legend_rows="auto",
        subplot_titles=True,
        slider=True,
        bottom=30,
        top_extra=26,
        left=50,
        right=50,
        title=title or "Members' non-true-label predictions (normalized) over training",
    )


#: The fixed y axes of :func:`diversity_figure`'s panels.
_VOLUME_AXIS, _ANGLE_AXIS = (0.0, 1.02), (0.0, 92.0)


def diversity_figure(
    steps: npt.ArrayLike,
    diversity: dict,
    angles: dict,
    *,
    title: str | None = None,
    colors: dict | None = None,
) -> go.Figure:
    """Two panels over training.

    The mean ensemble diversity det(M M^T) and the mean pairwise angle between members'
    non-true-label predictions.

    Parameters
    ----------
    steps : array-like, (S,)
        The training steps.
    diversity : dict
        Maps a run's name to its mean diversity at each step, (S,), in [0, 1].
    angles : dict
        Maps the same names to the mean pairwise angle at each step, (S,), in degrees, in [0, 90].
    title : str, optional
        The figure's title; a default one when None.
    colors : dict or None
        ``{name: colour}`` for some runs, so that a run keeps its colour of the lesson's other
        figures (see :func:`robviz.viz.style.series_colors`); the others take free cycle colours.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No step or no run, a run without angles, a series of another length than ``steps``, a
        NaN or infinite step, diversity or angle, a diversity above 1.02 or an angle above 92, or
        either below 0 (off the panels' fixed axes; naming the run and the index).
    """
    count = len(figure_values("steps", steps))
    figure_mapping("angles", angles)
    for name in figure_mapping("diversity", diversity):
        if name not in angles:
            raise ValueError(f"angles has no entry for {name!r}: it has {list(angles)}")
        # the panels' fixed axes, a little beyond [0, 1] (a volume of unit vectors, 1 + 1e-7 by
        # rounding at the optimum) and [0, 90] degrees (between nonnegative vectors)
        for label, series, within in (
            ("diversity", diversity, _VOLUME_AXIS),
            ("angles", angles, _ANGLE_AXIS),
        ):
            if len(figure_values(f"{label}[{name!r}]", series[name], within=within)) != count:
                raise ValueError(f"{label}[{name!r}] must have one value per step ({count})")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("volume det(M Mᵀ)", "mean pairwise angle (degrees)"),
        horizontal_spacing=0.12,
    )
    x = plot_array(steps)
    for name, color in zip(diversity, series_colors(diversity, colors)):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=plot_array(diversity[name]),
                mode="lines+markers",
                name=name,
                legendgroup=name,
                line=dict(color=color),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=plot_array(angles[name]),
                mode="lines+markers",
                name=name,
                legendgroup=name,
                showlegend=False,
                line=dict(color=color),
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(range=list(_VOLUME_AXIS), title_text="det(M Mᵀ)", row=1, col=1)
    fig.update_yaxes(range=list(_ANGLE_AXIS), title_text="angle (degrees)", row=1, col=2)
    fig.update_xaxes(title="training step")
    return fit_layout(
        fig,
        height=280,
        title=title or "Diversity of non-true-label predictions",
        legend_rows="auto",
        subplot_titles=True,
    )


def transferability_heatmap(matrices: dict, *, title: str | None = None) -> go.Figure:
    """One annotated heatmap per ensemble.

    Entry (i, j) = accuracy (%) of member j on adversarial examples crafted on member i
    (``robviz.ensemble.transferability``).

    Parameters
    ----------
    matrices : dict
        Maps an ensemble's name to its (K, K) matrix of accuracies, fractions in [0, 1].
    title : str, optional
        The figure's title; a default one when None.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure, one panel per ensemble.

    Raises
    ------
    ValueError
        When ``matrices`` is empty, or a matrix is empty, not square or has a NaN or infinite
        entry or one outside [0, 1], naming its ensemble.
    """
    names = figure_mapping("matrices", matrices)
    for name in names:
        figure_values(f"matrices[{name!r}]", matrices[name], within=(0, 1))
    fig = make_subplots(
        rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.04, shared_yaxes=True
    )
    for c, name in enumerate(names, start=1):
        z = 100 * to_numpy(matrices[name], np.float64)
        if z.ndim != 2 or z.shape[0] != z.shape[1]:
            raise ValueError(f"{name}: a transferability matrix is (K, K), got {z.shape}")
        labels = [f"member {k + 1}" for k in range(len(z))]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=labels,
                y=labels,
                # one decimal in every cell (80.0, not 80), never a rounded 100.0 or 0.0
                text=[[percent_text(v) for v in row] for row in z],
                texttemplate="%{text}",
                zmin=0,
                zmax=100,
                colorscale=[[0, "#FFFFFF"], [1, SERIES_COLORS[0]]],
                showscale=c == len(names),
                colorbar=dict(title=dict(text="accuracy %", side="right"), thickness=14),
            ),
            row=1,
            col=c,
        )
        fig.update_xaxes(title="evaluated on", row=1, col=c)
        # Row labels once, left of the first panel (the panels share their rows), never over a
        # neighbour's cells.
        fig.update_yaxes(
            title="crafted on" if c == 1 else None,
            autorange="reversed",
            showticklabels=c == 1,
            row=1,
            col=c,
        )
    return fit_layout(
        fig,
        height=260,
        subplot_titles=True,
        left=90,
        title=title or "Adversarial transferability among members (accuracy %)",
    )


def adp_optimum_figure(
    alphas: npt.ArrayLike,
    theory: npt.ArrayLike,
    measured: dict | None = None,
    *,
    K: int,
    L: int,
    title: str | None = None,
    colors: dict | None = None,
) -> go.Figure:
    """Eq. 7's optimal F_y against alpha (a line) with measured values (markers).

    Parameters
    ----------
    alphas, theory
        The curve, e.g. ``[robviz.theory.adp_optimum(a, K, L) for a in alphas]``.
    measured : dict or None
        ``{name: (alphas, F_y values)}``, e.g. direct minimization and trained ensembles.
    K, L : int
        The number of members and of classes, for the title and the uniform line 1/L.
    title : str or None
        The figure title.
    colors : dict or None
        ``{name: colour}`` for some of ``measured``, so that a trained ensemble keeps its colour of
        the lesson's other figures (see :func:`robviz.viz.style.series_colors`); the others take
        free cycle colours.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        Empty alphas, a theory curve of another length, an alpha or F_y value that is NaN or
        infinite, a negative alpha or an F_y outside [0, 1] (naming the series and the index), a
        measured series that is not (alphas, F_y values), ``K`` not an integer >= 1 or ``L`` not
        an integer >= 2.
    TypeError
        ``measured`` neither None nor a mapping.
    """
    K = checks.integer("K", K, low=1)
    L = checks.integer("L", L, low=2)
    # alpha weighs an entropy bonus: >= 0 (at 0, no ADP: F_y = 1)
    weights = (0.0, math.inf)
    if len(figure_values("alphas", alphas, within=weights)) != len(
        figure_values("theory", theory, within=(0, 1))
    ):
        raise ValueError("alphas and theory must have one value each per point of the curve")
    measured = {} if measured is None else measured
    for name in figure_mapping("measured", measured, allow_empty=True):
        a, f = figure_fields(f"measured[{name!r}]", measured[name], ("alphas", "F_y values"))
        if len(figure_values(f"measured[{name!r}][0]", a, within=weights)) != len(
            figure_values(f"measured[{name!r}][1]", f, within=(0, 1))
        ):
            raise ValueError(f"measured[{name!r}]: one F_y value per alpha")
    fig = go.Figure(
        go.Scatter(
            x=plot_array(alphas),
            y=plot_array(theory),
            mode="lines",
            name="Eq. 7 (Theorem 2)",
            line=dict(color="black"),
        )
    )
    marker_colors = series_colors(measured, colors)
    for i, (name, (a, f)) in enumerate(measured.items()):
        fig.add_trace(
            go.Scatter(
                x=plot_array(a),
                y=plot_array(f),
                mode="markers",
                name=name,
                marker=dict(
                    size=11,
                    color=marker_colors[i],
                    symbol=["circle", "diamond", "square", "triangle-up"][i % 4],
                ),
            )
        )
    # The uniform prediction 1/L as a trace over the drawn alphas: a trace is always drawn (a layout
    # shape on the axis domain was not, in some renderers), and the legend names it.
    span = plot_array(alphas)
    fig.add_trace(
        go.Scatter(
            x=[float(span.min()), float(span.max())],
            y=[1 / L, 1 / L],
            mode="lines",
            name=f"1/L = {1 / L:.3g} (uniform)",
            line=dict(dash="dot", color="gray", width=2),
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        xaxis_title="α",
        yaxis=dict(title="true-class prediction F<sub>y</sub>", range=[0, 1.02]),
    )
    return fit_layout(
        fig,
        height=290,
        title=title or f"ADP optimum of F<sub>y</sub> (K = {K}, L = {L})",
        legend_rows="auto",
    )
