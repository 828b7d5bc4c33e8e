"""Mixup Inference pictures (ICLR 2020): mixing with clean partners shrinks an attack's effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .. import checks
from ..runtime import to_numpy
from .inputs import figure_record, figure_values
from .style import animate, class_color, class_count, fit_layout, plot_array, series_color

if TYPE_CHECKING:
    import torch

    from ..mixup_inference import MixingEffect

__all__ = ["mixing_animation"]


def mixing_animation(
    effect: MixingEffect,
    lams: Sequence[float] | np.ndarray | torch.Tensor,
    x_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    *,
    active: int = -1,
    title: str | None = None,
    duration_ms: int = 0,
) -> go.Figure:
    """Return the mixed clean and mixed adversarial points over the training points.

    The animation has one frame per mixing weight.

    Parameters
    ----------
    effect : robviz.mixup_inference.MixingEffect
        A :class:`robviz.mixup_inference.MixingEffect` (``mixed_clean`` and ``mixed_adv`` of shape
        (len(lams), ..., 2)), e.g. from ``mixing_effect``.
    lams : sequence of float
        The mixing weights lambda of its frames.
    x_train, y_train
        (N, 2) points and (N,) labels drawn faintly underneath.
    active : int
        The frame the figure opens on (default: the last, lambda = 1, the attack's full effect); the
        slider names it.
    title : str or None
        The figure title.
    duration_ms : int
        Least time per frame when playing.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No mixing weight, an effect without one frame per weight, no training point, labels that
        are not one integer class per point, or a NaN or infinite weight, point or mixed point
        (naming the argument and the index).
    """
    fields = ("mixed_clean", "mixed_adv")
    figure_record("effect", effect, "robviz.mixup_inference.MixingEffect", fields)
    lams = figure_values("lams", lams).tolist()
    for field in fields:
        if len(figure_values(f"effect.{field}", getattr(effect, field))) != len(lams):
            raise ValueError(f"effect.{field} must have one frame per mixing weight ({len(lams)})")
    x_train = figure_values("x_train", x_train)
    y_train = checks.labels("y_train", to_numpy(y_train), len(x_train)).numpy()
    class_count("y_train", y_train)
    labels = [f"{lam:.1f}" for lam in lams]
    if len(set(labels)) != len(labels):
        labels = [f"{lam:.3g}" for lam in lams]
    x_train = plot_array(x_train)

    def frame(k: int) -> list[go.Scatter]:
        mc, ma = (
            plot_array(effect.mixed_clean[k]).reshape(-1, 2),
            plot_array(effect.mixed_adv[k]).reshape(-1, 2),
        )
        return [
            go.Scatter(
                x=mc[:, 0],
                y=mc[:, 1],
                mode="markers",
                name="mixed clean",
                marker=dict(color=series_color(0), size=6),
            ),
            go.Scatter(
                x=ma[:, 0],
                y=ma[:, 1],
                mode="markers",
                name="mixed adversarial",
                marker=dict(color=series_color(1), symbol="x", size=7),
            ),
        ]

    background = [
        go.Scatter(
            x=x_train[y_train == k, 0],
            y=x_train[y_train == k, 1],
            mode="markers",
            marker=dict(color=class_color(k), size=4, opacity=0.25),
            name=f"class {k}",
            hoverinfo="skip",
        )
        for k in range(int(y_train.max()) + 1)
    ]
    fig = go.Figure(data=background + frame(0))
    animate(
        fig,
        [frame(k) for k in range(len(lams))],
        labels,
        active=active,
        duration_ms=duration_ms,
        prefix="λ = ",
    )
    fig.update_layout(
        xaxis_title="x₁", yaxis=dict(title="x₂", scaleanchor="x"), xaxis=dict(constrain="domain")
    )
    return fit_layout(
        fig,
        height=380,
        legend_rows="auto",
        slider=True,
        title=title or "Mixing with clean partners as λ changes",
    )
