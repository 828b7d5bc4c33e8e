"""Deprecated alias of :mod:`robviz.detect.study` (moved there; this name works for one release)."""

from .checks import moved

moved(__name__, "robviz.detect.study")
