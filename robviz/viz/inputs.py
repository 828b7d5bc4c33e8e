"""The one check of the data every figure builder draws: nothing empty, nothing silently not drawn.

Plotly draws an empty trace as an empty panel and leaves NaN and infinite values out without a
word, so a figure of bad data looks like a figure of good data. Every builder of ``robviz.viz``
passes its data through :func:`figure_series` and :func:`figure_values` first; the error names the
argument, the series key and the sample index. A builder that gives a non-finite value a meaning
(a heatmap cell "not run", a distance of inf: no adversarial example in the box) allows it here and
shows it in the figure, and its docstring says so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from .. import checks
from ..runtime import to_numpy

__all__ = ["figure_series", "figure_mapping", "figure_record", "figure_values"]

_T = TypeVar("_T")

_KINDS = ("nan", "inf", "-inf")


def figure_series(name: str, series: Iterable[object]) -> list:
    """Return the keys of the mapping (or the items of the sequence) ``series``, or raise.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    series : mapping or iterable
        The series a builder draws, e.g. ``{model name: values}``.

    Returns
    -------
    list
        ``list(series)``: the keys of a mapping, the items of a sequence.

    Raises
    ------
    ValueError
        When ``series`` is empty: the figure would have no trace.
    """
    keys = list(series)
    if not keys:
        raise ValueError(f"{name} is empty: there is nothing to draw")
    return keys


def figure_mapping(name: str, series: object, *, allow_empty: bool = False) -> list:
    """Return the keys of the mapping ``series``, or raise naming ``name``.

    The check of every argument a builder reads as ``{name: data}``: a string, a list or a
    tensor there would fail inside the builder (``'list' object has no attribute 'items'``).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    series : mapping
        The series a builder draws, e.g. ``{model name: values}``.
    allow_empty : bool
        Let an empty mapping through (an optional set of extra series).

    Returns
    -------
    list
        The keys, in order.

    Raises
    ------
    TypeError
        ``series`` is not a mapping.
    ValueError
        ``series`` is empty (:func:`figure_series`), unless ``allow_empty``.
    """
    if not isinstance(series, Mapping):
        raise TypeError(
            f"{name} must be a mapping of series by name, e.g. {{'SCE': ...}}, got "
            f"{type(series).__name__}"
        )
    return list(series) if allow_empty else figure_series(name, series)


def figure_record(name: str, value: _T, kind: str, fields: Sequence[str]) -> _T:
    """Return ``value`` if it has the ``fields`` of the result ``kind``, else raise naming ``name``.

    The check of every argument a builder reads as a result of robviz (a ``LossSurface``, a
    ``MixingEffect``, a ``Regions``): anything else would fail inside the builder
    (``'str' object has no attribute 'alphas'``).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        What the caller passed.
    kind : str
        The result's class, e.g. ``"robviz.masking.LossSurface"``.
    fields : sequence of str
        The attributes the builder reads.

    Returns
    -------
    object
        ``value`` itself.

    Raises
    ------
    TypeError
        ``value`` lacks one of ``fields``.
    """
    if not all(hasattr(value, field) for field in fields):
        raise TypeError(
            f"{name} must be a {kind} (with .{', .'.join(fields)}), got {type(value).__name__}"
        )
    return value


def figure_fields(name: str, value: object, fields: Sequence[str]) -> tuple:
    """Return ``value`` as the tuple of its ``fields``, or raise naming ``name``.

    The check of a series given as a tuple, e.g. ``(alphas, F_y values)`` or ``(fpr, tpr, auc)``:
    another length failed in Python's unpacking ("not enough values to unpack"), naming nothing.

    Parameters
    ----------
    name : str
        The argument's name with its key, for the error, e.g. ``"measured['SCE']"``.
    value : object
        What the caller passed.
    fields : sequence of str
        The names of the items, in order.

    Returns
    -------
    tuple
        ``tuple(value)``.

    Raises
    ------
    ValueError
        ``value`` is not a tuple or list of ``len(fields)`` items.
    """
    if not isinstance(value, (tuple, list)) or len(value) != len(fields):
        shown = type(value).__name__ if not isinstance(value, (tuple, list)) else len(value)
        raise ValueError(f"{name} must be ({', '.join(fields)}), got {shown!r}")
    return tuple(value)


def figure_values(
    name: str,
    values: npt.ArrayLike,
    *,
    allow: Collection[str] = (),
    allow_empty: bool = False,
    within: tuple[float, float] | None = None,
    positive: bool = False,
) -> np.ndarray:
    """Return ``values`` (N, ...) as a float64 array, or raise naming ``name`` and the bad samples.

    Parameters
    ----------
    name : str
        The argument's name for the error, with its key where it is one series of several, e.g.
        ``"distances['SCE']"``.
    values : torch.Tensor or array-like
        The numbers drawn, with a leading axis (N, ...): points, a curve, a grid's rows.
    allow : collection of {"nan", "inf", "-inf"}
        The non-finite values that have a meaning the caller shows in its figure (and states in its
        docstring); every other one is refused.
    allow_empty : bool
        Let N = 0 through (where an empty set has a meaning, e.g. no boundary in the box).
    within : tuple of float or None
        (low, high): the range the figure's fixed axis or colour scale shows (accuracies as
        fractions in [0, 1]); a finite value outside it is refused. None: any value.
    positive : bool
        Refuse a value <= 0: the values go on a log axis, which has no place for it.

    Returns
    -------
    numpy.ndarray
        ``values`` as float64 (a copy only when a conversion was needed).

    Raises
    ------
    ValueError
        A scalar, no value at all (N = 0 or any axis of length 0), a non-finite value that
        ``allow`` does not name, a value outside ``within`` or, with ``positive``, one <= 0 (the
        error gives the first sample indices and their count).
    """
    for kind in allow:
        checks.choice("allow", kind, _KINDS)
    array = to_numpy(values, np.float64)
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array with one value per sample, got a scalar")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {array.shape}): there is nothing to draw")
    if array.size == 0:
        return array
    refused = [kind for kind in _KINDS if kind not in allow]
    bad = (
        ("nan" in refused and np.isnan(array))
        | ("inf" in refused and np.isposinf(array))
        | ("-inf" in refused and np.isneginf(array))
    )
    kinds = " or ".join(k.replace("nan", "NaN") for k in refused)
    _refuse(name, array, bad, f"non-finite values ({kinds})", "remove or repair them first")
    if within is not None:
        low, high = within
        outside = np.isfinite(array) & ((array < low) | (array > high))
        _refuse(
            name,
            array,
            outside,
            f"values outside [{low:g}, {high:g}]",
            "the figure shows that range only",
        )
    if positive:
        _refuse(name, array, array <= 0, "values <= 0", "a log axis has no place for them")
    return array


def _refuse(name: str, array: np.ndarray, bad: np.ndarray | bool, what: str, fix: str) -> None:
    """Raise naming ``name`` and the first samples (rows of ``array``) where ``bad`` holds."""
    rows = np.broadcast_to(bad, array.shape).reshape(len(array), -1).any(axis=1)
    if rows.any():
        # the wording of checks.finite_inputs, the check of every attack's inputs
        index = np.flatnonzero(rows).tolist()
        raise ValueError(
            f"{name} has {what} in {len(index)} of {len(array)} samples, "
            f"at sample index {checks.first_items(index)}: {fix}"
        )
