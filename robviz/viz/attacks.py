"""Pictures of attacks: trajectories in the input and feature planes, robust-accuracy tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from ..runtime import percent_text, to_numpy
from .features import _centers_trace, _region_trace, plane_axes
from .inputs import figure_mapping, figure_series, figure_values
from .style import plot_array
from .style import SERIES_COLORS, animate, class_color, class_count, fit_layout, series_colors

if TYPE_CHECKING:
    import torch

    from ..regions import Regions

__all__ = ["attack_animation", "ball_outline", "robustness_heatmap", "distance_histogram"]


# how a norm reads in a legend
_NORM_TEXT = {"Linf": "L∞", "inf": "L∞"}


def ball_outline(
    center: Sequence[float] | np.ndarray | torch.Tensor,
    eps: float,
    norm: str = "Linf",
    points: int = 48,
) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y coordinates of the boundary of the 2-D eps-ball around ``center``.

    A square for L-inf, a circle for L2, a diamond for L1; closed so it draws as one line.

    Parameters
    ----------
    center : sequence of 2 floats
        The ball's center (a tensor or array of 2 numbers will do).
    eps : float
        The radius, in the plane's units, >= 0.
    norm : {"Linf", "L2", "L1"}
        The norm of the ball, in any spelling :func:`robviz.checks.norm_name` reads (``"inf"``,
        ``2``, ``"l1"``), as the attacks take it.
    points : int, default 48
        The number of segments of the L2 circle (the square and the diamond need 4).

    Returns
    -------
    xs, ys : numpy.ndarray
        The outline's coordinates, (5,) for L-inf and L1, (points + 1,) for L2; the last point
        repeats the first.

    Raises
    ------
    ValueError
        For an unknown ``norm``, an ``eps`` not a finite number >= 0 (a NaN drew nothing), or a
        center that is not 2 finite numbers.
    """
    points = checks.integer("points", points, low=3)
    norm = checks.norm_name(norm, allowed=("Linf", "L2", "L1"))
    eps = checks.real("eps", eps, low=0)
    middle = figure_values("center", np.reshape(to_numpy(center, np.float64), (-1,)))
    if middle.shape != (2,):
        raise ValueError(f"center must be 2 numbers, a point of the plane, got {middle.shape}")
    cx, cy = float(middle[0]), float(middle[1])
    if norm == "Linf":
        xs, ys = np.array([-1, 1, 1, -1, -1]), np.array([-1, -1, 1, 1, -1])
    elif norm == "L1":
        xs, ys = np.array([1, 0, -1, 0, 1]), np.array([0, 1, 0, -1, 0])
    else:  # L2, the last norm norm_name lets through
        t = np.linspace(0, 2 * math.pi, points + 1)
        xs, ys = np.cos(t), np.sin(t)
    return cx + eps * xs, cy + eps * ys


def _paths(
    traj: torch.Tensor,
    upto: int,
    y: torch.Tensor,
    name_prefix: str,
    first_panel: bool,
    true_labels: torch.Tensor,
) -> list[go.Scatter]:
    """One line per sample from step 0 to ``upto`` plus a marker at its current position."""
    traces = []
    for n in range(traj.shape[1]):
        path = traj[: upto + 1, n]
        k = int(true_labels[n])
        traces.append(
            go.Scatter(
                x=plot_array(path[:, 0]),
                y=plot_array(path[:, 1]),
                mode="lines",
                line=dict(color=class_color(k), width=2),
                showlegend=False,
                hoverinfo="skip",
            )
        )
        predicted = int(y[upto, n])
        # -1: the logits were not finite (robviz.runtime.predict), so no class is predicted
        evaluated = predicted >= 0
        traces.append(
            go.Scatter(
                x=plot_array(path[-1:, 0]),
                y=plot_array(path[-1:, 1]),
                mode="markers",
                marker=dict(
                    size=11,
                    color=class_color(predicted) if evaluated else "white",
                    symbol="circle" if evaluated else "x",
                    line=dict(width=2, color="black"),
                ),
                name=f"{name_prefix} {n}",
                showlegend=False,
                hovertemplate=f"sample {n}: "
                + (
                    f"predicted class {predicted}"
                    if evaluated
                    else "no prediction (non-finite logits)"
                )
                + "<extra></extra>",
            )
        )
    return traces


