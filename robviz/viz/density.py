"""Sample-density paper pictures: loss contours, the curse of softmax, sample density, convergence.

Builders only: each takes tensors or arrays that ``robviz.landscape``, ``robviz.shell_density``,
``robviz.theory`` and ``robviz.train`` computed and returns a plotly Figure (template "robviz",
colour-blind-safe colours, a title and labelled axes). Coordinates travel as float32 NumPy arrays,
which plotly stores as compact typed arrays.

Paper: T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu, "Rethinking Softmax Cross-Entropy Loss for
Adversarial Robustness", ICLR 2020 (g-SCE and MMC contours, sample density, faster convergence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from ..runtime import to_numpy
from .features import _label, plane_axes
from .inputs import figure_fields, figure_mapping, figure_record, figure_series, figure_values
from .style import (
    distinct_labels,
    INK,
    animate,
    fit_layout,
    plot_array,
    series_color,
    series_colors,
    series_dash,
)

if TYPE_CHECKING:
    from ..landscape import DensityGrid, LossGrid
    from ..shell_density import SampleDensity

__all__ = [
    "loss_contours_figure",
    "curse_of_softmax_animation",
    "density_heatmap_animation",
    "shell_density_figure",
    "sample_density_figure",
    "convergence_figure",
]

_LOSS_SCALE = "Cividis"  # sequential and readable with the common colour-vision deficiencies
_DENSITY_SCALE = "Viridis"


# ------------------------------------------------------------------------------------ loss contours


def _shown(values: npt.ArrayLike, log10: bool, floor: float) -> np.ndarray:
    values = to_numpy(values, np.float64)
    return plot_array(np.log10(np.maximum(values, floor)) if log10 else values)


def _grid_axes(grid: LossGrid | DensityGrid) -> dict:
    x_min, x_max, y_min, y_max = grid.extent
    resolution = grid.values.shape[-1]
    return dict(
        x0=x_min,
        dx=(x_max - x_min) / (resolution - 1),
        y0=y_min,
        dy=(y_max - y_min) / (resolution - 1),
    )


def _contour_trace(grid: LossGrid, log10: bool, floor: float, ncontours: int) -> go.Contour:
    """Return filled contours coloured on the figure's one shared colour axis.

    One colour bar serves every panel.
    """
    return go.Contour(
        z=_shown(grid.values, log10, floor),
        **_grid_axes(grid),
        coloraxis="coloraxis",
        ncontours=ncontours,
        contours=dict(coloring="heatmap", showlabels=True, labelfont=dict(size=11, color="white")),
        line=dict(width=0.6, color="rgba(255,255,255,0.6)"),
        name=grid.name,
        hoverinfo="skip",
    )


def _shared_colour_axis(
    fig: go.Figure,
    grids: Sequence[LossGrid],
    log10: bool,
    floor: float,
    title: str,
    y: float = 0.5,
    length: float = 1.0,
) -> None:
    """One colour scale for all loss panels, so that a colour means the same loss in each."""
    values = np.concatenate([_shown(g.values, log10, floor).ravel() for g in grids])
    fig.update_layout(
        coloraxis=dict(
            colorscale=_LOSS_SCALE,
            cmin=float(values.min()),
            cmax=float(values.max()),
            colorbar=dict(
                title=dict(text=title, side="right"),
                thickness=14,
                y=y,
                yanchor="middle",
                len=length,
            ),
        )
    )


def _center_marks(centers: npt.ArrayLike, label: int, show_legend: bool) -> list[go.Scatter]:
    mu = plot_array(centers)
    # White crosses with a dark outline and an orange ring read on both ends of the colour scale
    # (and in the legend).
    return [
        go.Scatter(
            x=mu[:, 0],
            y=mu[:, 1],
            mode="markers",
            name="centers μ<sub>k</sub>",
            legendgroup="centers",
            showlegend=show_legend,
            hoverinfo="skip",
            marker=dict(symbol="x", size=12, color="white", line=dict(width=1.5, color=INK)),
        ),
        go.Scatter(
            x=mu[label : label + 1, 0],
            y=mu[label : label + 1, 1],
            mode="markers",
            name=f"center of the true class y = {label}",
            legendgroup="true",
            showlegend=show_legend,
            hoverinfo="skip",
            marker=dict(symbol="circle-open", size=20, color=series_color(1), line=dict(width=3)),
        ),
    ]


def loss_contours_figure(
    grids: Sequence[LossGrid] | dict[str, LossGrid],
    *,
    centers: npt.ArrayLike | None = None,
    curves: Sequence[dict] | None = None,
    log10: bool = True,
    floor: float = 1e-6,
    ncontours: int = 16,
    title: str | None = None,
) -> go.Figure:
    """Plot loss landscapes L(z, y) over a 2-D feature plane, side by side, as filled contours.

    The contour levels are labelled.

    With ``log10`` the colours and levels are log10 of the loss (clipped below at ``floor``):
    softmax losses fall by many orders of magnitude near their centers while MMC grows
    quadratically.

    Parameters
    ----------
    grids : list or dict
        A list of :class:`robviz.landscape.LossGrid` (or a dict title -> LossGrid), one panel each.
    centers : torch.Tensor or None
        (L, 2) centers marked in every panel (the grids' label is circled), or None.
    curves : list of dict or None
        None, or one dict per panel, name -> (K, 2) points, drawn as lines (e.g. the sphere of
        ``robviz.theory.gsce_contour`` or a path of ``robviz.landscape.trace_contour``).
    log10, floor, ncontours
        How the values are coloured.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No grid, a grid with no value or a NaN or infinite one, ``curves`` without one dict per
        panel or with an empty or non-finite curve, or a non-finite center (naming the grid or the
        curve).
    """
    ncontours = checks.integer("ncontours", ncontours, low=1)
    log10 = checks.flag("log10", log10)
    titled = list(grids.items()) if isinstance(grids, dict) else [(g.name, g) for g in grids]
    figure_series("grids", titled)
    for i, (name, grid) in enumerate(titled):
        key = repr(name) if isinstance(grids, dict) else i
        figure_values(f"grids[{key}].values", grid.values)
    if curves is not None and len(curves) != len(titled):
        raise ValueError(f"curves must have one dict per panel ({len(titled)}), got {len(curves)}")
    for p, panel in enumerate(curves or []):
        for curve_name, points in panel.items():
            figure_values(f"curves[{p}][{curve_name!r}]", points)
    if centers is not None:
        figure_values("centers", centers)
    fig = make_subplots(
        rows=1,
        cols=len(titled),
        subplot_titles=[_label(t) for t, _ in titled],
        horizontal_spacing=0.08,
    )
    _shared_colour_axis(
        fig, [g for _, g in titled], log10, floor, "log₁₀ loss" if log10 else "loss"
    )
    for p, (name, grid) in enumerate(titled):
        fig.add_trace(_contour_trace(grid, log10, floor, ncontours), row=1, col=p + 1)
        for i, (curve_name, points) in enumerate((curves[p] if curves else {}).items()):
            xy = plot_array(points)
            fig.add_trace(
                go.Scatter(
                    x=xy[:, 0],
                    y=xy[:, 1],
                    mode="lines",
                    name=curve_name,
                    line=dict(color=series_color(4 + i), width=3, dash="dash"),
                ),
                row=1,
                col=p + 1,
            )
        if centers is not None:
            for trace in _center_marks(centers, grid.label, p == 0):
                fig.add_trace(trace, row=1, col=p + 1)
        plane_axes(fig, p, grid.extent, cover=[centers, *(curves[p] if curves else {}).values()])
    return fit_layout(
        fig,
        height=300,
        legend_rows="auto",
        subplot_titles=True,
        title=title or f"Loss of class y = {titled[0][1].label} over the feature plane",
    )


def curse_of_softmax_animation(
    softmax_grid: LossGrid,
    mmc_grid: LossGrid,
    path: npt.ArrayLike,
    softmax_losses: npt.ArrayLike,
    mmc_losses: npt.ArrayLike,
    *,
    centers: npt.ArrayLike | None = None,
    num_frames: int = 30,
    log10: bool = True,
    floor: float = 1e-6,
    duration_ms: int = 250,
    title: str | None = None,
) -> go.Figure:
    """Return a feature moving along a contour of a softmax loss.

    That loss stays put, the MMC loss does not (the "curse of softmax", ICLR 2020).

    Three panels: the softmax loss landscape and the MMC landscape of the same class (one colour
    scale) with the path and the moving feature, and under them both losses along the path (log
    axis). Frames move the feature. (Its length is the three panels' static traces and the frames
    that update them, which must stay in step.)

    Parameters
    ----------
    softmax_grid, mmc_grid
        :class:`robviz.landscape.LossGrid` of the two losses (same label).
    path : torch.Tensor
        (T, 2) points along a softmax contour (``robviz.landscape.trace_contour``).
    softmax_losses, mmc_losses
        (T,) the two losses at the path's points.
    centers : torch.Tensor or None
        (L, 2) centers to mark, or None.
    num_frames : int
        Frames, taken evenly along the path.
    duration_ms : int
        Time per frame when playing.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        An empty path, a path and losses of different lengths, a NaN or infinite point, loss,
        grid value or center, or with ``log10`` a loss <= 0 (off the log axis), naming the
        argument and the index.
    """
    num_frames = checks.integer("num_frames", num_frames, low=1)
    log10 = checks.flag("log10", log10)
    for name, grid in (("softmax_grid", softmax_grid), ("mmc_grid", mmc_grid)):
        figure_record(name, grid, "robviz.landscape.LossGrid", ("values", "extent"))
        figure_values(f"{name}.values", grid.values)
    if centers is not None:
        figure_values("centers", centers)
    xy = plot_array(figure_values("path", path))
    # with log10 the losses go on a log axis
    soft = plot_array(figure_values("softmax_losses", softmax_losses, positive=log10))
    mmc = plot_array(figure_values("mmc_losses", mmc_losses, positive=log10))
    if not (len(xy) == len(soft) == len(mmc)) or xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(
            f"path (T, 2) and the two loss arrays (T,) must have one length; got {xy.shape}, "
            f"{soft.shape}, {mmc.shape}"
        )
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))]).astype(
        np.float32
    )
    picks = np.unique(np.linspace(0, len(xy) - 1, min(num_frames, len(xy))).round().astype(int))
    # Two landscapes side by side, the losses along the path under them (full width): nothing wider
    # than the column.
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        row_heights=[0.62, 0.38],
        horizontal_spacing=0.1,
        vertical_spacing=0.2,
        subplot_titles=[
            f"{_label(softmax_grid.name)} loss (softmax)",
            "MMC loss",
            "the two losses along the path",
        ],
    )
    _shared_colour_axis(
        fig,
        [softmax_grid, mmc_grid],
        log10,
        floor,
        "log₁₀ loss" if log10 else "loss",
        y=0.81,
        length=0.62,
    )
    for p, grid in enumerate((softmax_grid, mmc_grid)):
        fig.add_trace(_contour_trace(grid, log10, floor, 12), row=1, col=p + 1)
        fig.add_trace(
            go.Scatter(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="lines",
                name="path along a softmax contour",
                legendgroup="path",
                showlegend=p == 0,
                line=dict(color=series_color(4), width=3),
            ),
            row=1,
            col=p + 1,
        )
        if centers is not None:
            for trace in _center_marks(centers, grid.label, p == 0):
                fig.add_trace(trace, row=1, col=p + 1)
        plane_axes(fig, p, grid.extent, cover=[xy, centers])
    for name, values, color in (
        ("softmax loss", soft, series_color(0)),
        ("MMC loss", mmc, series_color(1)),
    ):
        fig.add_trace(
            go.Scatter(x=arc, y=values, mode="lines", name=name, line=dict(color=color, width=3)),
            row=2,
            col=1,
        )
    fig.update_xaxes(title_text="distance travelled along the path", row=2, col=1)
    fig.update_yaxes(title_text="loss", type="log" if log10 else "linear", row=2, col=1)

    def markers(i: int) -> list[go.Scatter]:
        point = dict(
            mode="markers",
            marker=dict(size=13, color="white", line=dict(width=3, color=INK)),
            showlegend=False,
            hoverinfo="skip",
            # the path runs to the window's edge: the point there is drawn whole, not cut in half
            cliponaxis=False,
        )
        return [
            go.Scatter(x=xy[i : i + 1, 0], y=xy[i : i + 1, 1], **point),
            go.Scatter(x=xy[i : i + 1, 0], y=xy[i : i + 1, 1], **point),
            go.Scatter(x=arc[[i, i]], y=np.array([soft[i], mmc[i]], dtype=np.float32), **point),
        ]

    first = len(fig.data)
    for trace, (row, col) in zip(markers(int(picks[0])), ((1, 1), (1, 2), (2, 1))):
        fig.add_trace(trace, row=row, col=col)
    # frame names are the distances travelled, made unique by the frame number where they round
    # alike
    names = []
    for frame, i in enumerate(picks):
        name = f"{arc[i]:.1f}"
        names.append(name if name not in names else f"{name} (frame {frame})")
    heading = title or "The curse of softmax"
    titles = [f"{heading}: softmax loss {soft[i]:.3g}, MMC loss {mmc[i]:.3g}" for i in picks]
    animate(
        fig,
        [markers(int(i)) for i in picks],
        names,
        traces=range(first, first + 3),
        duration_ms=duration_ms,
        prefix="distance along the path ",
        frame_layouts=[dict(title=dict(text=t)) for t in titles],
    )
    return fit_layout(
        fig, height=560, title=titles[0], legend_rows="auto", subplot_titles=True, slider=True
    )


# ----------------------------------------------------------------------------------- sample density


def density_heatmap_animation(
    grids: dict,
    steps: Sequence[int],
    *,
    floor: float = 1e-2,
    duration_ms: int = 0,
    title: str | None = None,
    active: int = -1,
) -> go.Figure:
    """Feature density (points per unit area) of several runs side by side, animated over training.

    One colour scale for every panel, in log10 points per unit area, so a bright cell means a high
    sample density SD = Delta N / Vol(Delta B) (ICLR 2020, Eq. 2) whatever the panel's own axes.

    Parameters
    ----------
    grids : dict
        Name -> :class:`robviz.landscape.DensityGrid` with values (S, R, R), one frame per step.
    steps : sequence of int
        (S,) the training steps of the frames.
    floor : float
        Densities below it (empty cells included) show as ``floor``.
    duration_ms : int
        Time per frame when playing.
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
        No grid or no step, values that are not (S, R, R), or a NaN or infinite density (naming
        the run and the frame).
    """
    names = figure_mapping("grids", grids)
    steps = [int(s) for s in figure_series("steps", steps)]
    for name in names:
        if grids[name].values.dim() != 3 or grids[name].values.shape[0] != len(steps):
            raise ValueError(
                f"{name!r}: values must be (S, R, R) with S = len(steps) = {len(steps)}"
            )
        figure_values(f"grids[{name!r}].values", grids[name].values)
    shown = {
        n: plot_array(np.log10(np.maximum(to_numpy(grids[n].values, np.float64), floor)))
        for n in names
    }
    top = max(float(v.max()) for v in shown.values())
    low = math.log10(floor)
    fig = make_subplots(
        rows=1, cols=len(names), subplot_titles=[_label(n) for n in names], horizontal_spacing=0.08
    )

    def heatmap(name: str, frame: int, first: bool) -> go.Heatmap:
        grid = grids[name]
        x_min, x_max, y_min, y_max = grid.extent
        resolution = grid.values.shape[-1]
        # Cell centers: a DensityGrid's cells are bins, not grid points.
        return go.Heatmap(
            z=shown[name][frame],
            x0=x_min + (x_max - x_min) / (2 * resolution),
            dx=(x_max - x_min) / resolution,
            y0=y_min + (y_max - y_min) / (2 * resolution),
            dy=(y_max - y_min) / resolution,
            zmin=low,
            zmax=top,
            colorscale=_DENSITY_SCALE,
            showscale=first,
            colorbar=dict(title="log₁₀ points<br>per unit area"),
            hovertemplate="z = (%{x:.2f}, %{y:.2f})<br>log₁₀ SD = %{z:.2f}<extra></extra>",
        )

    for p, name in enumerate(names):
        fig.add_trace(heatmap(name, 0, p == 0), row=1, col=p + 1)
        plane_axes(fig, p, grids[name].extent)
    labels = [str(s) for s in steps]
    animate(
        fig,
        [[heatmap(n, f, p == 0) for p, n in enumerate(names)] for f in range(len(steps))],
        labels,
        traces=range(len(names)),
        duration_ms=duration_ms,
        active=active,
    )
    return fit_layout(
        fig,
        height=330,
        subplot_titles=True,
        slider=True,
        title=title or "Sample density of the training features during training",
    )


def _pooled_log10(density: SampleDensity) -> np.ndarray:
    """Return (S,) log10 SD per shell, averaged over the classes with a finite value.

    This is a geometric mean of SD.
    """
    values = to_numpy(density.log_densities, np.float64) / math.log(10)
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=0)
    count = finite.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


def _quantile_midpoints(num_shells: int, quantiles: tuple[float, float]) -> np.ndarray:
    low, high = quantiles
    return (low + (np.arange(num_shells) + 0.5) * (high - low) / num_shells).astype(np.float32)


def shell_density_figure(
    densities: dict,
    steps: Sequence[int] | None = None,
    *,
    quantiles: tuple[float, float] | None = None,
    duration_ms: int = 0,
    title: str | None = None,
    active: int = -1,
) -> go.Figure:
    """Plot measured sample density in loss shells at matched loss quantiles (ICLR 2020, Eq. 2).

    It draws one line per run.

    A shell where no class has a finite log SD (every class's shell empty, -inf, or its volume
    unknown, NaN) has no point on the line; the run's legend entry counts those shells, "(k of S
    shells without a density: not drawn)".

    Each :class:`robviz.shell_density.SampleDensity` must have equal-count shells
    (``spacing="count"``, the default) between the same loss quantiles, which it records
    (``density.quantiles``), so shell s of every run holds the same share of its class's points: the
    x axis is that share (the loss quantile at the shell's middle) and the comparison is at matched
    quantiles. The y value is log10 SD averaged over the classes.

    Parameters
    ----------
    densities : dict
        Name -> SampleDensity (a static figure), or name -> list of SampleDensity, one per entry of
        ``steps`` (an animation over training).
    steps : sequence of int or None
        The training steps of the frames (with lists).
    quantiles : tuple[float, float] or None
        The (low, high) loss quantiles the shells span; None (default) reads them from the
        densities, a value is checked against them.
    duration_ms : int
        Time per frame when playing.
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
        No run, lists without one entry per step, a density with no shell, or a log density of
        +inf (naming the run and the frame); -inf (an empty shell) and NaN (an unknown volume)
        are drawn as described above. A density without equal-count shells (given edges, equal
        widths), densities whose shells span other quantiles, or ``quantiles`` other than theirs
        (naming the run).
    """
    names = figure_mapping("densities", densities)
    animated = isinstance(densities[names[0]], (list, tuple))
    if animated:
        if steps is None or any(len(densities[n]) != len(steps) for n in names):
            raise ValueError(
                "with lists of SampleDensity, pass steps with one entry per list element"
            )
    frames = (
        [{n: densities[n][f] for n in names} for f in range(len(steps))]
        if animated and steps is not None  # animated: steps was checked above
        else [densities]
    )
    spans: dict[tuple[float, float], str] = {}  # the shells' quantiles -> the first run with them
    for f, frame in enumerate(frames):
        for name in names:
            where = f"densities[{name!r}]" + (f"[{f}]" if animated else "")
            figure_values(
                f"{where}.log_densities", frame[name].log_densities, allow=("nan", "-inf")
            )
            span = frame[name].quantiles
            if span is None:  # the x axis would place its shells at quantiles they do not span
                raise ValueError(
                    f"{where} has no equal-count shells between loss quantiles (given edges or "
                    "spacing='width'): build it with spacing='count' and no edges"
                )
            spans.setdefault(tuple(span), where)
    if len(spans) > 1 or (quantiles is not None and tuple(quantiles) not in spans):
        given = [f"{where}: {span}" for span, where in spans.items()]
        if quantiles is not None:
            given.append(f"quantiles: {tuple(quantiles)}")
        raise ValueError(
            "the shells must span the same loss quantiles to be compared at matched quantiles; "
            "got " + ", ".join(given)
        )
    quantiles = next(iter(spans))

    colors = series_colors(distinct_labels("densities", names))

    def lines(frame: dict) -> list[go.Scatter]:
        traces = []
        for i, name in enumerate(names):
            density = frame[name]
            pooled = _pooled_log10(density)
            missing = int(np.isnan(pooled).sum())
            traces.append(
                go.Scatter(
                    x=_quantile_midpoints(density.counts.shape[1], quantiles),
                    y=pooled,
                    mode="lines+markers",
                    name=_label(name)
                    + (
                        f" ({missing} of {len(pooled)} shells without a density: not drawn)"
                        if missing
                        else ""
                    ),
                    line=dict(color=colors[i], width=3),
                    marker=dict(size=7),
                )
            )
        return traces

    values = np.concatenate([np.concatenate([t.y for t in lines(f)]) for f in frames]).astype(
        np.float64
    )
    values = values[np.isfinite(values)]
    fig = go.Figure(lines(frames[0]))
    fig.update_layout(
        xaxis=dict(title="loss quantile of the shell (0 = the best-fitted points)", range=[0, 1]),
        yaxis=dict(
            title="log₁₀ sample density",
            range=[float(values.min()) - 0.5, float(values.max()) + 0.5] if len(values) else None,
        ),
    )
    if animated and steps is not None:
        labels = [str(int(s)) for s in steps]
        animate(
            fig,
            [lines(f) for f in frames],
            labels,
            traces=range(len(names)),
            duration_ms=duration_ms,
            active=active,
        )
    return fit_layout(
        fig,
        height=330,
        legend_rows="auto",
        slider=animated,
        title=title or "Sample density at matched loss quantiles",
    )


def sample_density_figure(
    losses: npt.ArrayLike,
    log_measured: npt.ArrayLike,
    theory: dict,
    *,
    measured_name: str = "measured",
    title: str | None = None,
) -> go.Figure:
    """Plot measured sample density against loss, with theory curves beside it.

    The theory curves are ICLR 2020, Theorems 1 and 2.

    Parameters
    ----------
    losses : torch.Tensor
        (S,) loss values of the measurements (e.g. shell midpoints).
    log_measured : torch.Tensor
        (S,) natural-log SD.
    theory : dict
        Name -> (C (K,), natural-log SD (K,)), e.g. ``robviz.theory.mmc_sample_density(...,
        log=True)`` in its "exact" and "theorem" forms.
    measured_name : str
        The legend entry of the measurements.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure. A log SD of -inf (an empty shell: SD = 0) and a loss level ℓ <= 0 have no
        point on the figure's log axes; the legend entry of the series counts them, "(k of S at
        SD = 0: not drawn)", "(k of S at ℓ <= 0: not drawn)".

    Raises
    ------
    ValueError
        Empty or non-finite losses, a log SD that is NaN or +inf, or a series whose two arrays
        differ in length (naming the series and the index).
    """
    figure_mapping("theory", theory, allow_empty=True)
    to10 = 1 / math.log(10)
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot"]

    def checked(x_name: str, y_name: str, c: npt.ArrayLike, log_sd: npt.ArrayLike) -> tuple:
        x = figure_values(x_name, c)
        y = figure_values(y_name, log_sd, allow=("-inf",))
        if x.shape != y.shape:
            raise ValueError(f"{y_name} has shape {y.shape}, {x_name} {x.shape}")
        notes = []
        empty = int(np.isneginf(y).sum())
        if empty:
            notes.append(f"{empty} of {len(y)} at SD = 0")
        off_axis = int((x <= 0).sum())  # a loss level of 0 or below has no place on a log axis
        if off_axis:
            notes.append(f"{off_axis} of {len(y)} at ℓ <= 0")
        return y, f" ({'; '.join(notes)}: not drawn)" if notes else ""

    for i, name in enumerate(theory):
        c, log_sd = figure_fields(f"theory[{name!r}]", theory[name], ("C", "log SD"))
        values, note = checked(f"theory[{name!r}][0]", f"theory[{name!r}][1]", c, log_sd)
        fig.add_trace(
            go.Scatter(
                x=plot_array(c),
                y=plot_array(values) * to10,
                mode="lines",
                name=f"{name}{note}",
                line=dict(color=series_color(i), width=3, dash=dashes[i % len(dashes)]),
            )
        )
    values, note = checked("losses", "log_measured", losses, log_measured)
    fig.add_trace(
        go.Scatter(
            x=plot_array(losses),
            y=plot_array(values) * to10,
            mode="markers",
            name=f"{measured_name}{note}",
            marker=dict(color=INK, size=9, symbol="circle-open", line=dict(width=2)),
        )
    )
    fig.update_layout(
        xaxis=dict(title="loss level ℓ", type="log"), yaxis=dict(title="log₁₀ sample density SD(ℓ)")
    )
    return fit_layout(
        fig, height=320, legend_rows="auto", title=title or "Sample density: measurement and theory"
    )


# -------------------------------------------------------------------------------------- convergence


def convergence_figure(
    panels: dict,
    *,
    thresholds: dict | None = None,
    styles: dict | None = None,
    log_y: Sequence[str] = (),
    title: str | None = None,
) -> go.Figure:
    """Plot curves of several runs against the training step, one panel per metric.

    ICLR 2020's toy demo on faster convergence: center loss vs MMC, full batch vs mini-batches.

    Parameters
    ----------
    panels : dict
        Panel title (the metric, used as its y-axis label) -> {run name -> (steps (K,), values
        (K,))}.
    thresholds : dict or None
        Panel title -> a value drawn as a horizontal dotted line (the target of "steps to reach").
    styles : dict or None
        Run name -> dict(color=..., dash=...) (default: the run's colour, see
        :func:`robviz.viz.series_colors`).
    log_y : sequence of str
        Panel titles drawn on a logarithmic axis.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No panel, a panel without runs, a run whose steps and values differ in length, an empty
        or NaN or infinite step or value, or a value <= 0 in a ``log_y`` panel (off its log axis),
        naming the panel and the run.
    """
    titles = figure_mapping("panels", panels)
    for panel in titles:
        for name in figure_mapping(f"panels[{panel!r}]", panels[panel]):
            steps, values = figure_fields(
                f"panels[{panel!r}][{name!r}]", panels[panel][name], ("steps", "values")
            )
            steps = figure_values(f"panels[{panel!r}][{name!r}] steps", steps)
            values = figure_values(
                f"panels[{panel!r}][{name!r}] values", values, positive=panel in log_y
            )
            if steps.shape != values.shape:
                raise ValueError(
                    f"panels[{panel!r}][{name!r}]: {len(steps)} steps for {len(values)} values"
                )
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.1)
    runs = list(dict.fromkeys(name for t in titles for name in panels[t]))
    colors = series_colors(distinct_labels("the runs of panels", runs))
    first_panel: dict[str, int] = {}  # a run's legend entry: the first panel that draws it
    for j, panel in enumerate(titles):
        for name, (steps, values) in panels[panel].items():
            style = dict(color=colors[runs.index(name)], dash=series_dash(name) or "solid")
            style.update((styles or {}).get(name, {}))
            fig.add_trace(
                go.Scatter(
                    x=to_numpy(steps, np.int32),
                    y=plot_array(values),
                    mode="lines",
                    name=_label(name),
                    legendgroup=name,
                    showlegend=first_panel.setdefault(name, j) == j,
                    line=dict(width=2.5, **style),
                ),
                row=1,
                col=j + 1,
            )
        if thresholds and panel in thresholds:
            fig.add_hline(
                y=float(thresholds[panel]),
                line=dict(color=INK, width=1, dash="dot"),
                row=1,
                col=j + 1,
            )
        fig.update_xaxes(title_text="step", row=1, col=j + 1)
        fig.update_yaxes(
            title_text=panel, type="log" if panel in log_y else "linear", row=1, col=j + 1
        )
    return fit_layout(
        fig, height=300, title=title or "Convergence", legend_rows="auto", subplot_titles=True
    )
