"""Attacks measured against the truth.

Exact robust accuracy (robviz.exact) beside each attack's, exact minimal distances beside an
attack's estimates, and the exact decision boundary as a line trace.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from .inputs import figure_mapping, figure_values
from .style import NAMED_COLORS, distinct_labels, fit_layout, plot_array, series_colors

if TYPE_CHECKING:
    import torch

    from ..exact import ExactBoundary

__all__ = ["exact_vs_attacks", "distance_scatter", "boundary_trace", "bounds_sandwich"]

_SYMBOLS = [
    "circle-open",
    "square-open",
    "diamond-open",
    "triangle-up-open",
    "x-thin-open",
    "cross-open",
    "star-open",
    "hexagon-open",
]

_FILLED = ["circle", "diamond", "square", "triangle-up", "cross", "x"]


def _radii(eps_list: Iterable[float]) -> list[float]:
    """Return the radii of a figure's x axis as floats, or raise naming ``eps_list``."""
    return figure_values("eps_list", list(eps_list)).tolist()


def _series(name: str, values: npt.ArrayLike, length: int) -> None:
    """Raise naming ``name`` unless ``values`` are ``length`` accuracies in [0, 1]."""
    count = len(figure_values(name, values, within=(0, 1)))
    if count != length:
        raise ValueError(f"{name} has {count} values for {length} radii")


def exact_vs_attacks(
    eps_list: Iterable[float], exact: dict, attacks: dict, *, title: str | None = None
) -> go.Figure:
    """Robust accuracy against the radius.

    The exact value of each model as a line, each attack as markers on or above it (an attack can
    only overestimate robust accuracy).

    Parameters
    ----------
    eps_list : sequence of float
        The E radii.
    exact : dict
        ``{model: E exact robust accuracies in [0, 1]}`` (from
        :func:`robviz.exact.robust_accuracy_curve`).
    attacks : dict
        ``{model: {attack: E robust accuracies}}``.
    title : str or None
        The figure title.

    Returns
    -------
    go.Figure
        A plotly Figure, accuracies in percent; one colour per model, one marker symbol per attack.

    Raises
    ------
    ValueError
        No radius or no model, an attack of a model ``exact`` does not have, a series whose length
        is not that of ``eps_list``, a NaN or infinite radius or accuracy, an accuracy outside
        [0, 1] (naming the model and the attack), or two models (two attacks of a model) whose
        keys read alike (``1`` and ``"1"``: one legend name for two series).
    TypeError
        ``exact``, ``attacks`` or one model's attacks not a mapping.
    """
    eps = _radii(eps_list)
    for model in figure_mapping("exact", exact):
        _series(f"exact[{model!r}]", exact[model], len(eps))
    distinct_labels("exact", exact, {})  # the legend names a model by str(key)
    figure_mapping("attacks", attacks, allow_empty=True)
    for model, per_model in attacks.items():
        if model not in exact:
            raise ValueError(f"attacks[{model!r}] has no exact curve: exact has {list(exact)}")
        figure_mapping(f"attacks[{model!r}]", per_model, allow_empty=True)
        distinct_labels(f"attacks[{model!r}]", per_model, {})
        for attack, accs in per_model.items():
            _series(f"attacks[{model!r}][{attack!r}]", accs, len(eps))
    figure = go.Figure()
    names = list(dict.fromkeys(a for per_model in attacks.values() for a in per_model))
    colors = series_colors(exact)
    for i, (model, values) in enumerate(exact.items()):
        color = colors[i]
        figure.add_trace(
            go.Scatter(
                x=eps,
                y=[100 * v for v in values],
                mode="lines",
                name=f"{model}: exact",
                line=dict(color=color, width=3),
            )
        )
        for attack, accs in attacks.get(model, {}).items():
            figure.add_trace(
                go.Scatter(
                    x=eps,
                    y=[100 * v for v in accs],
                    mode="markers",
                    name=f"{model}: {attack}",
                    marker=dict(
                        color=color, size=10, symbol=_SYMBOLS[names.index(attack) % len(_SYMBOLS)]
                    ),
                )
            )
    figure.update_layout(
        xaxis_title="radius ε", yaxis_title="robust accuracy (%)", yaxis_range=[-3, 103]
    )
    # A horizontal legend above the plot: a side legend of two models times seven series scrolled
    # and hid entries. One row per model where every model has as many entries and they fit (else
    # a row held one model's entries and the next model's exact line).
    counts = {1 + len(attacks.get(model, {})) for model in exact}
    per_row = counts.pop() if len(counts) == 1 else 0
    widest = max(44 + 7.2 * len(trace.name) for trace in figure.data)
    by_model = len(exact) > 1 and per_row > 1 and widest * per_row <= 840
    fit_layout(
        figure,
        height=340,
        legend_rows=len(exact) if by_model else "auto",
        title=title or "Robust accuracy: exact (lines) and attacks (markers)",
    )
    if by_model:
        figure.update_layout(legend=dict(entrywidth=1 / per_row, entrywidthmode="fraction"))
    return figure


