"""Shared notebook setup, how every measurement runs a model, and the shared conversions.

The setup: device choice, the default/full switch, seeds (:func:`seeded`: a seeded block that
leaves the caller's random stream alone). Running a model: :func:`evaluating`, :func:`frozen`,
:func:`to_model`, :func:`inference`. The two conversions: :func:`to_numpy` (tensor
to NumPy) and :func:`atomic_write` (a file appears whole or not at all).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, TypeVar, cast

import numpy as np
import numpy.typing as npt
import torch

if TYPE_CHECKING:
    from .models import Predictor

_M = TypeVar("_M")

__all__ = [
    "pick_device",
    "as_device",
    "full_mode",
    "seed_everything",
    "seeded",
    "setup",
    "evaluating",
    "frozen",
    "dtype_and_device",
    "to_model",
    "predict",
    "num_classes_of",
    "inference",
    "to_numpy",
    "percent_text",
    "atomic_write",
]


def _integer(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in [low, high], else raise a ``ValueError`` naming ``name``.

    The check of ``robviz.checks.integer`` in its wording (a bool, a float even when whole, a string
    refused), for the few integers runtime takes itself: runtime sits beside ``checks`` on the
    house's first floor and imports nothing of robviz.
    """
    number, item = None, value
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        item = value.item()  # a 0-d tensor or array, as checks.scalar
    if not isinstance(item, (bool, np.bool_)) and isinstance(item, (int, np.integer)):
        number = int(item)
    if number is None or number < low or (high is not None and number > high):
        most = "" if high is None else f" (at most {high})"
        raise ValueError(f"{name} must be an integer >= {low}{most}, got {value!r}")
    return number


def as_device(name: str, value: str | torch.device) -> torch.device:
    """Return ``value`` as a ``torch.device``, or raise a ``ValueError`` naming ``name``.

    Only the name is checked, not that the device is there: a run's settings name a GPU on a
    machine without one (``robviz train --device cuda`` written on a laptop).

    Parameters
    ----------
    name : str
        Where the name came from, for the error (``"device"``, ``"ROBVIZ_DEVICE"``).
    value : str or torch.device
        A device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Returns
    -------
    torch.device
        The device.

    Raises
    ------
    ValueError
        ``value`` is not a device name (``"gpu"``); torch's own message names neither ``name``
        nor the string.
    """
    try:
        return torch.device(value)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"{name} = {value!r} is not a device name such as 'cpu', 'cuda' or 'cuda:1' ({error})"
        ) from None


