"""ipywidgets dashboards: controls wired to "recompute, then redraw"."""

from __future__ import annotations

import html

import anywidget
import ipywidgets as widgets
import traitlets
from IPython.display import display

from . import checks
from .data import load_dataset
from .models import make_model
from .objectives import OBJECTIVES
from .regions import feature_regions
from .train import TrainConfig, fit
from .viz.features import feature_figure
from .viz.style import OBJECTIVE_LABELS

__all__ = ["Dashboard", "ObjectiveExplorer", "KeyboardScope"]

#: The class counts each toy dataset can make (the explorer's slider range); moons has two classes only.
TOY_CLASSES = {"gaussians": (2, 6), "spirals": (2, 6), "moons": (2, 2)}


class KeyboardScope(anywidget.AnyWidget):
    """An invisible widget that hands the keyboard to the controls of the dashboard it sits in.

    In JupyterLab's command mode the notebook's shortcuts see a key press before a focused drop-down or slider
    does: an arrow key moves to the next cell instead of changing the control. JupyterLab skips its shortcuts for
    elements marked ``data-lm-suppress-shortcuts``; this widget marks every focusable control inside its nearest
    ancestor with the CSS class ``scope`` (e.g. ``robviz-explorer``), also controls drawn later, so arrow keys,
    Home and End change the control.
    """

    scope = traitlets.Unicode("robviz-explorer").tag(sync=True)
    _esm = """
    const FOCUSABLE = "select, input, textarea, button, [tabindex]";
    export default {
      render({ model, el }) {
        el.style.display = "none";
        const markAll = (box) => {
          for (const control of box.querySelectorAll(FOCUSABLE)) {
            control.setAttribute("data-lm-suppress-shortcuts", "true");
          }
        };
        // The view is attached to the page after render returns: look for the dashboard until it is there.
        let tries = 0;
        const timer = setInterval(() => {
          const box = el.closest("." + model.get("scope"));
          if (box) {
            clearInterval(timer);
            markAll(box);
            new MutationObserver(() => markAll(box)).observe(box, { childList: true, subtree: true });
          } else if (++tries > 100) {
            clearInterval(timer);
          }
        }, 100);
      },
    };
    """


class Dashboard:
    """What every robviz dashboard shares: controls, a status line, an output area, "recompute, then redraw".

    Subclasses build their controls, call :meth:`_assemble` and implement :meth:`compute` (the work, e.g. a
    training run), :meth:`figure` and optionally :meth:`report` (the status line afterwards); ``busy`` is the
    status shown meanwhile. A control change runs :meth:`update` through :meth:`redraw`, which shows any exception
    inside the dashboard (a red box in the output area, class ``robviz-error``, and in the status line) instead of
    leaving it in a log the student never sees; the dashboard stays usable for the next change.
    """

    busy = "computing…"

    def _assemble(self, controls: list, scope: str) -> None:
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.error: str | None = None
        self.widget = widgets.VBox([widgets.HBox(controls), self.status, self.output, KeyboardScope(scope=scope)])
        self.widget.add_class(scope)
        for control in controls:
            control.observe(lambda change: self.redraw(), names="value")

    def compute(self):
        raise NotImplementedError

    def figure(self):
        raise NotImplementedError

    def report(self) -> str:
        return ""

    def update(self) -> None:
        """Recompute for the current control values, then redraw the figure and the status line."""
        self.status.value = f"<i>{self.busy}</i>"
        self.compute()
        self.output.clear_output(wait=True)
        with self.output:
            display(self.figure())
        self.status.value = self.report()

    def redraw(self) -> None:
        """:meth:`update`, with any error shown in the dashboard (kept in ``self.error``)."""
        try:
            self.update()
            self.error = None
        except Exception as exc:  # noqa: BLE001 -- a callback's error must reach the student, whatever it is
            self.error = f"{type(exc).__name__}: {exc}"
            text = html.escape(self.error)
            self.status.value = f'<span style="color:#b00020"><b>Error</b> (nothing was redrawn): {text}</span>'
            self.output.clear_output(wait=True)
            with self.output:
                display(widgets.HTML(f'<div class="robviz-error" style="border:2px solid #b00020;padding:6px">'
                                     f'<b>Error</b>: {text}</div>'))

    def _ipython_display_(self):
        display(self.widget)


class ObjectiveExplorer(Dashboard):
    """Pick an objective, the number of classes, the batch size and the steps; the toy model retrains and the
    2-D feature picture (features, decision regions, centers) redraws.

    Args:
        dataset: ``"spirals"``, ``"gaussians"`` (2-6 classes) or ``"moons"`` (2 classes: the slider is fixed).
        objective, num_classes, batch_size, steps: the initial control values.
        seed: seeds data, model and batches, so each setting always gives the same picture.

    Attributes:
        widget: the ipywidgets box (CSS class ``robviz-explorer``); ``display(explorer)`` shows it.
        history, model: the last run.
    """

    def __init__(self, dataset: str = "spirals", objective: str = "mmc", num_classes: int = 3,
                 batch_size: int | None = None, steps: int = 400, seed: int = 0, device="cpu"):
        checks.choice("dataset", dataset, TOY_CLASSES)
        checks.choice("objective", objective, OBJECTIVES)
        low, high = TOY_CLASSES[dataset]
        num_classes = checks.integer("num_classes", num_classes, low=low, high=high, note=f"dataset {dataset!r}")
        self.dataset, self.seed, self.device = dataset, seed, device
        self.history = self.model = None
        style = {"description_width": "initial"}
        self.objective = widgets.Dropdown(options=list(OBJECTIVES), value=objective, description="objective",
                                          style=style)
        self.num_classes = widgets.IntSlider(value=num_classes, min=low, max=max(high, low + 1),
                                             disabled=low == high, description="classes",
                                             continuous_update=False, style=style)
        # 0 stands for "full batch": a Dropdown shows the value None as an empty selection.
        self.batch_size = widgets.Dropdown(options=[("full batch", 0), ("64", 64), ("16", 16)],
                                           value=batch_size or 0, description="batch size", style=style)
        self.steps = widgets.IntSlider(value=steps, min=100, max=2000, step=100, description="steps",
                                       continuous_update=False, style=style)
        self._assemble([self.objective, self.num_classes, self.batch_size, self.steps], "robviz-explorer")
        self.update()  # at construction an error raises: the arguments were wrong

    busy = "training…"

    def compute(self):
        """Retrain with the current control values; returns the :class:`robviz.train.History`."""
        data = load_dataset(self.dataset, num_classes=self.num_classes.value, seed=self.seed, device=self.device)
        self.model = make_model(data, self.objective.value, feature_dim=2, seed=self.seed)
        config = TrainConfig(steps=self.steps.value, batch_size=self.batch_size.value or None, record_every=0,
                             seed=self.seed)
        self.history = fit(self.model, data, config, progress=False)
        return self.history

    def figure(self):
        """The feature picture of the last run."""
        h = self.history
        name = OBJECTIVE_LABELS[self.objective.value]
        title = (f"{name}: {self.num_classes.value} classes, test accuracy {100 * h.test_accuracy[-1]:.1f}% "
                 f"after {h.step[-1]} steps")
        return feature_figure(h.features[-1], h.probe_y, centers=h.centers,
                              regions=feature_regions(self.model, h, resolution=120), title=title)

