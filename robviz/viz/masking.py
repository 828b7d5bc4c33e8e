"""Pictures of the gradient-masking checks of :mod:`robviz.masking`: curves and loss landscapes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from ..runtime import to_numpy
from .inputs import figure_mapping, figure_record, figure_series, figure_values
from .style import fit_layout, series_colors

if TYPE_CHECKING:
    from ..masking import LossSurface, StepsCurve

__all__ = [
    "eps_curve_figure",
    "steps_curve_figure",
    "box_comparison_figure",
    "loss_line_figure",
    "loss_surface_figure",
]


def eps_curve_figure(curves: dict, title: str = "Robust accuracy vs radius") -> go.Figure:
    """Plot accuracy (%) against the radius ε, one line per model.

    Carlini et al.'s check ends the radii on the whole input range, where every input is reachable
    and the accuracy must be 0: a radius often many times the others. When the last radius is
    further from the one before than the other radii span, it is drawn in a narrow panel of its
    own beside the curve (a broken axis), so that it does not squeeze the curve into a corner.

    Parameters
    ----------
    curves : dict
        Maps a model's name to its :class:`~robviz.masking.EpsCurve`; a curve that looks masked
        gets "(masked?)" after its name.
    title : str, default "Robust accuracy vs radius"
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No curve, a curve without radii, radii and accuracies of different lengths, a NaN or
        infinite radius or accuracy, or an accuracy outside [0, 1] (naming the model).
    """
    radii: set[float] = set()
    for name in figure_mapping("curves", curves):
        eps = figure_values(f"curves[{name!r}].eps", curves[name].eps)
        accuracy = figure_values(f"curves[{name!r}].accuracy", curves[name].accuracy, within=(0, 1))
        if len(eps) != len(accuracy):
            raise ValueError(
                f"curves[{name!r}] has {len(accuracy)} accuracies for {len(eps)} radii"
            )
        radii.update(float(e) for e in eps)
    ordered = sorted(radii)
    far = ordered[-1] if len(ordered) >= 3 else None
    if far is not None and far - ordered[-2] <= ordered[-2] - ordered[0]:
        far = None  # no gap to break: one axis
    fig = (
        make_subplots(
            rows=1, cols=2, column_widths=[0.86, 0.14], horizontal_spacing=0.04, shared_yaxes=True
        )
        if far is not None
        else go.Figure()
    )
    colors = series_colors(curves)
    for i, (name, curve) in enumerate(curves.items()):
        label = f"{name}{' (masked?)' if curve.looks_masked else ''}"
        points = [(float(e), 100 * float(a)) for e, a in zip(curve.eps, curve.accuracy)]
        near = [p for p in points if far is None or p[0] != far]
        trace = go.Scatter(
            x=[p[0] for p in near],
            y=[p[1] for p in near],
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line=dict(color=colors[i]),
        )
        if far is None:
            fig.add_trace(trace)
            continue
        fig.add_trace(trace, row=1, col=1)
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points if p[0] == far],
                y=[p[1] for p in points if p[0] == far],
                mode="markers",
                name=label,
                legendgroup=label,
                showlegend=False,
                marker=dict(color=colors[i]),
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(range=[-3, 103])
    if far is None:
        fig.update_layout(xaxis_title="radius ε (L∞)", yaxis_title="robust accuracy (%)")
    else:
        half = (ordered[-2] - ordered[0]) / 12  # the main panel's ε per pixel: 0.14 / 0.86 ≈ 1/6
        fig.update_xaxes(title_text="radius ε (L∞)", row=1, col=1)
        fig.update_yaxes(title_text="robust accuracy (%)", row=1, col=1)
        fig.update_xaxes(
            title_text="whole range",
            tickvals=[far],
            ticktext=[f"{far:g}"],
            range=[far - half, far + half],
            row=1,
            col=2,
        )
    return fit_layout(fig, height=320, title=title, legend_rows="auto")


def steps_curve_figure(
    curve: StepsCurve, title: str = "Robust accuracy vs attack steps"
) -> go.Figure:
    """Accuracy (%) against steps (log axis), one line per number of restarts.

    Parameters
    ----------
    curve : robviz.masking.StepsCurve
        The accuracies, ``accuracy[i][j]`` for ``steps[i]`` and ``restarts[j]``; its verdict is the
        subtitle.
    title : str, default "Robust accuracy vs attack steps"
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No steps or no restarts, an accuracy grid that is not (len(steps), len(restarts)), a NaN
        or infinite value, a number of steps <= 0 (off the log axis) or an accuracy outside
        [0, 1].
    """
    figure_record("curve", curve, "robviz.masking.StepsCurve", ("steps", "restarts", "accuracy"))
    figure_values("curve.steps", curve.steps, positive=True)  # on a log axis
    figure_values("curve.restarts", curve.restarts)
    grid = figure_values("curve.accuracy", curve.accuracy, within=(0, 1))
    if grid.shape != (len(curve.steps), len(curve.restarts)):
        raise ValueError(
            f"curve.accuracy must have shape {(len(curve.steps), len(curve.restarts))} "
            f"(steps, restarts), got {grid.shape}"
        )
    fig = go.Figure()
    colors = series_colors(f"{r} restarts" for r in curve.restarts)
    for j, restarts in enumerate(curve.restarts):
        fig.add_trace(
            go.Scatter(
                x=curve.steps,
                y=100 * grid[:, j],
                mode="lines+markers",
                name=f"{restarts} restart{'s' if restarts > 1 else ''}",
                line=dict(color=colors[j]),
            )
        )
    # A log axis with one labelled tick per measured number of steps (plotly's own log ticks label
    # every digit).
    steps = [int(s) for s in curve.steps]
    fig.update_layout(
        xaxis=dict(
            title="attack steps",
            type="log",
            tickmode="array",
            tickvals=steps,
            ticktext=[str(s) for s in steps],
            minor=dict(showgrid=False, ticks=""),
        ),
        yaxis_title="robust accuracy (%)",
        yaxis_range=[-3, 103],
    )
    return fit_layout(fig, height=320, title=title, subtitle=curve.verdict, legend_rows="auto")


def box_comparison_figure(comparisons: dict, title: str = "White-box vs black-box") -> go.Figure:
    """Draw grouped bars: each model's accuracy under every attack.

    Parameters
    ----------
    comparisons : dict
        Maps a model's name to its :class:`~robviz.masking.BoxComparison`; an attack missing for a
        model gets an empty slot labelled "not run".
    title : str, default "White-box vs black-box"
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No model, no attack at all, or a NaN, infinite or outside [0, 1] accuracy (naming the
        model and the attack).
    """
    for name in figure_mapping("comparisons", comparisons):
        for attack, value in comparisons[name].accuracy.items():
            figure_values(f"comparisons[{name!r}].accuracy[{attack!r}]", [value], within=(0, 1))
    fig = go.Figure()
    keys = []
    for comparison in comparisons.values():
        keys += [k for k in comparison.accuracy if k not in keys]
    figure_series("the comparisons' accuracy", keys)
    colors = series_colors(keys)
    for i, key in enumerate(keys):
        # an attack not run on a model: an empty slot labelled "not run", never a silent gap
        run = [key in c.accuracy for c in comparisons.values()]
        fig.add_trace(
            go.Bar(
                x=list(comparisons),
                name=key,
                marker_color=colors[i],
                y=[
                    100 * c.accuracy[key] if key in c.accuracy else 0.0
                    for c in comparisons.values()
                ],
                text=["" if done else "not run" for done in run],
                textposition="outside",
                textangle=-90,
                cliponaxis=False,
            )
        )
    fig.update_layout(
        barmode="group", yaxis_title="accuracy (%)", xaxis_title="model", yaxis_range=[0, 103]
    )
    return fit_layout(fig, height=320, title=title, legend_rows="auto")


def loss_line_figure(
    lines: dict, title: str = "Loss along the attack direction", samples: int = 0
) -> go.Figure:
    """Return the mean loss along x + alpha d, one line per model.

    Parameters
    ----------
    lines : dict
        Maps a model's name to its :class:`~robviz.masking.LossLine`.
    title : str, default "Loss along the attack direction"
        The figure's title.
    samples : int, default 0
        The number of thin per-sample lines drawn under each mean (at most the line's N).

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No line, or a line with no alphas or a NaN or infinite alpha, loss or mean (naming the
        model).
    """
    samples = checks.integer("samples", samples, low=0)
    for name in figure_mapping("lines", lines):
        figure_values(f"lines[{name!r}].alphas", lines[name].alphas)
        figure_values(f"lines[{name!r}].loss", lines[name].loss)
        figure_values(f"lines[{name!r}].mean", lines[name].mean)
    fig = go.Figure()
    colors = series_colors(lines)
    for i, (name, line) in enumerate(lines.items()):
        alphas = to_numpy(line.alphas)
        for n in range(min(samples, line.loss.shape[1])):
            fig.add_trace(
                go.Scatter(
                    x=alphas,
                    y=to_numpy(line.loss[:, n]),
                    mode="lines",
                    showlegend=False,
                    line=dict(color=colors[i], width=0.7),
                    opacity=0.35,
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=alphas,
                y=to_numpy(line.mean),
                mode="lines",
                line=dict(color=colors[i], width=3),
                name=f"{name}{' (masked?)' if line.looks_masked else ''}",
            )
        )
    fig.add_vline(x=0, line_dash="dot", line_color="#777777")
    fig.update_layout(xaxis_title="α (step along d)", yaxis_title="loss")
    return fit_layout(fig, height=320, title=title, legend_rows="auto")


def loss_surface_figure(
    surface: LossSurface, title: str = "Loss landscape", kind: str = "heatmap"
) -> go.Figure:
    """Return the mean loss on the plane x + a d1 + b d2 as a ``"heatmap"`` or a 3-D ``"surface"``.

    Parameters
    ----------
    surface : robviz.masking.LossSurface
        The loss (B, A) on the grid ``alphas`` (A,) by ``betas`` (B,); its verdict is the subtitle.
    title : str, default "Loss landscape"
        The figure's title.
    kind : {"heatmap", "surface"}
        A heatmap, or a 3-D surface.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        When ``kind`` is neither ``"heatmap"`` nor ``"surface"``, or the grid is empty or has a NaN
        or infinite value (naming ``surface.alphas``, ``surface.betas`` or ``surface.loss``).
    """
    fields = ("alphas", "betas", "loss")
    figure_record("surface", surface, "robviz.masking.LossSurface", fields)
    a, b, z = (
        figure_values(f"surface.{field}", getattr(surface, field))
        for field in ("alphas", "betas", "loss")
    )
    if kind == "heatmap":
        trace = go.Heatmap(x=a, y=b, z=z, colorscale="Viridis", colorbar=dict(title="loss"))
    elif kind == "surface":
        trace = go.Surface(x=a, y=b, z=z, colorscale="Viridis", colorbar=dict(title="loss"))
    else:
        raise ValueError(f"kind must be 'heatmap' or 'surface', got {kind!r}")
    fig = go.Figure(trace)
    fit_layout(
        fig,
        height=360 if kind == "heatmap" else 420,
        title=title,
        subtitle=surface.verdict,
        bottom=58 if kind == "heatmap" else 10,
    )
    if kind == "heatmap":
        fig.update_layout(xaxis_title="a (gradient sign)", yaxis_title="b (random sign)")
    else:
        fig.update_layout(
            scene=dict(
                xaxis_title="a (gradient sign)", yaxis_title="b (random sign)", zaxis_title="loss"
            )
        )
    return fig
