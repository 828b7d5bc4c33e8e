"""Deprecated alias of :mod:`robviz.scale.recipes`.

Moved there; this name works for one release.
"""

from .checks import moved

moved(__name__, "robviz.scale.recipes")
