"""ipywidgets dashboards: controls wired to "recompute, then redraw".

* :mod:`robviz.widgets.base`: :class:`Dashboard`, the base of every dashboard (controls, status,
  output; an error in a callback is shown inside the dashboard), and :class:`KeyboardScope`;
* :mod:`robviz.widgets.objectives`: :class:`ObjectiveExplorer` (lesson 1);
* :mod:`robviz.widgets.centers`: :class:`MMCentersExplorer` (lesson 3).
"""

from .base import Dashboard, KeyboardScope
from .centers import MMCentersExplorer
from .objectives import TOY_CLASSES, ObjectiveExplorer

__all__ = ["Dashboard", "KeyboardScope", "ObjectiveExplorer", "MMCentersExplorer", "TOY_CLASSES"]