def attack_animation(
    inputs: torch.Tensor,
    predictions: torch.Tensor,
    labels: torch.Tensor,
    *,
    features: torch.Tensor | None = None,
    input_regions: Regions | None = None,
    feature_regions: Regions | None = None,
    eps: float | None = None,
    norm: str = "Linf",
    centers: torch.Tensor | None = None,
    title: str | None = None,
    duration_ms: int = 400,
) -> go.Figure:
    """Animate attack trajectories step by step.

    The input moving inside its eps-ball (left) and, when ``features`` are given, its feature
    travelling across the feature plane (right).

    Long because a plotly animation lists every trace of the first frame and then every frame's
    updates; split, the two lists would have to be kept in the same order across two functions.

    Parameters
    ----------
    inputs : torch.Tensor
        (T+1, N, 2) inputs at each attack step (step 0 = clean), e.g. ``result.trajectory.inputs``.
    predictions : torch.Tensor
        (T+1, N) predicted class at each step (marker fill colour); -1 where the logits were
        not finite (:func:`robviz.runtime.predict`), drawn as a white cross, "no prediction".
    labels : torch.Tensor
        (N,) true classes (path colour).
    features : torch.Tensor or None
        Optional (T+1, N, 2) features at each step.
    input_regions, feature_regions
        Optional single-frame :class:`robviz.regions.Regions` drawn underneath; the panel spans
        their extent, widened where a trajectory (or a center) leaves it.
    eps, norm
        Draw the eps-ball around every clean input.
    centers : torch.Tensor or None
        Optional (L, 2) class centers in the feature plane.

    Returns
    -------
    go.Figure
        A plotly Figure with a play button and a step slider.

    Raises
    ------
    ValueError
        Inputs that are not (T+1, N, 2), no step or no sample, predictions or features of another
        shape, labels that are not N class indices, or a NaN or infinite input, feature or center
        (naming the argument and the step); an ``eps`` not a finite number >= 0 or an unknown
        ``norm``, as :func:`ball_outline`.
    """
    if eps is not None:  # before any drawing; the legend names the norm by its canonical name
        eps = checks.real("eps", eps, low=0)
        norm = checks.norm_name(norm, allowed=("Linf", "L2", "L1"))
    if len(np.shape(inputs)) != 3 or np.shape(inputs)[-1] != 2:  # a tensor or an array
        raise ValueError(
            f"attack_animation draws 2-D inputs of shape (T+1, N, 2), got {np.shape(inputs)}"
        )
    figure_values("inputs", inputs)
    labels = checks.labels("labels", labels, inputs.shape[1])
    if features is not None:
        figure_values("features", features)
    if centers is not None:
        figure_values("centers", centers)
    steps, n = inputs.shape[0], inputs.shape[1]
    if predictions.shape != (steps, n):
        raise ValueError(
            f"predictions must have shape {(steps, n)}, got {tuple(predictions.shape)}"
        )
    if int(predictions.min()) < -1:
        raise ValueError(
            "predictions must be class indices >= 0, or -1 for non-finite logits; got "
            f"{int(predictions.min())}"
        )
    panels = [("input plane", inputs, input_regions)]
    if features is not None:
        if features.shape[:2] != (steps, n) or features.shape[-1] != 2:
            raise ValueError(
                f"features must have shape {(steps, n, 2)}, got {tuple(features.shape)}"
            )
        panels.append(("feature plane", features, feature_regions))
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.08
    )
    num_classes = max(class_count("labels", labels), class_count("predictions", predictions))
    for _, _, regions in panels:
        if regions is not None:
            class_count("the regions' labels", regions.labels)

    # Static traces (regions, balls, centers) come first; the animated paths follow and are the
    # frames' traces.
    for col, (name, traj, regions) in enumerate(panels, start=1):
        if regions is not None:
            labels_2d = regions.labels[-1] if regions.labels.dim() == 3 else regions.labels
            fig.add_trace(_region_trace(labels_2d, regions.extent, num_classes), row=1, col=col)
        if col == 1 and eps is not None:
            for i in range(n):
                bx, by = ball_outline(traj[0, i], eps, norm)
                fig.add_trace(
                    go.Scatter(
                        x=bx,
                        y=by,
                        mode="lines",
                        line=dict(color="black", dash="dot", width=1),
                        showlegend=i == 0,
                        name=f"{_NORM_TEXT.get(norm, norm)} ball, ε = {eps:g}",
                        hoverinfo="skip",
                    ),
                    row=1,
                    col=col,
                )
        if col == 2 and centers is not None:
            fig.add_trace(_centers_trace(centers), row=1, col=col)
    static = len(fig.data)

    def animated(t: int) -> tuple[list[go.Scatter], list[int]]:
        traces, cols = [], []
        for col, (name, traj, _) in enumerate(panels, start=1):
            new = _paths(traj, t, predictions, name, col == 1, labels)
            traces += new
            cols += [col] * len(new)
        return traces, cols

    first, cols = animated(0)
    for trace, col in zip(first, cols):
        fig.add_trace(trace, row=1, col=col)
    # Every frame carries every trace: plotly.js drops heatmaps that a frame leaves out while it
    # animates.
    background = list(fig.data[:static])
    animate(
        fig,
        [background + animated(t)[0] for t in range(steps)],
        list(range(steps)),
        traces=range(len(fig.data)),
        duration_ms=duration_ms,
        prefix="attack step ",
    )

    for col, (name, traj, regions) in enumerate(panels, start=1):
        if regions is not None:
            extent = regions.extent
        else:
            pts = plot_array(traj).reshape(-1, 2)  # a tensor or an array
            pad = 0.1 * float((pts.max(0) - pts.min(0)).max()) + 1e-6
            x_min, y_min = (pts.min(0) - pad).tolist()
            x_max, y_max = (pts.max(0) + pad).tolist()
            extent = (x_min, x_max, y_min, y_max)
        sub = "x" if col == 1 else "z"
        plane_axes(
            fig,
            col - 1,
            extent,
            cover=[traj, centers if col == 2 else None],
            names=(f"{sub}₁", f"{sub}₂"),
        )
    return fit_layout(
        fig,
        height=380,
        title=title or "Attack trajectories, step by step",
        legend_rows="auto",
        subplot_titles=True,
        slider=True,
    )


