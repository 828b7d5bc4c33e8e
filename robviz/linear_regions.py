"""Deprecated alias of :mod:`robviz.exact.linear_regions`.

Moved there; this name works for one release.
"""

from .checks import moved

moved(__name__, "robviz.exact.linear_regions")
