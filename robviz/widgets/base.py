"""The base of every dashboard: controls wired to "recompute, then redraw", the keyboard scope."""

from __future__ import annotations

import html

import anywidget
import ipywidgets as widgets
import plotly.graph_objects as go
import traitlets
from IPython.display import display


__all__ = ["Dashboard", "KeyboardScope"]


class KeyboardScope(anywidget.AnyWidget):
    """An invisible widget that hands the keyboard to the controls of the dashboard it sits in.

    In JupyterLab's command mode the notebook's shortcuts see a key press before a focused drop-down
    or slider does: an arrow key moves to the next cell instead of changing the control. JupyterLab
    skips its shortcuts for elements marked ``data-lm-suppress-shortcuts``; this widget marks every
    focusable control inside its nearest ancestor with the CSS class ``scope`` (e.g.
    ``robviz-explorer``), also controls drawn later, so arrow keys, Home and End change the control.
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
        // The view is attached to the page after render returns: look for the dashboard until it is
        // there.
        let tries = 0;
        const timer = setInterval(() => {
          const box = el.closest("." + model.get("scope"));
          if (box) {
            clearInterval(timer);
            markAll(box);
            new MutationObserver(() => markAll(box)).observe(
              box, { childList: true, subtree: true }
            );
          } else if (++tries > 100) {
            clearInterval(timer);
          }
        }, 100);
      },
    };
    """


class Dashboard:
    """What every robviz dashboard shares: controls, a status line, an output area.

    Controls are wired to "recompute, then redraw".

    Subclasses build their controls, call :meth:`_assemble` and implement :meth:`compute` (the work,
    e.g. a training run), :meth:`figure` and optionally :meth:`report` (the status line afterwards);
    ``busy`` is the status shown meanwhile. A control change runs :meth:`update` through
    :meth:`redraw`, which shows any exception inside the dashboard (a red box in the output area,
    class ``robviz-error``, and in the status line) instead of leaving it in a log the student never
    sees; the dashboard stays usable for the next change.
    """

    busy = "computing…"

    def _assemble(self, controls: list, scope: str) -> None:
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.error: str | None = None
        self.widget = widgets.VBox(
            [widgets.HBox(controls), self.status, self.output, KeyboardScope(scope=scope)]
        )
        self.widget.add_class(scope)
        for control in controls:
            control.observe(lambda change: self.redraw(), names="value")

    def compute(self) -> object:
        """Do the work for the current control values (subclasses implement it)."""
        raise NotImplementedError

    def figure(self) -> go.Figure:
        """Return the figure to show (subclasses implement it)."""
        raise NotImplementedError

    def report(self) -> str:
        """Return the status line shown after computing (empty by default)."""
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
        """Run :meth:`update`, with any error shown in the dashboard (kept in ``self.error``)."""
        try:
            self.update()
            self.error = None
        except Exception as exc:  # noqa: BLE001 -- a callback's error must reach the student, whatever it is
            self.error = f"{type(exc).__name__}: {exc}"
            text = html.escape(self.error)
            self.status.value = (
                f'<span style="color:#b00020"><b>Error</b> (nothing was redrawn): {text}</span>'
            )
            self.output.clear_output(wait=True)
            with self.output:
                display(
                    widgets.HTML(
                        f'<div class="robviz-error" style="border:2px solid #b00020;padding:6px">'
                        f"<b>Error</b>: {text}</div>"
                    )
                )

    def _ipython_display_(self) -> None:
        display(self.widget)