def bounds_sandwich(
    eps_list: Iterable[float], panels: dict, *, exact: str = "exact", title: str | None = None
) -> go.Figure:
    """Plot robust accuracy against the radius, one panel per model: the bounds and the truth.

    Certified lower bounds, the exact value and the attacks' upper bounds, one line each, the same
    colour for a series in every panel and one legend entry (in the first panel that draws it).

    Parameters
    ----------
    eps_list : sequence of float
        The E radii.
    panels : dict
        ``{model: {series: E robust accuracies in [0, 1]}}``, the series from the lowest bound to
        the highest (e.g. IBP, CROWN, exact, auto_attack, PGD-10).
    exact : str
        The name of the series drawn thick and black (the truth between the bounds).
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        No radius, no panel, a panel without series, a series whose length is not that of
        ``eps_list``, a NaN or infinite radius or accuracy, an accuracy outside [0, 1] (naming
        the panel and the series), or two panels (two series) whose keys read alike (``1`` and
        ``"1"``).
    TypeError
        ``panels`` or a panel not a mapping.
    """
    eps = _radii(eps_list)
    for model in figure_mapping("panels", panels):
        for name in figure_mapping(f"panels[{model!r}]", panels[model]):
            _series(f"panels[{model!r}][{name!r}]", panels[model][name], len(eps))
    titles = distinct_labels("panels", panels, {})  # the subplot titles
    names = list(dict.fromkeys(name for series in panels.values() for name in series))
    distinct_labels("the series of panels", names, {})  # one legend entry per name
    colors = series_colors(names)
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=titles,
        shared_yaxes=True,
        horizontal_spacing=0.06,
    )
    first_panel: dict[str, int] = {}  # a series' legend entry: the first panel that draws it

    def layer(name: str) -> int:
        # The wide exact line at the bottom, dotted lines over solid ones: where two series agree
        # (auto_attack and PGD-10 often do) both stay visible.
        return 0 if name == exact else 1 + names.index(name) % 2

    for col, series in enumerate(panels.values(), start=1):
        for name in sorted(series, key=layer):
            values = [100 * float(v) for v in series[name]]
            i = names.index(name)
            line = (
                dict(color=NAMED_COLORS["exact"], width=4)
                if name == exact
                else dict(color=colors[i], width=2, dash="dot" if i % 2 else None)
            )
            fig.add_trace(
                go.Scatter(
                    x=eps,
                    y=values,
                    mode="lines+markers",
                    name=str(name),
                    legendgroup=str(name),
                    # the legend keeps the given order, whatever the drawing order
                    legendrank=1 + i,
                    showlegend=first_panel.setdefault(name, col) == col,
                    line=line,
                    marker=dict(symbol=_SYMBOLS[i % len(_SYMBOLS)], size=9),
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="radius ε (L∞)", row=1, col=col)
    fig.update_yaxes(title_text="robust accuracy (%)", range=[-3, 103], row=1, col=1)
    return fit_layout(
        fig,
        height=320,
        legend_rows="auto",
        subplot_titles=True,
        title=title or "Certified ≤ exact ≤ attack",
    )


#: Distances are >= 0; an infinite one (no adversarial example in the box) is left out and counted.
_DISTANCES = (0.0, math.inf)


def distance_scatter(
    exact: dict | torch.Tensor, estimates: dict, *, title: str | None = None, log: bool = False
) -> go.Figure:
    """Each estimate of the minimal distance (DeepFool, C&W, ...) against the exact one, per point.

    With the diagonal y = x: points above it are overestimates (an attack's distance is never below
    the exact one).

    Parameters
    ----------
    exact : dict or torch.Tensor
        ``{model: (N,) exact distances}``, or one (N,) tensor for a single model.
    estimates : dict
        ``{label: (N,) distances}`` with labels like ``"SCE DeepFool"``, each plotted against the
        exact distances of the longest model name of ``exact`` it starts with (``"SCE-AT C&W"``
        against ``"SCE-AT"``, not ``"SCE"``), or against the only model's.
    title : str or None
        The figure title.
    log : bool
        Log axes, each from its smallest to its largest drawn distance, the diagonal across them:
        an overestimate by a factor is then a height above the diagonal, and a few large
        overestimates do not squeeze the other points into the bottom of the plot.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure. A point is drawn where both distances are finite and the exact one is
        positive (with ``log``, the estimate too); an infinite distance (no adversarial example in
        the box, or none found) or an exact distance of 0 (the point is already misclassified) is
        not, and the estimate's legend entry counts those points, "(k of N not drawn: ∞ or 0)".

    Raises
    ------
    ValueError
        No model or no estimate, an estimate whose label starts with no model name of several,
        an estimate of another length than its exact distances, or a distance that is empty, NaN,
        -inf or negative (naming the model or the estimate and the sample index), or two models
        (two estimates) whose keys read alike (``1`` and ``"1"``).
    TypeError
        ``exact`` neither a mapping nor one tensor, or ``estimates`` not a mapping.
    """
    log = checks.flag("log", log)
    if not isinstance(exact, dict) and not hasattr(exact, "shape"):  # a mapping, or one tensor
        raise TypeError(
            f"exact must be a mapping {{model: (N,) distances}} or one (N,) tensor, got "
            f"{type(exact).__name__}"
        )
    exact = exact if isinstance(exact, dict) else {"": exact}
    truths = {
        m: figure_values(
            "exact" if m == "" else f"exact[{m!r}]", exact[m], allow=("inf",), within=_DISTANCES
        )
        for m in figure_mapping("exact", exact)
    }
    figure = go.Figure()
    # the largest exact distance: the x axis and the diagonal end there, whatever the overestimates
    top = 0.0
    # for log axes: the smallest exact distance, the smallest and largest estimates
    low, guess_low, guess_top = math.inf, math.inf, 0.0
    # one colour per model (an estimate's colour is its model's), one symbol per attack
    colors = series_colors(figure_mapping("estimates", estimates))
    # keys are read by their str(): a label starts with its model's name, whatever their types
    model_names = dict(zip(distinct_labels("exact", exact, {}), exact))
    labels = distinct_labels("estimates", estimates, {})
    models = [_model_of(label, list(model_names)) for label in labels]
    attacks = [
        label.removeprefix(m).strip() if label.startswith(m) else label
        for label, m in zip(labels, models)
    ]
    kinds = list(dict.fromkeys(attacks))
    for i, (label, values) in enumerate(zip(labels, estimates.values())):
        model = model_names[models[i]]
        truth = plot_array(truths[model])
        guess = plot_array(
            figure_values(f"estimates[{label!r}]", values, allow=("inf",), within=_DISTANCES)
        )
        if guess.shape != truth.shape:
            raise ValueError(
                f"estimates[{label!r}] has shape {guess.shape}, its exact distances {truth.shape}"
            )
        # a log axis has no place for an estimate of 0 either: it is left out and counted
        keep = np.isfinite(truth) & np.isfinite(guess) & (truth > 0) & (guess > 0 if log else True)
        top = max(top, float(np.max(truth[keep], initial=0)))
        low = min(low, float(np.min(truth[keep], initial=math.inf)))
        guess_low = min(guess_low, float(np.min(guess[keep], initial=math.inf)))
        guess_top = max(guess_top, float(np.max(guess[keep], initial=0)))
        left_out = int((~keep).sum())
        figure.add_trace(
            go.Scatter(
                x=truth[keep],
                y=guess[keep],
                mode="markers",
                name=f"{label} ({left_out} of {len(keep)} not drawn: ∞ or 0)"
                if left_out
                else label,
                marker=dict(
                    color=colors[i],
                    size=7,
                    opacity=0.7,
                    symbol=_FILLED[kinds.index(attacks[i]) % len(_FILLED)],
                ),
            )
        )
    ends = [low / 1.2, 1.2 * top] if log and top > 0 else [0, top]
    figure.add_trace(
        go.Scatter(
            x=ends,
            y=ends,
            mode="lines",
            name="estimate = exact",
            line=dict(color="black", dash="dot"),
        )
    )
    if log and top > 0:
        figure.update_layout(
            xaxis=dict(
                title="exact distance (log scale)",
                type="log",
                range=[math.log10(ends[0]), math.log10(ends[1])],
            ),
            yaxis=dict(
                title="attack's distance (log scale)",
                type="log",
                # from the smallest estimate drawn: one below the smallest exact distance (an
                # attack's rounding, or a bug to see) was cut off by a range starting at the latter
                range=[
                    math.log10(min(ends[0], guess_low / 1.2)),
                    math.log10(1.2 * max(guess_top, top)),
                ],
            ),
        )
    else:
        figure.update_layout(
            xaxis=dict(title="exact distance", range=[0, 1.05 * top] if top > 0 else None),
            yaxis_title="attack's distance",
        )
    # the legend in its band above the plot, as in every other figure (plotly's default column
    # on the right took a fifth of the width from the points)
    return fit_layout(
        figure,
        height=320,
        title=title or "Estimated vs exact minimal distance",
        legend_rows="auto",
    )


def _model_of(label: str, models: list[str]) -> str:
    """Return the model whose exact distances the estimate ``label`` is drawn against, or raise.

    The longest model name the label starts with ("SCE-AT C&W": "SCE-AT", not "SCE"), or the only
    model; a label of none of several models is refused, never drawn against another's truth.
    """
    if len(models) == 1:
        return models[0]
    named = [m for m in models if label.startswith(m)]
    if not named:
        raise ValueError(
            f"estimates[{label!r}] starts with no model name of exact ({models}): "
            "name its model first, e.g. 'SCE DeepFool'"
        )
    return max(named, key=len)


def boundary_trace(
    segments: npt.ArrayLike | ExactBoundary,
    *,
    name: str = "exact boundary",
    color: str = "black",
    width: float = 1.5,
) -> go.Scatter:
    """Return the exact decision boundary as one line trace.

    Parameters
    ----------
    segments : array-like, (S, 2, 2), or robviz.exact.ExactBoundary
        The boundary's segments (two endpoints of two coordinates each), e.g.
        ``ExactBoundary.segments()[0]``; an ExactBoundary is asked for its segments.
    name : str, default "exact boundary"
        The legend entry.
    color : str, default "black"
        The line's colour.
    width : float, default 1.5
        The line's width in pixels.

    Returns
    -------
    plotly.graph_objects.Scatter
        One line trace, with a gap between consecutive segments; no segment (S = 0) gives an
        empty trace.

    Raises
    ------
    ValueError
        Segments not of shape (S, 2, 2), or with a NaN or infinite coordinate (naming the
        segment): a NaN endpoint would silently drop its segment from the line.
    """
    if hasattr(segments, "segments"):
        segments = segments.segments()[0]
    segments = figure_values("segments", segments, allow_empty=True)
    if segments.ndim != 3 or segments.shape[1:] != (2, 2):
        raise ValueError(
            f"segments must have shape (S, 2, 2): S segments of two endpoints (x, y), got "
            f"{segments.shape}"
        )
    gaps = np.full((len(segments), 1, 2), np.nan)
    path = np.concatenate([segments, gaps], axis=1).reshape(-1, 2)
    return go.Scatter(
        x=path[:, 0].astype(np.float32),
        y=path[:, 1].astype(np.float32),
        mode="lines",
        name=name,
        line=dict(color=color, width=width),
        connectgaps=False,
        hoverinfo="skip",
    )