def pick_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when a GPU is present (or ``prefer`` names a device), else ``cpu``.

    The environment variable ``ROBVIZ_DEVICE`` overrides both (e.g. ``ROBVIZ_DEVICE=cpu``).

    Parameters
    ----------
    prefer : str or None
        A device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None: a GPU if there is one.

    Returns
    -------
    torch.device
        The device.

    Raises
    ------
    ValueError
        ``prefer`` or ``ROBVIZ_DEVICE`` is not a device name (``"gpu"``), naming which.
    RuntimeError
        A CUDA device is asked for (by ``prefer`` or ``ROBVIZ_DEVICE``) but none is available.
    """
    source = "ROBVIZ_DEVICE" if os.environ.get("ROBVIZ_DEVICE") else "prefer"
    choice = os.environ.get("ROBVIZ_DEVICE") or prefer
    if choice:
        device = as_device(source, choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {choice!r} requested but no CUDA GPU is available; use 'cpu'"
            )
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def full_mode() -> bool:
    """Return True when lessons should run at full scale.

    To ask for it, set ``ROBVIZ_FULL=1`` before starting Jupyter.

    The default (fast) mode keeps every lesson to about a minute on a 2-core CPU.
    """
    return os.environ.get("ROBVIZ_FULL", "0").lower() in ("1", "true", "yes")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) for a reproducible run.

    Parameters
    ----------
    seed : int
        The seed of Python's ``random``, NumPy's global generator and ``torch.manual_seed``: an
        integer in [0, 2**32 - 1] (NumPy's limit).

    Raises
    ------
    ValueError
        ``seed`` not an integer in [0, 2**32 - 1] (a bool, a float, a string).
    """
    seed = _integer("seed", seed, 0, 2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seeded(seed: int) -> contextlib.AbstractContextManager[None]:
    """Run the block with torch's global CPU generator seeded, then give the caller's state back.

    How a function with a ``seed`` draws from torch's global generator (``nn.Linear``'s
    initialisation has no generator argument) without disturbing the caller's random stream, as
    scikit-learn's ``random_state`` never does: ``setup(seed=1)`` then ``make_model(data)`` then
    ``torch.randperm(n)`` gives the draw of seed 1, not the same draw for every ``setup`` seed.

    Parameters
    ----------
    seed : int
        The seed of the block, an integer in [0, 2**32 - 1].

    Returns
    -------
    contextlib.AbstractContextManager
        The context: its block runs with the CPU generator seeded; on exit the generator is back in
        the state it had before (``torch.random.fork_rng``). CUDA generators are neither seeded nor
        touched.

    Raises
    ------
    ValueError
        ``seed`` not an integer in [0, 2**32 - 1] (when called, before any block runs).

    Examples
    --------
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    return _seeded(_integer("seed", seed, 0, 2**32 - 1))


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def setup(
    seed: int = 0,
    device: str | None = None,
    threads: int | None = None,
    *,
    small_models: bool = True,
) -> torch.device:
    """Seed everything, pick the device and size PyTorch's CPU thread pool; return the device.

    The first call of every lesson; prints the device, the mode, the thread count and the seed.

    Parameters
    ----------
    seed : int
        Seeds Python, NumPy and PyTorch (:func:`seed_everything`).
    device : str or None
        The device asked for (:func:`pick_device`); None: a GPU if there is one.
    threads : int or None
        PyTorch's CPU threads; overrides ``small_models``. None (or 0): decided by ``small_models``.
    small_models : bool
        For the toy lessons (MLPs and 8x8-digit CNNs) on a CPU, PyTorch gets one thread, in both
        modes: the models are so small that synchronizing threads costs more than it saves, and much
        more when other work shares the cores (measured: several times slower with two threads on a
        busy 2-core machine; lesson 4's full run took about 5 min with two threads and 20 s with
        one). Lessons with ResNets (``small_models=False``) keep PyTorch's default.

    Returns
    -------
    torch.device
        The device lessons should put data and models on.

    Raises
    ------
    RuntimeError
        CUDA asked for but not available.
    ValueError
        ``seed`` or ``threads`` not an integer (>= 0), or ``small_models`` not True or False.
    """
    threads = None if threads is None else _integer("threads", threads, 0)
    if not isinstance(small_models, (bool, np.bool_)):
        raise ValueError(f"small_models must be True or False, got {small_models!r}")
    seed_everything(seed)
    chosen = pick_device(device)
    if threads is None and small_models and chosen.type == "cpu":
        threads = 1
    if threads:
        torch.set_num_threads(threads)
    print(
        f"robviz: device {chosen}, {'full' if full_mode() else 'default (fast)'} mode, "
        f"{torch.get_num_threads()} CPU thread(s), seed {seed}"
    )
    return chosen


@contextlib.contextmanager
def evaluating(model: _M) -> Iterator[_M]:
    """Run the block with ``model`` in eval mode, then give every submodule back its own mode.

    Every attack, detector and evaluator measures the model through this: BatchNorm uses (and never
    updates) its running statistics and dropout is off, whatever mode the user left the model in.
    Each submodule's flag is restored, so a model with, say, a frozen BatchNorm inside a training
    network comes back as it was. Objects without ``.train`` / ``.eval`` (plain functions) pass
    through unchanged.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The model; anything without ``.modules()`` passes through.

    Yields
    ------
    model
        ``model`` itself, in eval mode for the block.
    """
    modules = list(model.modules()) if hasattr(model, "modules") else []
    modes = [m.training for m in modules]
    if any(modes):  # already in eval mode: the common case, in every attack's hot path
        cast(torch.nn.Module, model).eval()  # it has .modules(): a module, or one in all but name
    try:
        yield model
    finally:
        for module, mode in zip(modules, modes):
            if module.training != mode:  # nn.Module's __setattr__ is slow: only where needed
                module.training = mode


@contextlib.contextmanager
def frozen(model: _M) -> Iterator[_M]:
    """Run the block with none of ``model``'s parameters requiring gradients, then restore each.

    An attack differentiates with respect to its input only: with the parameters frozen, autograd
    neither records nor saves what their gradients would need, which makes every step of a
    gradient attack cheaper. Gradients already accumulated in ``.grad`` are untouched. Objects
    without ``.parameters()`` (plain functions) pass through unchanged. Autograd records inside
    the block even when the caller runs in ``torch.no_grad()`` or ``torch.inference_mode()`` (an
    evaluation loop's habit), so an attack gives the same result there (a tensor created inside
    ``inference_mode`` is an inference tensor, which autograd refuses to save: clone it outside).

    Parameters
    ----------
    model : torch.nn.Module or callable
        The model; anything without ``.parameters()`` passes through.

    Yields
    ------
    model
        ``model`` itself, its parameters frozen for the block.
    """
    parameters = list(model.parameters()) if hasattr(model, "parameters") else []
    flags = [p.requires_grad for p in parameters]
    for parameter, flag in zip(parameters, flags):
        if flag:
            parameter.requires_grad_(False)
    try:
        # The input gradient is recorded even inside the caller's ``torch.no_grad()`` or
        # ``torch.inference_mode()`` (an evaluation loop's habit), where autograd recorded nothing.
        with torch.inference_mode(False), torch.enable_grad():
            yield model
    finally:
        for parameter, flag in zip(parameters, flags):
            if flag:
                parameter.requires_grad_(True)


def dtype_and_device(
    model: Predictor, default_dtype: torch.dtype = torch.float32
) -> tuple[torch.dtype, torch.device | None]:
    """Return the floating dtype and the device of ``model``'s first floating parameter or buffer.

    ``(default_dtype, None)`` for a model without any (a function, a wrapper of a non-module):
    inputs then keep their device. Attacks and evaluators move inputs to these, so float64 models
    and GPU models just work.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The model.
    default_dtype : torch.dtype
        The dtype returned for a model without a floating parameter or buffer.

    Returns
    -------
    dtype : torch.dtype
        The floating dtype.
    device : torch.device or None
        The device, or None for a model without a floating parameter or buffer.
    """
    tensors: Iterable[torch.Tensor] = ()
    if hasattr(model, "parameters"):  # a module, or one in all but name (it has .buffers() too)
        module = cast(torch.nn.Module, model)
        tensors = itertools.chain(module.parameters(), module.buffers())
    for tensor in tensors:
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return default_dtype, None


def to_model(model: Predictor, x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` on the model's device and in its floating dtype (:func:`dtype_and_device`).

    Integer inputs keep their dtype.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The model.
    x : torch.Tensor
        Inputs (N, ...).

    Returns
    -------
    torch.Tensor
        ``x`` converted (or ``x`` itself when nothing changes).
    """
    dtype, device = dtype_and_device(model, default_dtype=x.dtype)
    return x.to(device or x.device, dtype if x.is_floating_point() else x.dtype)


@torch.no_grad()
def inference(
    model: Predictor, x: torch.Tensor, *, method: str | None = None, batch_size: int = 512
) -> torch.Tensor:
    """Return ``model(x)`` (or ``model.<method>(x)``) in eval mode, without gradients, in batches.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The model; it runs under :func:`evaluating`.
    x : torch.Tensor
        Inputs (N, ...), moved to the model's dtype and device first (see :func:`dtype_and_device`),
        so a float64 model or a model on a GPU takes float32 CPU inputs.
    method : str or None
        The method to call instead of ``model(x)``, e.g. ``"features"``.
    batch_size : int
        Inputs per call, >= 1.

    Returns
    -------
    torch.Tensor
        The outputs concatenated along N, on the model's device; an empty ``x`` gives an empty
        output of the right trailing shape.

    Raises
    ------
    ValueError
        ``batch_size`` not an integer >= 1 (``range()``'s or ``torch.cat``'s error before).
    """
    batch_size = _integer("batch_size", batch_size, 1)
    fn = model if method is None else getattr(model, method)
    x = to_model(model, x)
    with evaluating(model):
        if len(x) == 0:
            return fn(x)
        return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def predict(logits: torch.Tensor) -> torch.Tensor:
    """Return the argmax of logits, and -1 where a row is not finite.

    Argmax of NaN logits is class 0, which an accuracy would count as a correct class-0 answer. -1
    equals no label and no target.

    Parameters
    ----------
    logits : torch.Tensor
        Logits (N, L).

    Returns
    -------
    torch.Tensor
        Classes (N,) int64, -1 for a row with a NaN or infinite entry.

    Raises
    ------
    ValueError
        ``logits`` not of shape (N, L) (one sample's (L,) logits: an argmax over the batch).
    """
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (N, L), got {tuple(logits.shape)}")
    return logits.argmax(dim=1).masked_fill_(~torch.isfinite(logits).all(dim=1), -1)


def num_classes_of(model: Predictor, x: torch.Tensor) -> int:
    """Return the number of classes L that ``model`` predicts, what labels are checked against.

    The model's ``num_classes`` when it has one (a :class:`robviz.models.Classifier`), else the
    width of its logits on one input (:func:`inference`: eval mode, no gradients).

    Parameters
    ----------
    model : torch.nn.Module or callable
        The classifier, x -> logits (N, L).
    x : torch.Tensor
        Inputs (N, ...), N >= 1; only the first is used, and only when the model has no
        ``num_classes``.

    Returns
    -------
    int
        L >= 2.

    Raises
    ------
    ValueError
        The model declares fewer than 2 classes, or its output is not (N, L) with L >= 2 (a
        single logit, or no class axis: argmax would predict class 0 for every input), the error
        worded as :func:`robviz.checks.logits`'s.
    """
    declared = getattr(model, "num_classes", None)
    if isinstance(declared, int) and not isinstance(declared, bool):
        if declared < 2:
            raise ValueError(f"model must predict at least 2 classes, it declares {declared}")
        return declared
    output = inference(model, x[:1])
    if not torch.is_tensor(output) or output.dim() != 2 or output.shape[1] < 2:
        shape = tuple(output.shape) if torch.is_tensor(output) else type(output).__name__
        raise ValueError(
            f"model must return class logits of shape (N, L) with L >= 2 classes, got {shape}: "
            "argmax over one output predicts class 0 for every input; for a binary classifier "
            "with one logit z return torch.cat([torch.zeros_like(z), z], dim=1)"
        )
    return int(output.shape[1])


def to_numpy(values: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """Return ``values`` as a NumPy array.

    Like ``np.asarray``, the result shares memory with a CPU tensor when no conversion is needed:
    copy it before writing to it.

    Parameters
    ----------
    values : torch.Tensor or array-like
        A tensor is detached and brought to the CPU first (any device, with or without gradients;
        bfloat16, which NumPy lacks, goes through float32); anything else goes through
        ``np.asarray``.
    dtype : numpy dtype or None
        Converts (e.g. ``np.float32`` for plotly's compact typed arrays, ``np.float64`` for exact
        geometry); None keeps the input's own.

    Returns
    -------
    np.ndarray
        The array.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        values = (values.float() if values.dtype == torch.bfloat16 else values).numpy()
    return np.asarray(values, dtype=dtype)


def percent_text(value: float, digits: int = 1) -> str:
    """Format a percentage with ``digits`` decimals, never a rounded 0 or 100 that is not exact.

    Rounding alone prints 99.96 % as ``"100.0"`` and 0.04 % as ``"0.0"``: every point robust,
    every attack failed, where one point in 2500 says otherwise. A value strictly between 0 and
    100 takes as many more decimals as it needs to read as what it is (``"99.96"``, ``"0.04"``).

    Parameters
    ----------
    value : float
        The percentage, in [0, 100] (a fraction times 100); NaN and values outside are formatted
        as they are.
    digits : int
        Decimals shown for values that rounding leaves inside (0, 100).

    Returns
    -------
    str
        The number, without a percent sign.

    Raises
    ------
    ValueError
        ``digits`` not an integer >= 0.

    Examples
    --------
    >>> percent_text(99.96), percent_text(100.0), percent_text(0.04), percent_text(12.345)
    ('99.96', '100.0', '0.04', '12.3')
    """
    digits = _integer("digits", digits, 0)
    value = float(value)
    text = f"{value:.{digits}f}"
    if not 0 < value < 100:
        return text
    for more in range(digits + 1, digits + 8):
        if float(text) not in (0.0, 100.0):
            return text
        text = f"{value:.{more}f}"
    if float(text) not in (0.0, 100.0):
        return text
    # closer to 0 or 100 than the last decimal: an exponent, or the nines below 100
    return f"{value:.1e}" if value < 50 else f"{100 - 10.0 ** -(digits + 7):.{digits + 7}f}"


def atomic_write(
    path: str | os.PathLike[str], content: bytes | str | Callable[[BinaryIO], object]
) -> Path:
    """Write a file so that it appears whole or not at all.

    A crash or an error never leaves half a file. The content goes to a temporary file next to
    ``path`` (same folder, so same file system), which then replaces ``path`` in one step
    (``os.replace``). If anything raises, the temporary file is removed, ``path`` keeps its old
    content (or stays absent) and the error propagates. The new file gets the usual permissions (the
    umask applies).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    content : bytes or str or callable
        Bytes, text (written as UTF-8) or a function that writes to the binary file it is given
        (e.g. ``lambda f: torch.save(state, f)`` or ``lambda f: np.save(f, array)``).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder (before anything is written; ``os.replace`` would name only the
        temporary file).
    OSError
        The folder does not exist or cannot be written (and whatever ``content`` raises).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; name a file to write")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
