"""Argument checks of every public function: one helper per kind of value, one wording of errors.

A user holds numbers in many types: Python ``int``/``float``, NumPy scalars (``np.float32(0.25)``,
``np.int64(10)``), 0-d arrays and 0-d tensors (``torch.tensor(0.25)``, what ``eps_list[i]`` gives
for a tensor). Every one of them is accepted wherever a number is expected; ``bool`` never is
(``True`` is an ``int`` to Python, but a flag passed where a count belongs is a bug).
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Literal, ParamSpec, SupportsIndex, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt
import torch

if TYPE_CHECKING:
    from .data import Dataset

_T = TypeVar("_T")
_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = [
    "real",
    "integer",
    "seed",
    "flag",
    "choice",
    "sequence",
    "extent",
    "norm_name",
    "scalar",
    "renamed",
    "finite_inputs",
    "floating_inputs",
    "as_tensor",
    "tensor_argument",
    "model",
    "unique_labels",
]


def scalar(value: object) -> object:
    """Return a 0-d tensor or array as a Python scalar; anything else unchanged.

    Parameters
    ----------
    value : object
        Any value; a 0-d ``torch.Tensor`` or ``np.ndarray`` is unwrapped (a bool one to ``bool``).

    Returns
    -------
    object
        ``value.item()`` for a 0-d tensor or array, else ``value`` itself.
    """
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        if value.dtype in (torch.bool, np.bool_):
            return bool(value.item())
        return value.item()
    return value


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


# The result is None only when ``allow_none`` lets a None through: a call without it gets a float
# (an int).
@overload
def real(
    name: str,
    value: object,
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    allow_none: Literal[False] = ...,
    note: str = ...,
) -> float: ...
@overload
def real(
    name: str,
    value: object,
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    allow_none: bool,
    note: str = ...,
) -> float | None: ...
def real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    note: str = "",
) -> float | None:
    """Return ``value`` as a finite Python float in the range, or raise a ``ValueError``.

    Accepts any real number type (``numbers.Real``: int, float, NumPy scalars) and 0-d arrays or
    tensors; never ``bool``.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        The number to check.
    low, high : float or None
        The bounds of the range (None: unbounded on that side).
    low_open, high_open : bool
        Exclude ``low`` / ``high`` from the range (closed by default).
    allow_none : bool
        Let None through (returned as None).
    note : str
        Added to the error in parentheses (why the range is what it is).

    Returns
    -------
    float or None
        The number; None only when ``value`` is None and ``allow_none``.

    Raises
    ------
    ValueError
        Not a real number (or a bool), not finite, or outside the range; the error names ``name``.

    Examples
    --------
    >>> real("eps", np.float32(0.25), low=0)
    0.25
    """
    if value is None and allow_none:
        return None
    number_like = scalar(value)
    ok = isinstance(number_like, numbers.Real) and not isinstance(number_like, (bool, np.bool_))
    number = float(cast(numbers.Real, number_like)) if ok else math.nan
    if ok and math.isfinite(number):
        ok = not (
            (low is not None and (number < low or (low_open and number == low)))
            or (high is not None and (number > high or (high_open and number == high)))
        )
    else:
        ok = False
    if not ok:
        extra = (" or None" if allow_none else "") + (f" ({note})" if note else "")
        raise ValueError(
            f"{name} must be a finite number{_range_text(low, high, low_open, high_open)}{extra}, "
            f"got {value!r}"
        )
    return number


@overload
def integer(
    name: str,
    value: object,
    *,
    low: int | None = ...,
    high: int | None = ...,
    allow_none: Literal[False] = ...,
    note: str = ...,
) -> int: ...
@overload
def integer(
    name: str,
    value: object,
    *,
    low: int | None = ...,
    high: int | None = ...,
    allow_none: bool,
    note: str = ...,
) -> int | None: ...
def integer(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    note: str = "",
) -> int | None:
    """Return ``value`` as a Python int in [low, high], or raise a ``ValueError`` naming ``name``.

    Accepts anything with ``__index__`` (int, NumPy integers, 0-d integer arrays and tensors);
    floats are refused even when whole (``3.0`` epochs is a typo somewhere), and so is ``bool``.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        The integer to check.
    low, high : int or None
        The inclusive bounds (None: unbounded on that side).
    allow_none : bool
        Let None through (returned as None).
    note : str
        Added to the error in parentheses.

    Returns
    -------
    int or None
        The integer; None only when ``value`` is None and ``allow_none``.

    Raises
    ------
    ValueError
        Not an integer (or a bool or a float), or outside [low, high].
    """
    if value is None and allow_none:
        return None
    number_like = scalar(value)
    try:
        number = (
            None
            if isinstance(number_like, (bool, np.bool_))
            else operator.index(cast(SupportsIndex, number_like))
        )
    except TypeError:
        number = None
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        extra = (
            _range_text(low, high, False, False)
            + (" or None" if allow_none else "")
            + (f" ({note})" if note else "")
        )
        raise ValueError(f"{name} must be an integer{extra}, got {value!r}")
    return number


#: The largest seed every generator robviz seeds accepts (scikit-learn's ``random_state`` and
#: NumPy's legacy seeding stop at 2**32 - 1).
MAX_SEED = 2**32 - 1


def seed(name: str, value: object) -> int:
    """Return ``value`` as a seed, a Python int in [0, 2**32 - 1], or raise naming ``name``.

    One check for every ``seed`` argument: NumPy, scikit-learn and torch each refuse a bad seed
    in their own words, and some only when the seed is first used (an attack's first run).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        The seed: any integer type (as :func:`integer`).

    Returns
    -------
    int
        The seed.

    Raises
    ------
    ValueError
        Not an integer (a bool, a float, a string), negative or above ``MAX_SEED``.

    Examples
    --------
    >>> seed("seed", np.int64(7))
    7
    """
    number = integer(name, value, low=0, note=f"a seed, at most 2**32 - 1 = {MAX_SEED}")
    if number > MAX_SEED:
        raise ValueError(
            f"{name} must be an integer >= 0 (a seed, at most 2**32 - 1 = {MAX_SEED}), "
            f"got {value!r}"
        )
    return number


def flag(name: str, value: object) -> bool:
    """Return ``value`` as a Python bool, or raise a ``ValueError`` naming ``name``.

    A switch is True or False (NumPy and 0-d tensor bools too): ``bool("False")`` is True, so a
    string passed where a switch belongs would silently turn it on.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        The switch.

    Returns
    -------
    bool
        The switch.

    Raises
    ------
    ValueError
        Anything but a bool: a string, a number, None.

    Examples
    --------
    >>> flag("targeted", np.bool_(True))
    True
    """
    switch = scalar(value)
    if not isinstance(switch, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(switch)


def sequence(name: str, value: object, what: str) -> list:
    """Return the items of ``value`` as a list, or raise a ``TypeError`` naming ``name``.

    For the arguments that take several values (radii, step counts): a single number where a
    list belongs (``eps_list=0.25``) would fail inside the loop over it, or a string be read as
    its characters.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        The values: a list, a tuple, a 1-D array or tensor, any iterable.
    what : str
        What the items are, with an example, for the error (``"radii, e.g. [0.1, 0.2]"``).

    Returns
    -------
    list
        ``list(value)``; its items are checked by the caller.

    Raises
    ------
    TypeError
        ``value`` a string, or not iterable (a number, a 0-d array or tensor).

    Examples
    --------
    >>> sequence("steps_list", (1, 5), "counts, e.g. (1, 5)")
    [1, 5]
    """
    items = None
    if not isinstance(value, (str, bytes)):
        try:
            items = list(value)  # type: ignore[call-overload]
        except TypeError:  # a number, or a 0-d array or tensor (iterable by type only)
            pass
    if items is None:
        raise TypeError(f"{name} must be a sequence of {what}, got {value!r}")
    return items


def extent(name: str, value: object) -> tuple[float, float, float, float]:
    """Return a plane's extent as four finite floats (x_min, x_max, y_min, y_max), min < max.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : sequence of float
        (x_min, x_max, y_min, y_max).

    Returns
    -------
    tuple of float
        The four numbers.

    Raises
    ------
    ValueError
        Not four numbers (a pair, a string, None: Python's unpacking error before), a NaN or
        infinite one, or min >= max.

    Examples
    --------
    >>> extent("extent", (-3, 3, -2, 2))
    (-3.0, 3.0, -2.0, 2.0)
    """
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 4:
        raise ValueError(f"{name} must be four numbers (x_min, x_max, y_min, y_max), got {value!r}")
    x_min, x_max, y_min, y_max = numbers
    if not (x_max > x_min and y_max > y_min and all(map(math.isfinite, numbers))):
        raise ValueError(
            f"{name} must be finite (x_min, x_max, y_min, y_max) with min < max, got {value!r}"
        )
    return x_min, x_max, y_min, y_max


def choice(name: str, value: _T, options: Collection[object]) -> _T:
    """Return ``value`` if it is one of ``options``, else raise a ``ValueError`` listing them.

    Parameters
    ----------
    name : str
        What is chosen, for the error (``"unknown {name} ..."``).
    value : object
        The choice.
    options : collection
        The valid choices.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValueError
        ``value`` not in ``options``.
    """
    try:
        known = value in options
    except TypeError:  # unhashable (a list, a dict): no key of a dict or set of options
        known = False
    if not known:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(map(repr, options))}")
    return value


_NORMS = {
    "linf": "Linf",
    "inf": "Linf",
    "l2": "L2",
    "2": "L2",
    "l1": "L1",
    "1": "L1",
    "l0": "L0",
    "0": "L0",
}


def norm_name(p: str | float, allowed: Collection[str] = ("Linf", "L2", "L1", "L0")) -> str:
    """Return the canonical name of a norm.

    Parameters
    ----------
    p : str or int or float
        ``"Linf"``, ``"L2"``, ``"L1"`` or ``"L0"`` in any case, or inf, 2, 1, 0 (as numbers or
        strings).
    allowed : tuple of str
        The canonical names accepted.

    Returns
    -------
    str
        ``"Linf"``, ``"L2"``, ``"L1"`` or ``"L0"``.

    Raises
    ------
    ValueError
        An unknown norm, or one not in ``allowed``.
    """
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        key = "inf" if p == math.inf else str(int(p)) if float(p).is_integer() else str(p)
    else:
        key = str(p).lower()
    name = _NORMS.get(key)
    if name is None or name not in allowed:
        raise ValueError(f"unknown norm {p!r}; valid norms: {', '.join(map(repr, allowed))}")
    return name


def first_items(items: Sequence[object], shown: int = 5) -> str:
    """Return the first ``shown`` items joined by commas, with ", ..." when there are more.

    How every error of robviz names the offending sample indices (or values).

    Parameters
    ----------
    items : sequence
        The indices or values, in order.
    shown : int
        How many to name.

    Returns
    -------
    str
        E.g. ``"2, 7, ..."``.

    Examples
    --------
    >>> first_items([2, 7, 9], shown=2)
    '2, 7, ...'
    """
    return ", ".join(map(str, items[:shown])) + (", ..." if len(items) > shown else "")


def tensor_argument(name: str, x: object, shape: str = "(N, ...)") -> torch.Tensor:
    """Return ``x`` if it is a tensor of the ``shape``'s rank, else raise naming ``name``.

    For a model's inputs, which attacks, evaluators and exact methods take as tensors, and for the
    features, logits and centers the losses take: a NumPy array would fail later inside torch
    (``'numpy.ndarray' object has no attribute 'to'``) or be converted to float64.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    x : object
        What the caller passed.
    shape : str
        The expected shape as the docstrings write it, e.g. ``"(N, d)"``; one shape without
        ``...`` has its number of axes checked too.

    Returns
    -------
    torch.Tensor
        ``x`` itself.

    Raises
    ------
    ValueError
        ``x`` is a NumPy array, a list or anything else that is not a tensor, or has another
        number of axes than ``shape``.
    """
    if not torch.is_tensor(x):
        raise ValueError(
            f"{name} must be a tensor of shape {shape}, got {type(x).__name__}: convert it "
            f"first, e.g. torch.as_tensor({name}, dtype=torch.float32)"
        )
    if "..." not in shape and " or " not in shape and x.dim() != len(shape.split(",")):
        raise ValueError(f"{name} must be a tensor of shape {shape}, got shape {tuple(x.shape)}")
    return x


#: What a model needs beyond ``model(x)``, by attribute, in the words of the model contract.
_MODEL_NEEDS = {
    "features": "model.features(x), the (N, d) features",
    "loss": "model.loss(x, y), the training loss",
    "objective": "model.objective, a robviz objective head",
}


def model(name: str, value: _T, *, needs: Collection[str] = (), module: bool = False) -> _T:
    """Return ``value`` if it is a model with what the caller needs, else raise naming ``name``.

    The first check of every entry that takes a model: a name, None or a list would fail inside
    the first measurement (``'str' object is not callable``), or, for an attack, only when it
    runs; a plain layer where a robviz model belongs fails inside torch
    (``'Linear' object has no attribute 'objective'``).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        What the caller passed.
    needs : collection of {"features", "loss", "objective"}
        The attributes the caller uses beyond ``model(x)`` (the contract of
        ``robviz.models``: ``FeatureModel``, ``TrainableModel``, a ``Classifier``'s head).
    module : bool
        Require a ``torch.nn.Module`` (its layers are read), not any callable.

    Returns
    -------
    object
        ``value`` itself.

    Raises
    ------
    TypeError
        ``value`` is not callable (not a module, with ``module``), or lacks an attribute of
        ``needs``; the error says what was expected and how to build one.
    """
    kind = "torch.nn.Module" if module else "model, x -> logits (N, L)"
    if not callable(value) or (module and not isinstance(value, torch.nn.Module)):
        raise TypeError(
            f"{name} must be a {kind} (a robviz.models.Classifier, e.g. "
            f"robviz.models.make_model(data, 'sce')), got {type(value).__name__}"
        )
    missing = [_MODEL_NEEDS[need] for need in needs if not hasattr(value, need)]
    if missing:
        raise TypeError(
            f"{name} must be a robviz model with {' and '.join(missing)} (a "
            f"robviz.models.Classifier, e.g. robviz.models.make_model(data, 'sce')), got "
            f"{type(value).__name__}"
        )
    return value


def as_tensor(name: str, value: object) -> torch.Tensor:
    """Return ``value`` as a tensor: itself if it is one, else its conversion as numbers.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : torch.Tensor or array-like
        A tensor, a NumPy array, or (nested) lists of numbers.

    Returns
    -------
    torch.Tensor
        ``value`` itself, or ``torch.as_tensor(np.asarray(value))``.

    Raises
    ------
    ValueError
        None, a dict, strings or rows of different lengths (torch's "Could not infer dtype" or
        NumPy's "inhomogeneous shape" before), naming ``name``.
    """
    if torch.is_tensor(value):
        return value
    try:
        array = np.asarray(value)
    except ValueError:  # rows of different lengths
        array = np.asarray(None)
    if array.dtype == object or array.dtype.kind in "USV":
        shown = f" {value!r}" if isinstance(value, str) or value is None else ""
        raise ValueError(
            f"{name} must be numbers (a tensor or an array), got {type(value).__name__}{shown}"
        )
    return torch.as_tensor(array)


def finite_inputs(
    name: str, x: torch.Tensor | npt.ArrayLike, *, allow_empty: bool = False, tensor: bool = False
) -> torch.Tensor:
    """Return ``x`` (N, ...), as a tensor, or raise a ``ValueError`` if it is unusable.

    The error names ``name`` and the samples that make ``x`` unusable.

    The one check of the inputs every attack, detector and evaluator takes: an empty set has no
    accuracy (0/0 is not 0.0) and a NaN or infinite value passes every bound check (``nan < low`` is
    False) and turns every score after it into a number that looks ordinary (argmax of NaN logits is
    class 0).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    x : torch.Tensor or array-like
        Inputs (N, ...); a non-tensor is converted with ``torch.as_tensor``.
    allow_empty : bool
        Let N = 0 through (for the callers where an empty batch has a meaning).
    tensor : bool
        Refuse anything but a tensor: a model's inputs, which every attack, evaluator and exact
        method takes as tensors (their dtype and device are the model's, not NumPy's float64).

    Returns
    -------
    torch.Tensor
        ``x`` itself when it is a tensor, else its conversion.

    Raises
    ------
    ValueError
        A scalar (no sample axis), N = 0, or non-finite values (the error gives the first sample
        indices and their count); with ``tensor``, a NumPy array, list or other non-tensor.
    """
    if tensor:
        x = tensor_argument(name, x)
    x = as_tensor(name, x)
    if x.dim() == 0:
        raise ValueError(f"{name} must have a sample axis, shape (N, ...), got a scalar")
    if len(x) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): there is nothing to evaluate")
    if (x.is_floating_point() or x.is_complex()) and x.numel():  # nothing to check in (0, ...)
        bad = ~torch.isfinite(x.detach()).reshape(len(x), -1).all(dim=1)
        if bool(bad.any()):
            index = torch.nonzero(bad).flatten().tolist()
            shown = first_items(index)
            raise ValueError(
                f"{name} has non-finite values (NaN or inf) in {len(index)} of {len(x)} samples, "
                f"at sample index {shown}: remove or repair them first"
            )
    return x


def floating_inputs(name: str, x: _T) -> _T:
    """Return ``x`` if it holds floating-point values, else raise a ``TypeError`` naming ``name``.

    The one refusal of integer inputs, by a robviz model and by every entry of
    :mod:`robviz.exact`: 8-bit pixels 0..255 read in a box of (0, 1) are no images of it, and a
    plain ``nn.Linear`` fails inside with torch's "mat1 and mat2 must have the same dtype".

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    x : torch.Tensor or np.ndarray
        The inputs; anything else (a list) is returned unchecked, for the caller's own check of
        what it takes.

    Returns
    -------
    torch.Tensor or np.ndarray
        ``x`` itself.

    Raises
    ------
    TypeError
        ``x`` of an integer or bool dtype (the error suggests ``x.float()``, and ``/ 255`` for
        uint8).
    """
    if isinstance(x, torch.Tensor) and not x.is_floating_point():
        dtype: object = x.dtype
    elif isinstance(x, np.ndarray) and not np.issubdtype(x.dtype, np.floating):
        dtype = x.dtype
    else:
        return x
    hint = " / 255 for 8-bit pixels" if dtype in (torch.uint8, np.uint8) else ""
    raise TypeError(
        f"{name} must be floating-point, got {dtype}: convert them first, e.g. x.float(){hint}"
    )


def labels(
    name: str, y: torch.Tensor | npt.ArrayLike, n: int, *, num_classes: int | None = None
) -> torch.Tensor:
    """Return the class labels ``y`` as a long tensor of shape (n,), or raise naming ``name``.

    The check of the labels that go with n inputs: a length-1 or (n, 1) ``y`` would broadcast
    against n predictions and give an accuracy that means nothing, and float labels compare
    against class indices by value. A label outside the model's classes is no class at all: it
    never equals a prediction (an accuracy of 0.0 that looks measured) and, used as an index, it
    picks another class's value (``centers[-1]`` is the last class's center).

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    y : torch.Tensor or array-like
        Integer labels, one per input.
    n : int
        The number of inputs they label.
    num_classes : int or None
        The number of classes L: every label must lie in [0, L). None: the range is not checked
        (the caller does not know L). Not checked either inside ``torch.compile`` or a
        ``torch.func`` transform (``vmap``), where a check cannot read values: the caller checks
        once outside. On a CUDA device the range is asserted on the device, with no host
        synchronization (the CIFAR loop checks every step's labels): a label outside stops the run
        with a ``RuntimeError`` carrying this message, at the next synchronization.

    Returns
    -------
    torch.Tensor
        (n,) int64, on ``y``'s device.

    Raises
    ------
    ValueError
        ``y`` not of shape (n,), or not integer-valued, or (given ``num_classes``) a label outside
        [0, num_classes); the error gives the count and the first sample indices.
    RuntimeError
        On a CUDA device, a label outside [0, num_classes), raised at the next synchronization.

    Examples
    --------
    >>> labels("y", [0, 2, 1], 3, num_classes=3)
    tensor([0, 2, 1])
    """
    y = as_tensor(name, y)
    if y.shape != (n,) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"{name} must hold one integer class label per input, shape ({n},), got "
            f"{y.dtype} of shape {tuple(y.shape)}"
        )
    y = y.long()
    if num_classes is not None and n and y.is_cuda and not _traced(y):
        # No host sync a training step: the range is asserted on the device, and a bad label
        # stops the run at the next synchronization with this message.
        inside = ((y >= 0) & (y < num_classes)).all()
        torch._assert_async(inside, f"{name} must hold class labels in [0, {num_classes - 1}]")
    elif num_classes is not None and n and not _traced(y):
        # One min/max on y's device; the indices are looked up only for the error.
        smallest, largest = (int(v) for v in torch.aminmax(y.detach()))
        if smallest < 0 or largest >= num_classes:
            bad = (y < 0) | (y >= num_classes)
            index = torch.nonzero(bad).flatten().tolist()
            shown = first_items(index)
            values = first_items(y[bad].tolist())
            raise ValueError(
                f"{name} must hold class labels in [0, {num_classes - 1}] (the {num_classes} "
                f"classes), got {len(index)} of {n} samples outside, at sample index {shown} "
                f"(labels {values})"
            )
    return y


def _traced(t: torch.Tensor) -> bool:
    """Return True inside ``torch.compile`` or a ``torch.func`` transform of ``t``."""
    return torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(t)


def unique_labels(name: str, labels: Iterable[object]) -> list[str]:
    """Return ``labels`` as a list, or raise a ``ValueError`` naming ``name`` and the repeats.

    A label that keys data (a table row, a heatmap row, a legend entry) must name one thing.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    labels : iterable
        The labels; each is converted with ``str``.

    Returns
    -------
    list of str
        The labels as strings, in order.

    Raises
    ------
    ValueError
        A label appears more than once.
    """
    names = [str(label) for label in labels]
    repeated = sorted({label for label in names if names.count(label) > 1})
    if repeated:
        raise ValueError(
            f"{name} must be unique, but {', '.join(map(repr, repeated))} appears more than once: "
            f"give each its own name"
        )
    return names


def renamed(**old_to_new: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a function to still accept keywords renamed to the vocabulary of ``docs/design.md``.

    For one release, with a ``DeprecationWarning`` that names the new keyword.

    Parameters
    ----------
    **old_to_new : str
        Old keyword name -> new keyword name.

    Returns
    -------
    callable
        The decorator; the decorated function passes an old keyword on under its new name.

    Raises
    ------
    TypeError
        (At call time) the old and the new name are both given.

    Examples
    --------
    >>> @renamed(dim="feature_dim")
    ... def centers(num_classes, feature_dim): ...
    """

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def accept_old_names(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{function.__name__}() got {old!r} and {new!r}: {old!r} is the old "
                            "name "
                            f"of {new!r}; pass {new!r} only"
                        )
                    warnings.warn(
                        f"{function.__name__}({old}=...) is deprecated: use {new}=...",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return accept_old_names

    return decorate


def bounds(value: Sequence[float] | Dataset) -> tuple[float, float]:
    """Return the input range as two finite floats with low < high.

    Parameters
    ----------
    value : tuple of float or robviz.data.Dataset
        (low, high) or a Dataset (its ``.bounds``).

    Returns
    -------
    tuple[float, float]
        (low, high).

    Raises
    ------
    ValueError
        For anything else, naming ``bounds``.

    Examples
    --------
    >>> bounds((0, 1))
    (0.0, 1.0)
    """
    # A Dataset (or anything with .bounds) gives its (low, high).
    pair = cast("Sequence[float]", getattr(value, "bounds", value))
    try:
        low, high = (float(b) for b in pair)
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds must be (low, high) or a Dataset with .bounds, got {pair!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"bounds must be finite with low < high, got {pair!r}")
    return low, high


def moved(old: str, new: str) -> None:
    """Make the module ``old`` an alias of ``new``, for one release.

    With a ``DeprecationWarning`` naming ``new``.

    Called as the whole body of a module that moved into a wing (``robviz.detection_study`` ->
    ``robviz.detect.study``): ``import old`` then gives the module object of ``new`` itself, so
    attributes, monkeypatches and ``isinstance`` behave the same under both names.

    Parameters
    ----------
    old : str
        The old module name (the caller passes ``__name__``), e.g. ``"robviz.detection_study"``.
    new : str
        The module's new name.
    """
    import importlib
    import sys

    warnings.warn(
        f"{old} moved to {new}: import it from there ({old} is an alias for one release)",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = importlib.import_module(new)


# ------------------------------------------------------------------------ paths a command writes


def output_path(name: str, value: object, *, folder: bool = False) -> str:
    """Return ``value``, a path a command will write, as a string; refuse it before any work.

    A file where a folder belongs (``robviz train --out results.json`` when that file exists),
    a folder where a file belongs (``--out runs/``) or a path under an existing file would fail
    only at the first write, after the training epoch or the attacks it was meant to keep.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : str or os.PathLike
        The path; it need not exist.
    folder : bool
        True: ``value`` is a folder to write into; False: a file to write.

    Returns
    -------
    str
        ``value`` as a string.

    Raises
    ------
    TypeError
        ``value`` not a str or os.PathLike.
    ValueError
        An existing file given as a folder, an existing folder given as a file, or a path whose
        nearest existing parent is a file (naming it).
    """
    import os
    from pathlib import Path

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (a str or os.PathLike), got {type(value).__name__}")
    path = Path(value)
    if folder and path.is_file():
        raise ValueError(f"{name} = {str(path)!r} is a file; name a folder to write into")
    if not folder and path.is_dir():
        raise ValueError(f"{name} = {str(path)!r} is a folder; name a file to write")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ValueError(
            f"{name} = {str(path)!r} lies under {str(parent)!r}, which is a file, not a folder"
        )
    return os.fspath(path) if not isinstance(value, str) else value


# ------------------------------------------------------------------ a model's outputs: class logits


def logits(name: str, value: torch.Tensor) -> torch.Tensor:
    """Return ``value``, a model's output, when it is the logits of a classifier: (N, L), L >= 2.

    A model with one output per input (a binary classifier's single logit, shape (N, 1)) predicts
    class 0 for every input under argmax: every label-0 point would count as correct and robust,
    every attack as failed. One of shape (N,) has no class axis at all.

    Parameters
    ----------
    name : str
        What produced the output, for the error (``"model"``).
    value : torch.Tensor
        The output.

    Returns
    -------
    torch.Tensor
        ``value`` itself.

    Raises
    ------
    ValueError
        ``value`` not of shape (N, L) with L >= 2: the error names ``name``, the shape, and how a
        single logit z becomes two, ``torch.cat([torch.zeros_like(z), z], dim=1)`` (the same
        sigmoid probability as a softmax over two classes).
    """
    if not torch.is_tensor(value) or value.dim() != 2 or value.shape[1] < 2:
        shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
        raise ValueError(
            f"{name} must return class logits of shape (N, L) with L >= 2 classes, got {shape}: "
            "argmax over one output predicts class 0 for every input; for a binary classifier "
            "with one logit z return torch.cat([torch.zeros_like(z), z], dim=1)"
        )
    return value
