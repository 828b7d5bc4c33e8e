"""Deprecated alias of :mod:`robviz.course.gallery`.

Moved there; this name works for one release.
"""

from .checks import moved

moved(__name__, "robviz.course.gallery")
