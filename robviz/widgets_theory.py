"""Deprecated alias of :mod:`robviz.widgets.centers`.

Moved there; this name works for one release.
"""

from .checks import moved

moved(__name__, "robviz.widgets.centers")
