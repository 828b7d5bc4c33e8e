"""Sample density a loss induces, in closed form: why MMC, unlike softmax, packs features densely.

T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu, "Rethinking Softmax Cross-Entropy Loss for
Adversarial Robustness", ICLR 2020: the volumes :func:`log_ball_volume` and
:func:`mmc_shell_log_volume` (Eq. 2's Delta B), :func:`mmc_sample_density` (Theorem 2),
:func:`gsce_contour` and :func:`gsce_sample_density` (Theorem 1, the curse of softmax). The
estimators that measure a trained model's sample density are in :mod:`robviz.shell_density`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from .. import checks
from ._checks import as_float64, check_form, check_number, check_positive

# p(C): a value, a tensor like C, or a function of C.
_Density = float | torch.Tensor | Callable[[float | torch.Tensor], float | torch.Tensor]

__all__ = [
    "log_ball_volume",
    "mmc_shell_log_volume",
    "mmc_sample_density",
    "Sphere",
    "gsce_contour",
    "gsce_sample_density",
]


def log_ball_volume(radius: float | torch.Tensor, d: int) -> float | torch.Tensor:
    """Return log Vol(B_d(r)), the log volume of a d-ball of radius r.

    Computed as log Vol(B_d(r)) = (d/2) log(pi) - log Gamma(d/2 + 1) + d log(r).

    Parameters
    ----------
    radius : float or torch.Tensor
        r >= 0.
    d : int
        The dimension (>= 1).

    Returns
    -------
    float or torch.Tensor
        The log-volume, same kind as ``radius`` (-inf for r = 0).
    """
    d = checks.integer("d", d, low=1)
    r, back = as_float64(radius, "radius")
    check_positive(r, "radius", strict=False)
    return back(_log_unit_ball(d) + d * torch.log(r))


def _log_unit_ball(d: int) -> float:
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)


def _mmc_shell_log_volume(
    low: torch.Tensor, high: torch.Tensor, d: int, factor: float
) -> torch.Tensor:
    # Vol = V_d (high/f)^{d/2} [1 - (low/high)^{d/2}], in log-space. The bracket is
    # -expm1((d/2) log1p(-gap)) with gap = 1 - low/high = (high - low)/high: exact for a thin shell,
    # where 1 - (low/high)^{d/2} would lose digits (1e-9 of the volume at a width of 1e-9).
    gap = torch.where(high > 0, (high - low) / high, torch.ones_like(high))
    bracket = -torch.expm1(0.5 * d * torch.log1p(-gap))
    return _log_unit_ball(d) + 0.5 * d * torch.log(high / factor) + torch.log(bracket)


def mmc_shell_log_volume(
    low: float | torch.Tensor, high: float | torch.Tensor, d: int, factor: float = 0.5
) -> float | torch.Tensor:
    """Return the log-volume of the MMC loss shell {z in R^d : factor ||z - mu||^2 in [low, high]}.

    The shell is Eq. 2's Delta B (ICLR 2020).

    The shell lies between the spheres of radii sqrt(low/factor) and sqrt(high/factor) around mu:

        Vol = V_d [(high/factor)^{d/2} - (low/factor)^{d/2}],   V_d = pi^{d/2} / Gamma(d/2 + 1).

    In 2-D with factor 1/2 this is the annulus area 2 pi (high - low).

    Parameters
    ----------
    low, high : float or torch.Tensor
        Loss values with 0 <= low < high (floats or tensors of one shape).
    d : int
        The dimension.
    factor : float
        The loss factor (paper 1/2, authors' code 1).

    Returns
    -------
    float or torch.Tensor
        The log-volume, same kind as ``high``.
    """
    d = checks.integer("d", d, low=1)
    factor = check_number(factor, "factor")
    lo, _ = as_float64(low, "low")
    hi, back = as_float64(high, "high")
    check_positive(lo, "low", strict=False)
    if not (hi > lo).all():
        raise ValueError("every shell needs low < high")
    return back(_mmc_shell_log_volume(lo, hi, d, factor))


def _density_inputs(
    C: float | torch.Tensor, d: int, N: float | torch.Tensor, p_of_C: _Density, form: str
) -> tuple[torch.Tensor, torch.Tensor, Callable[[torch.Tensor], float | torch.Tensor]]:
    d = checks.integer("d", d, low=1)
    check_form(form)
    c, back = as_float64(C, "C")
    check_positive(c, "C (a loss value)")
    n, _ = as_float64(N, "N")
    check_positive(n, "N", strict=False)
    p, _ = as_float64(p_of_C(C) if callable(p_of_C) else p_of_C, "p_of_C")
    check_positive(p, "p_of_C (a probability density)", strict=False)
    for name, value in (("N", n), ("p_of_C", p)):
        _check_like_c(name, value, c)
    return c, torch.log(n) + torch.log(p), back


def _check_like_c(name: str, value: torch.Tensor, c: torch.Tensor) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``value`` is one number or shaped like C."""
    try:
        shape = torch.broadcast_shapes(value.shape, c.shape)
    except RuntimeError:
        shape = None
    if shape is None or math.prod(shape) != c.numel():
        raise ValueError(
            f"{name} must be one number or a tensor of C's shape {tuple(c.shape)}, got shape "
            f"{tuple(value.shape)}"
        )


def mmc_sample_density(
    C: float | torch.Tensor,
    d: int,
    N: float | torch.Tensor,
    p_of_C: _Density,
    *,
    factor: float = 0.5,
    form: str = "exact",
    log: bool = False,
) -> float | torch.Tensor:
    """Sample density induced by the MMC loss at loss value C (ICLR 2020, Theorem 2).

    With L_MMC(z, y) = factor ||z - mu*_y||^2 distributed as p_k(c) over the N_k training points of
    class k, the points with loss in [C, C + dC] number N_k p_k(C) dC and fill the spherical shell
    between radii sqrt(C/factor) and sqrt((C + dC)/factor). Definition (2), SD = Delta N / Vol(Delta
    B), then gives

    * ``form="exact"`` (default): SD(C) = N p(C) / (dVol/dC), dVol/dC = (d/2) V_d factor^{-d/2}
      C^{(d-2)/2}, V_d = pi^{d/2}/Gamma(d/2 + 1): the limit dC -> 0 of the estimator
      :func:`mmc_shell_density`, in the same units (points per unit feature volume);
    * ``form="theorem"``: the paper's expression SD(C) ∝ N p(C) / C^{(d-1)/2}, returned with
      constant 1.

    The two differ by one factor sqrt(C): the exact shell has volume proportional to r^{d-1} dr with
    dr = dC / (2 sqrt(factor C)), while C^{(d-1)/2} ~ r^{d-1} keeps the radial width fixed. Both
    fall steeply with C for the d = 64 or 256 of the papers, which is what the theorem is used for.

    Parameters
    ----------
    C : float or torch.Tensor
        Loss value(s) > 0.
    d : int
        The feature dimension.
    N
        The number of training points of the class.
    p_of_C : float, torch.Tensor or callable
        p_k(C), the density of the loss at C (a value, a tensor like C, or a callable evaluated at
        C).
    factor : float
        The MMC loss factor (paper 1/2).
    form : str
        ``"exact"`` or ``"theorem"``.
    log : bool
        Return log SD instead.

    Returns
    -------
    float or torch.Tensor
        SD (or log SD), same kind as ``C``.

    Raises
    ------
    ValueError
        A ``d`` not an integer >= 1, another ``form``, a ``factor`` not a finite number > 0, a C
        not > 0, an N or p(C) < 0 or NaN, or an N or p(C) neither one number nor of C's shape.
    """
    log = checks.flag("log", log)
    factor = check_number(factor, "factor")
    c, log_numerator, back = _density_inputs(C, d, N, p_of_C, form)
    if form == "theorem":
        # xlogy: 0 log(inf) is 0, so C = inf at d = 1 gives the limit, not NaN
        log_sd = log_numerator - torch.xlogy(0.5 * (d - 1), c)
    else:
        log_dvol = (
            math.log(0.5 * d)
            + _log_unit_ball(d)
            - 0.5 * d * math.log(factor)
            + torch.xlogy(0.5 * (d - 2), c)
        )
        log_sd = log_numerator - log_dvol
    return back(log_sd if log else torch.exp(log_sd))


class Sphere(NamedTuple):
    """The approximate g-SCE loss contour of :func:`gsce_contour`: ||z - center||^2 = radius2.

    ``b_term`` is B_{k,k~} of Theorem 1 (ICLR 2020).
    """

    center: torch.Tensor
    radius2: float | torch.Tensor  # like C
    b_term: float


def _log_expm1(c: torch.Tensor) -> torch.Tensor:
    """Return log(exp(C) - 1) without overflow: C + log(1 - exp(-C))."""
    return c + torch.log(-torch.expm1(-c))


def gsce_contour(
    C: float | torch.Tensor,
    sigma_k: float,
    sigma_kt: float,
    mu_k: torch.Tensor,
    mu_kt: torch.Tensor,
    B_k: float = 0.0,
    B_kt: float = 0.0,
) -> Sphere:
    """Return the approximate contour L_g-SCE = C of the g-SCE loss as a sphere.

    ICLR 2020, Theorem 1 and its Eq. 6.

    g-SCE: softmax cross-entropy on quadratic logits h_i = -(z - mu_i)^T Sigma_i (z - mu_i) + B_i
    (the paper's and the talk's form, no factor 1/2). With Sigma_k = sigma_k I, Sigma_k~ = sigma_k~
    I for the true class k and the runner-up k~ = argmax_{l != k} h_l, the loss is approximated by
    L_{k,k~}(z) = log(1 + exp(h_k~ - h_k)), whose level set C is h_k - h_k~ = -log(C_e - 1), C_e =
    exp(C). Completing the square gives the sphere

        ||z - c||^2 = B_{k,k~} + log(C_e - 1) / (sigma_k - sigma_k~),
        c = (sigma_k mu_k - sigma_k~ mu_k~) / (sigma_k - sigma_k~),
        B_{k,k~} = sigma_k sigma_k~ ||mu_k - mu_k~||^2 / (sigma_k - sigma_k~)^2
                   + (B_k - B_k~) / (sigma_k - sigma_k~).

    For sigma_k = sigma_k~ (plain SCE, whose logits W_i^T z + b_i are g-SCE with all sigma_i = 1,
    and MMLDA) the contours are hyperplanes, not spheres, and the theorem does not apply. robviz's
    L-GM with margin m trains on sigma_y = (1 + m)/2 against sigma = 1/2: the case sigma_k >
    sigma_k~.

    Parameters
    ----------
    C : float or torch.Tensor
        Loss value(s) > 0.
    sigma_k, sigma_kt : float
        The two scales, > 0 (must differ).
    mu_k, mu_kt
        (d,) means.
    B_k, B_kt : float
        The logit offsets.

    Returns
    -------
    Sphere
        :class:`Sphere` (center (d,) float64, radius2 like ``C`` and NaN where no sphere exists
        (radius2 <= 0), b_term).

    Raises
    ------
    ValueError
        A scale not > 0 or the two scales equal, a mean that is not numbers (None, a string: torch's
        "Could not infer dtype" before) or has a NaN or infinite entry, means of two shapes or
        empty, or a C not > 0.
    """
    # The scales of Sigma = sigma I: a scale <= 0 is no Gaussian logit (a "sphere" of radius2 NaN)
    sigma_k = check_number(sigma_k, "sigma_k")
    sigma_kt = check_number(sigma_kt, "sigma_kt")
    if sigma_k == sigma_kt:
        raise ValueError(
            "sigma_k must differ from sigma_kt: with equal scales the contours are hyperplanes"
        )
    B_k, B_kt = check_number(B_k, "B_k", positive=False), check_number(B_kt, "B_kt", positive=False)
    mu_k = checks.as_tensor("mu_k", mu_k).detach().to(torch.float64).reshape(-1)
    mu_kt = checks.as_tensor("mu_kt", mu_kt).detach().to(torch.float64).reshape(-1)
    for name, mu in (("mu_k", mu_k), ("mu_kt", mu_kt)):
        if not bool(torch.isfinite(mu).all()):
            raise ValueError(f"{name} must be finite, got {mu.tolist()}")
    if mu_k.numel() == 0:
        raise ValueError("mu_k and mu_kt must have d >= 1 entries, got none")
    if mu_k.shape != mu_kt.shape:
        raise ValueError(
            f"mu_k and mu_kt must have one shape, got {tuple(mu_k.shape)} and {tuple(mu_kt.shape)}"
        )
    c, back = as_float64(C, "C")
    check_positive(c, "C (a loss value)")
    gap = sigma_k - sigma_kt
    b_term = sigma_k * sigma_kt * float((mu_k - mu_kt).pow(2).sum()) / gap**2 + (B_k - B_kt) / gap
    radius2 = b_term + _log_expm1(c) / gap
    radius2 = torch.where(radius2 > 0, radius2, torch.full_like(radius2, math.nan))
    return Sphere((sigma_k * mu_k - sigma_kt * mu_kt) / gap, back(radius2), b_term)


def gsce_sample_density(
    C: float | torch.Tensor,
    d: int,
    N: float | torch.Tensor,
    p_of_C: _Density,
    sigma_k: float,
    sigma_kt: float,
    mu_k: torch.Tensor,
    mu_kt: torch.Tensor,
    B_k: float = 0.0,
    B_kt: float = 0.0,
    *,
    form: str = "exact",
    log: bool = False,
) -> float | torch.Tensor:
    """Sample density induced by the g-SCE loss at loss value C (ICLR 2020, Theorem 1).

    The shell {z : L_{k,k~}(z) in [C, C + dC]} lies between two spheres of :func:`gsce_contour` with
    r^2(C) = B_{k,k~} + log(C_e - 1)/(sigma_k - sigma_k~); N_{k,k~} p_{k,k~}(C) dC training points
    fill it.

    * ``form="exact"`` (default): SD = N p(C) / |dVol/dC| with Vol = V_d r^d, so
      |dVol/dC| = (d/2) V_d (r^2)^{(d-2)/2} |d r^2/dC| and
      d r^2/dC = C_e / ((C_e - 1)(sigma_k - sigma_k~));
    * ``form="theorem"``: the paper's expression SD ∝ N p(C) / [B_{k,k~} + log(C_e - 1)/(sigma_k -
      sigma_k~)]^{(d-1)/2}, returned with constant 1 (see :func:`mmc_sample_density` for why the
      exponents differ by 1/2).

    When sigma_k < sigma_k~ (what training prefers: lower loss values) the radius shrinks as C grows
    and the sphere disappears for large C: the density there is NaN.

    Parameters
    ----------
    C : float or torch.Tensor
        Loss value(s) > 0.
    d : int
        The feature dimension (the length of mu_k).
    N
        N_{k,k~}.
    p_of_C : float, torch.Tensor or callable
        p_{k,k~}(C) (a value, a tensor like C, or a callable).
    sigma_k, sigma_kt, mu_k, mu_kt, B_k, B_kt
        The g-SCE parameters of the true class k and the runner-up k~.
    form : str
        ``"exact"`` or ``"theorem"``.
    log : bool
        Return log SD instead.

    Returns
    -------
    float or torch.Tensor
        SD (or log SD), same kind as ``C``; NaN where the contour does not exist.

    Raises
    ------
    ValueError
        As :func:`mmc_sample_density` (but ``factor``) and :func:`gsce_contour`, or means whose
        length is not ``d``.
    """
    log = checks.flag("log", log)
    c, log_numerator, back = _density_inputs(C, d, N, p_of_C, form)
    sphere = gsce_contour(c, sigma_k, sigma_kt, mu_k, mu_kt, B_k, B_kt)
    if sphere.center.numel() != d:
        raise ValueError(f"mu_k has {sphere.center.numel()} entries but d = {d}")
    assert isinstance(sphere.radius2, torch.Tensor)  # c is a tensor, so the radius is one too
    r2 = sphere.radius2
    if form == "theorem":
        log_sd = log_numerator - torch.xlogy(0.5 * (d - 1), r2)
    else:
        log_dr2 = -torch.log(-torch.expm1(-c)) - math.log(abs(sigma_k - sigma_kt))
        log_sd = log_numerator - (
            math.log(0.5 * d) + _log_unit_ball(d) + torch.xlogy(0.5 * (d - 2), r2) + log_dr2
        )
    return back(log_sd if log else torch.exp(log_sd))
