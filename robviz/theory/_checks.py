"""Argument checks shared by the closed forms of :mod:`robviz.theory`.

And by the estimators that reuse them.
"""

from __future__ import annotations

import numbers

import torch

from .. import checks

FORMS = ("exact", "theorem")


def as_float64(value, name: str):
    """Return a float64 tensor of ``value`` and a function turning results into the input's kind."""
    if isinstance(value, torch.Tensor):
        dtype = value.dtype if value.is_floating_point() else torch.float64
        tensor = value.detach().to(torch.float64)
        back = lambda result: result.to(dtype)  # noqa: E731
    elif isinstance(checks.scalar(value), numbers.Real) and not isinstance(
        checks.scalar(value), bool
    ):
        tensor = torch.tensor(float(checks.scalar(value)), dtype=torch.float64)
        back = lambda result: float(result) if result.numel() == 1 else result  # noqa: E731
    else:
        raise ValueError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    if torch.isnan(tensor).any():
        raise ValueError(f"{name} must not be NaN")
    return tensor, back


def check_positive(tensor: torch.Tensor, name: str, strict: bool = True) -> None:
    bad = (tensor <= 0) if strict else (tensor < 0)
    if bad.any():
        raise ValueError(
            f"{name} must be {'> 0' if strict else '>= 0'}, got {tensor.min().item()!r}"
        )


def check_number(value, name: str, positive: bool = True) -> float:
    return checks.real(name, value, low=0 if positive else None, low_open=True)


def check_form(form: str) -> None:
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")


def as_centers(centers) -> torch.Tensor:
    mu = torch.as_tensor(centers).detach().to(torch.float64)
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"centers must have shape (L, d) with L >= 2, got {tuple(mu.shape)}")
    return mu


def cholesky(covariance, dim: int) -> torch.Tensor:
    sigma = torch.as_tensor(covariance).detach().to(torch.float64)
    if sigma.shape != (dim, dim):
        raise ValueError(f"covariance must have shape ({dim}, {dim}), got {tuple(sigma.shape)}")
    if not torch.allclose(sigma, sigma.T):
        raise ValueError("covariance must be symmetric")
    chol, info = torch.linalg.cholesky_ex(sigma)
    if info != 0:
        raise ValueError("covariance must be positive definite")
    return chol
