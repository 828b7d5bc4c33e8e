"""Deprecated alias of :mod:`robviz.scale.cifar` (moved there; this name works for one release)."""

from .checks import moved

moved(__name__, "robviz.scale.cifar")
