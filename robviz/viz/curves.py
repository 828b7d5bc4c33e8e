"""Line plots of recorded training histories."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .inputs import figure_mapping, figure_series, figure_values
from .style import OBJECTIVE_LABELS, distinct_labels, fit_layout, series_colors, series_dash

__all__ = ["training_curves"]

_METRIC_TITLES = {
    "loss": "training loss",
    "train_accuracy": "train accuracy",
    "test_accuracy": "test accuracy",
    "feature_norm": "mean feature norm ‖z‖",
}
# The y-axis titles say the unit: accuracies are fractions in [0, 1], norms are in feature units.
_METRIC_AXES = {
    "loss": "loss",
    "train_accuracy": "accuracy (fraction)",
    "test_accuracy": "accuracy (fraction)",
    "feature_norm": "‖z‖ (feature units)",
}


def training_curves(
    histories: dict,
    metrics: Sequence[str] = ("test_accuracy", "feature_norm"),
    *,
    title: str | None = None,
    log_y: tuple = (),
) -> go.Figure:
    """One panel per recorded metric, one line per run, against the optimizer step.

    Parameters
    ----------
    histories : dict
        Name -> :class:`robviz.train.History`.
    metrics : sequence of str
        History attributes to plot (loss, train_accuracy, test_accuracy, feature_norm).
    log_y : tuple
        Metrics drawn on a logarithmic axis.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No history or no metric, an unknown metric, a history without snapshots, a NaN or
        infinite value of a drawn metric (a diverged run: its line would silently stop), or a
        value <= 0 of a metric in ``log_y`` (off its log axis), naming the run and the snapshot.
    """
    figure_mapping("histories", histories)
    for metric in figure_series("metrics", metrics):
        if metric not in _METRIC_TITLES:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(_METRIC_TITLES)}")
    for name, history in histories.items():
        figure_values(f"histories[{name!r}].step", history.step)
        for metric in metrics:
            figure_values(
                f"histories[{name!r}].{metric}", getattr(history, metric), positive=metric in log_y
            )
    fig = make_subplots(
        rows=1,
        cols=len(metrics),
        subplot_titles=[_METRIC_TITLES[m] for m in metrics],
        horizontal_spacing=0.1,
    )
    colors = series_colors(distinct_labels("histories", histories))
    for i, (name, history) in enumerate(histories.items()):
        for j, metric in enumerate(metrics):
            fig.add_trace(
                go.Scatter(
                    x=history.step,
                    y=getattr(history, metric),
                    mode="lines",
                    name=OBJECTIVE_LABELS.get(name, name),
                    legendgroup=name,
                    showlegend=j == 0,
                    line=dict(color=colors[i], width=2, dash=series_dash(name)),
                ),
                row=1,
                col=j + 1,
            )
            fig.update_xaxes(title_text="step", row=1, col=j + 1)
            fig.update_yaxes(title_text=_METRIC_AXES[metric], row=1, col=j + 1)
            if metric in log_y:
                fig.update_yaxes(type="log", row=1, col=j + 1)
    return fit_layout(
        fig, height=290, title=title or "Training curves", legend_rows="auto", subplot_titles=True
    )
