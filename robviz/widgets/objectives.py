"""The objective explorer: pick an objective, retrain the toy model, redraw its 2-D features."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from .. import checks
from ..runtime import percent_text
from ..data import load_dataset
from ..models import Classifier, make_model
from ..objectives import OBJECTIVES
from ..regions import feature_regions
from ..train import History, TrainConfig, fit
from ..viz.features import feature_figure
from ..viz.style import OBJECTIVE_LABELS
from .base import Dashboard

__all__ = ["ObjectiveExplorer", "TOY_CLASSES"]

#: The class counts each toy dataset can make (the explorer's slider range); moons has two classes
#: only.
TOY_CLASSES = {"gaussians": (2, 6), "spirals": (2, 6), "moons": (2, 2)}


class ObjectiveExplorer(Dashboard):
    """Pick an objective, the number of classes, the batch size and the steps.

    The toy model retrains and the 2-D feature picture (features, decision regions, centers)
    redraws.

    Parameters
    ----------
    dataset : str
        ``"spirals"``, ``"gaussians"`` (2-6 classes) or ``"moons"`` (2 classes: the slider is
        fixed).
    objective, num_classes, batch_size, steps
        The initial control values: ``batch_size`` None or 0 (the full batch), 16 or 64; ``steps``
        an integer in the slider's range, 100 to 2000 (a value outside was clamped before).
    seed : int
        Seeds data, model and batches, so each setting always gives the same picture.

    Attributes
    ----------
    widget
        The ipywidgets box (CSS class ``robviz-explorer``); ``display(explorer)`` shows it.
    history, model
        The last run.

    Raises
    ------
    ValueError
        An unknown dataset or objective, or a number of classes, batch size or steps the controls
        do not offer.
    """

    def __init__(
        self,
        dataset: str = "spirals",
        objective: str = "mmc",
        num_classes: int = 3,
        batch_size: int | None = None,
        steps: int = 400,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        steps = checks.integer("steps", steps, low=100, high=2000, note="the slider's range")
        batch_size = checks.integer(
            "batch_size", batch_size, low=0, allow_none=True, note="None or 0: the full batch"
        )
        checks.choice("batch_size", batch_size or 0, (0, 16, 64))  # the dropdown's options
        seed = checks.seed("seed", seed)
        checks.choice("dataset", dataset, TOY_CLASSES)
        checks.choice("objective", objective, OBJECTIVES)
        low, high = TOY_CLASSES[dataset]
        num_classes = checks.integer(
            "num_classes", num_classes, low=low, high=high, note=f"dataset {dataset!r}"
        )
        self.dataset, self.seed, self.device = dataset, seed, device
        self.history: History | None = None
        self.model: Classifier | None = None
        style = {"description_width": "initial"}
        self.objective = widgets.Dropdown(
            options=list(OBJECTIVES), value=objective, description="objective", style=style
        )
        self.num_classes = widgets.IntSlider(
            value=num_classes,
            min=low,
            max=max(high, low + 1),
            disabled=low == high,
            description="classes",
            continuous_update=False,
            style=style,
        )
        # 0 stands for "full batch": a Dropdown shows the value None as an empty selection.
        self.batch_size = widgets.Dropdown(
            options=[("full batch", 0), ("64", 64), ("16", 16)],
            value=batch_size or 0,
            description="batch size",
            style=style,
        )
        self.steps = widgets.IntSlider(
            value=steps,
            min=100,
            max=2000,
            step=100,
            description="steps",
            continuous_update=False,
            style=style,
        )
        self._assemble(
            [self.objective, self.num_classes, self.batch_size, self.steps], "robviz-explorer"
        )
        self.update()  # at construction an error raises: the arguments were wrong

    busy = "training…"

    def compute(self) -> History:
        """Retrain with the current control values; returns the :class:`robviz.train.History`."""
        data = load_dataset(
            self.dataset, num_classes=self.num_classes.value, seed=self.seed, device=self.device
        )
        self.model = make_model(data, self.objective.value, feature_dim=2, seed=self.seed)
        config = TrainConfig(
            steps=self.steps.value,
            batch_size=self.batch_size.value or None,
            record_every=0,
            seed=self.seed,
        )
        self.history = fit(self.model, data, config, progress=False)
        return self.history

    def figure(self) -> go.Figure:
        """Return the feature picture of the last run."""
        h, model = self.history, self.model
        # compute, which sets them, runs first; fit always records the features of the last step
        assert h is not None and model is not None
        assert h.features is not None and h.probe_y is not None
        name = OBJECTIVE_LABELS[self.objective.value]
        title = (
            f"{name}: {self.num_classes.value} classes, test accuracy "
            f"{percent_text(100 * h.test_accuracy[-1])}% "
            f"after {h.step[-1]} steps"
        )
        return feature_figure(
            h.features[-1],
            h.probe_y,
            centers=h.centers,
            regions=feature_regions(model, h, resolution=120),
            title=title,
        )