def robustness_heatmap(
    rows: list[str],
    columns: list[str],
    values: npt.ArrayLike,
    *,
    title: str = "Robust accuracy (%)",
    reference: Sequence[Sequence[object]] | None = None,
) -> go.Figure:
    """Return a table of accuracies as an annotated heatmap.

    Parameters
    ----------
    rows : list of str
        The models, one per row; unique (plotly would draw two rows labelled alike as one).
    columns : list of str
        Clean or an attack, one per column; unique.
    values : array-like, (len(rows), len(columns))
        ``values[i][j]`` is the accuracy (%) of row ``i`` under column ``j``; NaN where it was not
        measured (the cell reads "not run", in white); infinite values are refused.
    title : str, default "Robust accuracy (%)"
        The figure's title.
    reference : nested list, optional
        Same shape as ``values``, may hold None; printed beside each value, e.g. the talk's
        published numbers.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        When ``rows`` or ``columns`` is empty, a row or column label repeats, ``values`` is not
        (len(rows), len(columns)) or holds an infinite value or one outside [0, 100] (naming its
        row).
    """
    figure_series("rows", rows)
    figure_series("columns", columns)
    rows, columns = checks.unique_labels("rows", rows), checks.unique_labels("columns", columns)
    z = figure_values("values", values, allow=("nan",), within=(0, 100))
    if z.shape != (len(rows), len(columns)):
        raise ValueError(f"values must have shape {(len(rows), len(columns))}, got {z.shape}")
    text = [
        [
            ("not run" if np.isnan(v) else percent_text(v))
            + (
                ""
                if reference is None or reference[i][j] is None
                else f"<br>(talk {reference[i][j]})"
            )
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(z)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=rows,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=100,
            colorscale=[[0, "#FFFFFF"], [1, SERIES_COLORS[0]]],
            colorbar=dict(title=dict(text="accuracy %", side="right"), thickness=14),
        )
    )
    # The column labels sit under the table, where they cannot run into the title; long ones turn,
    # and the x-axis band grows with them.
    longest = max((len(str(c)) for c in columns), default=0)
    turned = longest * len(columns) * 7.5 > 700
    fig.update_layout(
        xaxis=dict(title="attack", side="bottom", tickangle=-30 if turned else 0, automargin=True),
        yaxis=dict(title="model", autorange="reversed", automargin=True),
    )
    return fit_layout(
        fig,
        height=60 + (60 if reference is not None else 44) * len(rows),
        title=title,
        bottom=_heatmap_bottom(longest, turned),
    )


def _heatmap_bottom(longest: int, turned: bool) -> int:
    """Return the x-axis band of a table whose column labels have ``longest`` characters.

    The labels are turned by 30 degrees or not.
    """
    return 58 + (int(0.5 * 7.5 * longest) if turned else 0)


def distance_histogram(
    distances: dict, *, title: str = "Smallest adversarial perturbation", unit: str = "L2 distance"
) -> go.Figure:
    """Overlaid histograms of per-sample perturbation sizes, one per model.

    Parameters
    ----------
    distances : dict
        Maps a model's name to its (N,) tensor (or array) of distances, e.g. DeepFool's
        ``result.perturbation_norm("L2")[result.success]``. An infinite distance means no
        adversarial example exists or was found (e.g. :mod:`robviz.exact`'s distance of a point
        with no other class in the box): it has no bar, and the model's legend entry counts it,
        "(k of N at ∞, not drawn)".
    title : str, default "Smallest adversarial perturbation"
        The figure's title.
    unit : str, default "L2 distance"
        The x-axis title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No model, a model with no distance, or a NaN or a distance of -inf (naming the model and
        the sample index).
    """
    arrays = {
        name: figure_values(f"distances[{name!r}]", distances[name], allow=("inf",))
        for name in figure_mapping("distances", distances)
    }
    fig = go.Figure()
    colors = series_colors(distances)
    for i, (name, values) in enumerate(arrays.items()):
        infinite = int(np.isinf(values).sum())
        fig.add_trace(
            go.Histogram(
                x=plot_array(values[np.isfinite(values)]),
                name=f"{name} ({infinite} of {len(values)} at ∞, not drawn)" if infinite else name,
                opacity=0.6,
                marker_color=colors[i],
                nbinsx=30,
            )
        )
    fig.update_layout(barmode="overlay", xaxis_title=unit, yaxis_title="samples")
    return fit_layout(fig, height=300, title=title, legend_rows="auto")
