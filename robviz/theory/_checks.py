"""Argument checks shared by the closed forms of :mod:`robviz.theory`.

And by the estimators that reuse them.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy.typing as npt
import torch

from .. import checks

FORMS = ("exact", "theorem")


def as_float64(
    value: float | torch.Tensor, name: str
) -> tuple[torch.Tensor, Callable[[torch.Tensor], float | torch.Tensor]]:
    """Return a float64 tensor of ``value`` and a function turning results into the input's kind.

    Parameters
    ----------
    value : float or torch.Tensor
        A real number (any type :func:`robviz.checks.real` accepts, not bool) or a tensor.
    name : str
        The argument's name, for the error.

    Returns
    -------
    tensor : torch.Tensor
        ``value`` as float64, detached.
    back : callable
        Turns a float64 result into the input's kind: a tensor of the input's floating dtype
        (float64 for an integer tensor), or a Python float for a number (a tensor if the result has
        several entries).

    Raises
    ------
    ValueError
        Neither a number nor a tensor, or NaN values.
    """
    if isinstance(value, torch.Tensor):
        dtype = value.dtype if value.is_floating_point() else torch.float64
        tensor = value.detach().to(torch.float64)
        back = lambda result: result.to(dtype)  # noqa: E731
    elif isinstance(number := checks.scalar(value), numbers.Real) and not isinstance(number, bool):
        tensor = torch.tensor(float(number), dtype=torch.float64)
        back = lambda result: float(result) if result.numel() == 1 else result  # noqa: E731
    else:
        raise ValueError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    if torch.isnan(tensor).any():
        raise ValueError(f"{name} must not be NaN")
    return tensor, back


def check_positive(tensor: torch.Tensor, name: str, strict: bool = True) -> None:
    """Raise a ``ValueError`` naming ``name`` unless every entry of ``tensor`` is positive.

    Parameters
    ----------
    tensor : torch.Tensor
        The values.
    name : str
        The argument's name, for the error.
    strict : bool
        Require > 0 (True) or >= 0 (False).

    Raises
    ------
    ValueError
        An entry <= 0 (or < 0 when not ``strict``); the error gives the smallest.
    """
    bad = (tensor <= 0) if strict else (tensor < 0)
    if bad.any():
        raise ValueError(
            f"{name} must be {'> 0' if strict else '>= 0'}, got {tensor.min().item()!r}"
        )


def check_number(value: float, name: str, positive: bool = True) -> float:
    """Return ``value`` as a finite float, > 0 when ``positive``.

    Parameters
    ----------
    value : float
        The number.
    name : str
        The argument's name, for the error.
    positive : bool
        Require > 0; False accepts any finite number.

    Returns
    -------
    float
        The number.

    Raises
    ------
    ValueError
        Not a finite number, or not > 0 when ``positive``.
    """
    return checks.real(name, value, low=0 if positive else None, low_open=True)


def check_form(form: str) -> None:
    """Raise a ``ValueError`` unless ``form`` is one of ``FORMS`` (``"exact"``, ``"theorem"``).

    Parameters
    ----------
    form : str
        The closed form asked for.

    Raises
    ------
    ValueError
        Any other form.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")


def as_centers(centers: npt.ArrayLike | torch.Tensor) -> torch.Tensor:
    """Return class centers as a float64 (L, d) tensor.

    Parameters
    ----------
    centers : array-like or torch.Tensor
        Centers (L, d), L >= 2, d >= 1.

    Returns
    -------
    torch.Tensor
        Centers (L, d), float64, detached.

    Raises
    ------
    ValueError
        Not (L, d) with L >= 2 and d >= 1, or a center with a NaN or infinite coordinate (the
        error names the center).
    """
    mu = checks.as_tensor("centers", centers).detach().to(torch.float64)
    if mu.dim() != 2 or mu.shape[0] < 2 or mu.shape[1] < 1:
        raise ValueError(
            f"centers must have shape (L, d) with L >= 2 and d >= 1, got {tuple(mu.shape)}"
        )
    return checks.finite_inputs("centers", mu)


def cholesky(covariance: npt.ArrayLike | torch.Tensor, dim: int) -> torch.Tensor:
    """Return the Cholesky factor of a covariance matrix.

    Parameters
    ----------
    covariance : array-like or torch.Tensor
        The covariance (dim, dim), symmetric positive definite.
    dim : int
        The dimension d it must have.

    Returns
    -------
    torch.Tensor
        The lower-triangular factor (dim, dim), float64.

    Raises
    ------
    ValueError
        Not (dim, dim), not finite, not symmetric, or not positive definite.
    """
    sigma = checks.as_tensor("covariance", covariance).detach().to(torch.float64)
    if sigma.shape != (dim, dim):
        raise ValueError(f"covariance must have shape ({dim}, {dim}), got {tuple(sigma.shape)}")
    # First: a NaN fails allclose ("not symmetric"), and an infinite variance passes Cholesky.
    if not bool(torch.isfinite(sigma).all()):
        bad = int((~torch.isfinite(sigma)).sum())
        raise ValueError(f"covariance must be finite, got {bad} NaN or infinite entries")
    if not torch.allclose(sigma, sigma.T):
        raise ValueError("covariance must be symmetric")
    chol, info = torch.linalg.cholesky_ex(sigma)
    if info != 0:
        raise ValueError("covariance must be positive definite")
    return chol
