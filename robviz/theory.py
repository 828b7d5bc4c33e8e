"""The theory behind the lessons, as pure functions. Each docstring gives the formula, the paper and the shapes.

Robustness of the Max-Mahalanobis distribution (T. Pang, C. Du, J. Zhu, "Max-Mahalanobis Linear Discriminant
Analysis Networks", ICML 2018):
    :func:`expected_distance`, :func:`mahalanobis_distances`, :func:`expected_robustness`,
    :func:`robustness_bound`, :func:`monte_carlo_expected_distance`.

Sample density (T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu, "Rethinking Softmax Cross-Entropy Loss for
Adversarial Robustness", ICLR 2020):
    the formulas :func:`mmc_sample_density` (Theorem 2), :func:`gsce_contour` and :func:`gsce_sample_density`
    (Theorem 1); the volumes :func:`log_ball_volume` and :func:`mmc_shell_log_volume`; the empirical estimators
    :func:`sample_density` (any robviz model), :func:`mmc_shell_density` and :func:`monte_carlo_shell_density`,
    which return a :class:`SampleDensity`.

Adaptive Diversity Promoting (T. Pang, K. Xu, C. Du, N. Chen, J. Zhu, "Improving Adversarial Robustness via
Promoting Ensemble Diversity", ICML 2019):
    :func:`adp_optimum` (Eq. 7) and :func:`adp_optimal_predictions` (Corollary 1, Eq. 8).

Conventions: scalar formulas take a float or a tensor and return the same kind; computations run in float64.
Volumes and densities in d dimensions span hundreds of orders of magnitude (a 64-d shell), so they are computed
in log-space and every density function can return its logarithm.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch

from . import checks
from .runtime import inference

__all__ = [
    "expected_distance",
    "mahalanobis_distances",
    "expected_robustness",
    "robustness_bound",
    "MonteCarloEstimate",
    "monte_carlo_expected_distance",
    "log_ball_volume",
    "mmc_shell_log_volume",
    "mmc_sample_density",
    "Sphere",
    "gsce_contour",
    "gsce_sample_density",
    "SampleDensity",
    "mmc_shell_density",
    "monte_carlo_shell_density",
    "per_sample_loss",
    "sample_density",
    "adp_optimum",
    "adp_optimal_predictions",
]

_FORMS = ("exact", "theorem")


# ----------------------------------------------------------------------------------------------- checks


def _as_float64(value, name: str):
    """A float64 tensor of ``value`` and a function that turns a result back into the input's kind."""
    if isinstance(value, torch.Tensor):
        dtype = value.dtype if value.is_floating_point() else torch.float64
        tensor = value.detach().to(torch.float64)
        back = lambda result: result.to(dtype)  # noqa: E731
    elif isinstance(checks.scalar(value), numbers.Real) and not isinstance(checks.scalar(value), bool):
        tensor = torch.tensor(float(checks.scalar(value)), dtype=torch.float64)
        back = lambda result: float(result) if result.numel() == 1 else result  # noqa: E731
    else:
        raise ValueError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    if torch.isnan(tensor).any():
        raise ValueError(f"{name} must not be NaN")
    return tensor, back


def _check_positive(tensor: torch.Tensor, name: str, strict: bool = True) -> None:
    bad = (tensor <= 0) if strict else (tensor < 0)
    if bad.any():
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {tensor.min().item()!r}")


def _check_number(value, name: str, positive: bool = True) -> float:
    return checks.real(name, value, low=0 if positive else None, low_open=True)


def _check_form(form: str) -> None:
    if form not in _FORMS:
        raise ValueError(f"form must be one of {_FORMS}, got {form!r}")


def _centers(centers) -> torch.Tensor:
    mu = torch.as_tensor(centers).detach().to(torch.float64)
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"centers must have shape (L, d) with L >= 2, got {tuple(mu.shape)}")
    return mu


def _cholesky(covariance, dim: int) -> torch.Tensor:
    sigma = torch.as_tensor(covariance).detach().to(torch.float64)
    if sigma.shape != (dim, dim):
        raise ValueError(f"covariance must have shape ({dim}, {dim}), got {tuple(sigma.shape)}")
    if not torch.allclose(sigma, sigma.T):
        raise ValueError("covariance must be symmetric")
    chol, info = torch.linalg.cholesky_ex(sigma)
    if info != 0:
        raise ValueError("covariance must be positive definite")
    return chol


# ------------------------------------------------------------------ robustness of the MM distribution (ICML 2018)


def expected_distance(delta):
    """Expected distance of a point to the decision boundary of two Gaussians (ICML 2018, Theorem 1).

        E(d_ij) = sqrt(2/pi) exp(-Delta_ij^2 / 8) + (Delta_ij / 2) [1 - 2 Phi(-Delta_ij / 2)],

    with Phi the standard normal CDF and Delta_ij the Mahalanobis distance between the means of two Gaussian
    components N(mu_i, Sigma), N(mu_j, Sigma). For x ~ N(mu_i, Sigma), d_ij is the Mahalanobis distance from x
    to the LDA (Bayes) boundary between i and j, counted positive on both sides. Whitening makes the boundary the
    hyperplane half-way between the means, so the signed distance is Delta/2 + eps with eps ~ N(0, 1), and
    d_ij = |Delta/2 + eps| is folded normal: E|N(m, 1)| = sqrt(2/pi) exp(-m^2/2) + m (1 - 2 Phi(-m)), m = Delta/2.

    Properties: E(d) = sqrt(2/pi) at Delta = 0; dE/dDelta = (1 - 2 Phi(-Delta/2)) / 2 >= 0 (increasing);
    E(d) >= Delta/2 and E(d) - Delta/2 -> 0 quickly, which gives the bound of :func:`robustness_bound`.

    Args:
        delta: Delta >= 0, a float or a tensor of any shape.

    Returns:
        E(d), the same kind and shape as ``delta``.

    Example:
        >>> round(expected_distance(0.0), 4)  # sqrt(2/pi)
        0.7979
    """
    value, back = _as_float64(delta, "delta")
    _check_positive(value, "delta (a Mahalanobis distance)", strict=False)
    m = value / 2
    result = math.sqrt(2 / math.pi) * torch.exp(-m**2 / 2) + m * (1 - 2 * torch.special.ndtr(-m))
    return back(result)


def mahalanobis_distances(centers, covariance=None) -> torch.Tensor:
    """Pairwise Mahalanobis distances Delta_ij = sqrt((mu_i - mu_j)^T Sigma^{-1} (mu_i - mu_j)) (ICML 2018).

    Args:
        centers: (L, d) class means mu.
        covariance: (d, d) shared covariance Sigma, symmetric positive definite; identity when None
            (then Delta_ij is the Euclidean distance).

    Returns:
        (L, L) float64 tensor, zero on the diagonal.
    """
    mu = _centers(centers)
    num_classes, dim = mu.shape
    diff = (mu[:, None, :] - mu[None, :, :]).reshape(-1, dim)
    if covariance is not None:
        diff = torch.linalg.solve_triangular(_cholesky(covariance, dim), diff.T, upper=False).T
    return diff.pow(2).sum(dim=1).reshape(num_classes, num_classes).sqrt()


def _off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    return matrix[~torch.eye(matrix.shape[0], dtype=torch.bool)]


def expected_robustness(centers, covariance=None) -> float:
    """The robustness of the MMD classifier, RB = min_{i != j} E(d_ij) (ICML 2018, talk: definition of RB).

    E(d_ij) is :func:`expected_distance` of the Mahalanobis distance Delta_ij between centers i and j.

    Args:
        centers: (L, d) class means. covariance: (d, d) or None (identity).

    Returns:
        RB as a float.
    """
    return float(expected_distance(_off_diagonal(mahalanobis_distances(centers, covariance))).min())


def robustness_bound(centers, covariance=None) -> float:
    """The approximate robustness RB ~ RB_bar = (1/2) min_{i != j} Delta_ij (ICML 2018, after Theorem 1).

    Since E(d_ij) >= Delta_ij / 2 (see :func:`expected_distance`), RB_bar <= RB, and the gap vanishes as the
    centers move apart. For L centers of norm C (identity covariance) the sum of all squared pairwise distances
    is at most 2 L^2 C^2, hence RB_bar <= (C/2) sqrt(2L / (L - 1)), with equality for the Max-Mahalanobis
    centers (a regular simplex, ``robviz.centers.mm_centers``): the MMD maximizes RB_bar.

    Args:
        centers: (L, d) class means. covariance: (d, d) or None (identity).

    Returns:
        RB_bar as a float.
    """
    return 0.5 * float(_off_diagonal(mahalanobis_distances(centers, covariance)).min())


class MonteCarloEstimate(NamedTuple):
    """A Monte-Carlo mean with its standard error (sample standard deviation / sqrt(n))."""

    mean: float
    std_error: float
    n: int


def monte_carlo_expected_distance(delta: float, dim: int = 2, n: int = 100_000, seed: int = 0,
                                  covariance=None) -> MonteCarloEstimate:
    """Monte-Carlo estimate of E(d_ij) from samples of two Gaussians, to check :func:`expected_distance`.

    Draws two means at Mahalanobis distance ``delta`` in a random direction, n/2 samples from each Gaussian
    N(mu_i, Sigma), N(mu_j, Sigma), and measures the Mahalanobis distance of every sample to the LDA boundary
    {x : w^T (x - (mu_i + mu_j)/2) = 0}, w = Sigma^{-1} (mu_i - mu_j):

        d(x) = |w^T (x - (mu_i + mu_j)/2)| / sqrt(w^T Sigma w).

    (For delta = 0 the boundary is taken through the common mean, normal to the same random direction.)

    Args:
        delta: Delta >= 0. dim: feature dimension d >= 1. n: number of samples (>= 2). seed: the generator's seed.
        covariance: (dim, dim) Sigma, or None for the identity.

    Returns:
        :class:`MonteCarloEstimate` (mean, std_error, n).
    """
    delta = _check_number(delta, "delta", positive=False)
    if delta < 0:
        raise ValueError(f"delta must be >= 0, got {delta!r}")
    dim = checks.integer("dim", dim, low=1)
    n = checks.integer("n", n, low=2)
    chol = torch.eye(dim, dtype=torch.float64) if covariance is None else _cholesky(covariance, dim)
    generator = torch.Generator().manual_seed(seed)
    u = torch.nn.functional.normalize(torch.randn(dim, generator=generator, dtype=torch.float64), dim=0)
    middle = chol @ torch.randn(dim, generator=generator, dtype=torch.float64)
    half_gap = 0.5 * delta * (chol @ u)  # (mu_i - mu_j)/2, of Mahalanobis length delta/2
    sign = torch.where(torch.arange(n) < n // 2, 1.0, -1.0).to(torch.float64)  # class i, then class j
    noise = torch.randn(n, dim, generator=generator, dtype=torch.float64) @ chol.T
    x = middle + sign[:, None] * half_gap + noise
    # w = Sigma^{-1} chol u is parallel to Sigma^{-1}(mu_i - mu_j) and has w^T Sigma w = 1.
    w = torch.linalg.solve_triangular(chol.T, u[:, None], upper=True).squeeze(1)
    distance = ((x - middle) @ w).abs()
    return MonteCarloEstimate(float(distance.mean()), float(distance.std() / math.sqrt(n)), n)


# ------------------------------------------------------------------------- sample density formulas (ICLR 2020)


def log_ball_volume(radius, d: int):
    """log Vol(B_d(r)) = (d/2) log(pi) - log Gamma(d/2 + 1) + d log(r), the volume of a d-ball of radius r.

    Args:
        radius: r >= 0, float or tensor. d: the dimension (>= 1).

    Returns:
        The log-volume, same kind as ``radius`` (-inf for r = 0).
    """
    d = checks.integer("d", d, low=1)
    r, back = _as_float64(radius, "radius")
    _check_positive(r, "radius", strict=False)
    return back(_log_unit_ball(d) + d * torch.log(r))


def _log_unit_ball(d: int) -> float:
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)


def _mmc_shell_log_volume(low: torch.Tensor, high: torch.Tensor, d: int, factor: float) -> torch.Tensor:
    # Vol = V_d (high/f)^{d/2} [1 - (low/high)^{d/2}], in log-space.
    ratio = torch.where(high > 0, low / high, torch.zeros_like(high))
    return _log_unit_ball(d) + 0.5 * d * torch.log(high / factor) + torch.log1p(-ratio.pow(0.5 * d))


def mmc_shell_log_volume(low, high, d: int, factor: float = 0.5):
    """log-volume of the MMC loss shell {z in R^d : factor ||z - mu||^2 in [low, high]} (ICLR 2020, Eq. 2's Delta B).

    The shell lies between the spheres of radii sqrt(low/factor) and sqrt(high/factor) around mu:

        Vol = V_d [(high/factor)^{d/2} - (low/factor)^{d/2}],   V_d = pi^{d/2} / Gamma(d/2 + 1).

    In 2-D with factor 1/2 this is the annulus area 2 pi (high - low).

    Args:
        low, high: loss values with 0 <= low < high (floats or tensors of one shape). d: dimension.
        factor: the loss factor (paper 1/2, authors' code 1).

    Returns:
        The log-volume, same kind as ``high``.
    """
    d = checks.integer("d", d, low=1)
    factor = _check_number(factor, "factor")
    lo, _ = _as_float64(low, "low")
    hi, back = _as_float64(high, "high")
    _check_positive(lo, "low", strict=False)
    if not (hi > lo).all():
        raise ValueError("every shell needs low < high")
    return back(_mmc_shell_log_volume(lo, hi, d, factor))


def _density_inputs(C, d: int, N, p_of_C, form: str):
    d = checks.integer("d", d, low=1)
    _check_form(form)
    c, back = _as_float64(C, "C")
    _check_positive(c, "C (a loss value)")
    n, _ = _as_float64(N, "N")
    _check_positive(n, "N", strict=False)
    p, _ = _as_float64(p_of_C(C) if callable(p_of_C) else p_of_C, "p_of_C")
    _check_positive(p, "p_of_C (a probability density)", strict=False)
    return c, torch.log(n) + torch.log(p), back


def mmc_sample_density(C, d: int, N, p_of_C, *, factor: float = 0.5, form: str = "exact", log: bool = False):
    """Sample density induced by the MMC loss at loss value C (ICLR 2020, Theorem 2).

    With L_MMC(z, y) = factor ||z - mu*_y||^2 distributed as p_k(c) over the N_k training points of class k, the
    points with loss in [C, C + dC] number N_k p_k(C) dC and fill the spherical shell between radii
    sqrt(C/factor) and sqrt((C + dC)/factor). Definition (2), SD = Delta N / Vol(Delta B), then gives

    * ``form="exact"`` (default): SD(C) = N p(C) / (dVol/dC), dVol/dC = (d/2) V_d factor^{-d/2} C^{(d-2)/2},
      V_d = pi^{d/2}/Gamma(d/2 + 1): the limit dC -> 0 of the estimator :func:`mmc_shell_density`, in the same
      units (points per unit feature volume);
    * ``form="theorem"``: the paper's expression SD(C) ∝ N p(C) / C^{(d-1)/2}, returned with constant 1.

    The two differ by one factor sqrt(C): the exact shell has volume proportional to r^{d-1} dr with
    dr = dC / (2 sqrt(factor C)), while C^{(d-1)/2} ~ r^{d-1} keeps the radial width fixed. Both fall steeply
    with C for the d = 64 or 256 of the papers, which is what the theorem is used for.

    Args:
        C: loss value(s) > 0, float or tensor. d: feature dimension. N: number of training points of the class.
        p_of_C: p_k(C), the density of the loss at C (a value, a tensor like C, or a callable evaluated at C).
        factor: the MMC loss factor (paper 1/2). form: "exact" or "theorem". log: return log SD instead.

    Returns:
        SD (or log SD), same kind as ``C``.
    """
    factor = _check_number(factor, "factor")
    c, log_numerator, back = _density_inputs(C, d, N, p_of_C, form)
    if form == "theorem":
        log_sd = log_numerator - 0.5 * (d - 1) * torch.log(c)
    else:
        log_dvol = math.log(0.5 * d) + _log_unit_ball(d) - 0.5 * d * math.log(factor) + 0.5 * (d - 2) * torch.log(c)
        log_sd = log_numerator - log_dvol
    return back(log_sd if log else torch.exp(log_sd))


class Sphere(NamedTuple):
    """The approximate g-SCE loss contour of :func:`gsce_contour`: ||z - center||^2 = radius2.

    ``b_term`` is B_{k,k~} of Theorem 1 (ICLR 2020).
    """

    center: torch.Tensor
    radius2: object
    b_term: float


def _log_expm1(c: torch.Tensor) -> torch.Tensor:
    """log(exp(C) - 1) without overflow: C + log(1 - exp(-C))."""
    return c + torch.log(-torch.expm1(-c))


def gsce_contour(C, sigma_k: float, sigma_kt: float, mu_k, mu_kt, B_k: float = 0.0, B_kt: float = 0.0) -> Sphere:
    """The approximate contour L_g-SCE = C of the g-SCE loss as a sphere (ICLR 2020, Theorem 1 and its Eq. 6).

    g-SCE: softmax cross-entropy on quadratic logits h_i = -(z - mu_i)^T Sigma_i (z - mu_i) + B_i (the paper's and
    the talk's form, no factor 1/2). With Sigma_k = sigma_k I, Sigma_k~ = sigma_k~ I for the true class k and the
    runner-up k~ = argmax_{l != k} h_l, the loss is approximated by L_{k,k~}(z) = log(1 + exp(h_k~ - h_k)), whose
    level set C is h_k - h_k~ = -log(C_e - 1), C_e = exp(C). Completing the square gives the sphere

        ||z - c||^2 = B_{k,k~} + log(C_e - 1) / (sigma_k - sigma_k~),
        c = (sigma_k mu_k - sigma_k~ mu_k~) / (sigma_k - sigma_k~),
        B_{k,k~} = sigma_k sigma_k~ ||mu_k - mu_k~||^2 / (sigma_k - sigma_k~)^2 + (B_k - B_k~) / (sigma_k - sigma_k~).

    For sigma_k = sigma_k~ (plain SCE, whose logits W_i^T z + b_i are g-SCE with all sigma_i = 1, and MMLDA) the
    contours are hyperplanes, not spheres, and the theorem does not apply. robviz's L-GM with margin m trains on
    sigma_y = (1 + m)/2 against sigma = 1/2: the case sigma_k > sigma_k~.

    Args:
        C: loss value(s) > 0. sigma_k, sigma_kt: the two scales (must differ). mu_k, mu_kt: (d,) means.
        B_k, B_kt: the logit offsets.

    Returns:
        :class:`Sphere` (center (d,) float64, radius2 like ``C`` and NaN where no sphere exists (radius2 <= 0),
        b_term).
    """
    sigma_k = _check_number(sigma_k, "sigma_k", positive=False)
    sigma_kt = _check_number(sigma_kt, "sigma_kt", positive=False)
    if sigma_k == sigma_kt:
        raise ValueError("sigma_k must differ from sigma_kt: with equal scales the contours are hyperplanes")
    B_k, B_kt = _check_number(B_k, "B_k", positive=False), _check_number(B_kt, "B_kt", positive=False)
    mu_k = torch.as_tensor(mu_k).detach().to(torch.float64).reshape(-1)
    mu_kt = torch.as_tensor(mu_kt).detach().to(torch.float64).reshape(-1)
    if mu_k.shape != mu_kt.shape:
        raise ValueError(f"mu_k and mu_kt must have one shape, got {tuple(mu_k.shape)} and {tuple(mu_kt.shape)}")
    c, back = _as_float64(C, "C")
    _check_positive(c, "C (a loss value)")
    gap = sigma_k - sigma_kt
    b_term = sigma_k * sigma_kt * float((mu_k - mu_kt).pow(2).sum()) / gap**2 + (B_k - B_kt) / gap
    radius2 = b_term + _log_expm1(c) / gap
    radius2 = torch.where(radius2 > 0, radius2, torch.full_like(radius2, math.nan))
    return Sphere((sigma_k * mu_k - sigma_kt * mu_kt) / gap, back(radius2), b_term)


def gsce_sample_density(C, d: int, N, p_of_C, sigma_k: float, sigma_kt: float, mu_k, mu_kt,
                        B_k: float = 0.0, B_kt: float = 0.0, *, form: str = "exact", log: bool = False):
    """Sample density induced by the g-SCE loss at loss value C (ICLR 2020, Theorem 1).

    The shell {z : L_{k,k~}(z) in [C, C + dC]} lies between two spheres of :func:`gsce_contour` with
    r^2(C) = B_{k,k~} + log(C_e - 1)/(sigma_k - sigma_k~); N_{k,k~} p_{k,k~}(C) dC training points fill it.

    * ``form="exact"`` (default): SD = N p(C) / |dVol/dC| with Vol = V_d r^d, so
      |dVol/dC| = (d/2) V_d (r^2)^{(d-2)/2} |d r^2/dC| and d r^2/dC = C_e / ((C_e - 1)(sigma_k - sigma_k~));
    * ``form="theorem"``: the paper's expression
      SD ∝ N p(C) / [B_{k,k~} + log(C_e - 1)/(sigma_k - sigma_k~)]^{(d-1)/2}, returned with constant 1
      (see :func:`mmc_sample_density` for why the exponents differ by 1/2).

    When sigma_k < sigma_k~ (what training prefers: lower loss values) the radius shrinks as C grows and the
    sphere disappears for large C: the density there is NaN.

    Args:
        C: loss value(s) > 0. d: feature dimension (the length of mu_k). N: N_{k,k~}.
        p_of_C: p_{k,k~}(C) (a value, a tensor like C, or a callable). sigma_k, sigma_kt, mu_k, mu_kt, B_k, B_kt:
        the g-SCE parameters of the true class k and the runner-up k~. form: "exact" or "theorem".
        log: return log SD instead.

    Returns:
        SD (or log SD), same kind as ``C``; NaN where the contour does not exist.
    """
    c, log_numerator, back = _density_inputs(C, d, N, p_of_C, form)
    sphere = gsce_contour(c, sigma_k, sigma_kt, mu_k, mu_kt, B_k, B_kt)
    if sphere.center.numel() != d:
        raise ValueError(f"mu_k has {sphere.center.numel()} entries but d = {d}")
    log_r2 = torch.log(sphere.radius2)
    if form == "theorem":
        log_sd = log_numerator - 0.5 * (d - 1) * log_r2
    else:
        log_dr2 = -torch.log(-torch.expm1(-c)) - math.log(abs(sigma_k - sigma_kt))
        log_sd = log_numerator - (math.log(0.5 * d) + _log_unit_ball(d) + 0.5 * (d - 2) * log_r2 + log_dr2)
    return back(log_sd if log else torch.exp(log_sd))


# ------------------------------------------------------------------------- empirical sample density (ICLR 2020)


@dataclass
class SampleDensity:
    """Per class, the training points in loss shells [C_s, C_{s+1}] and the shells' volumes in feature space.

    Definition (2) of the ICLR 2020 paper: SD = Delta N / Vol(Delta B), with Delta B = {z : L(z, y) in [C, C + dC]}.

    Attributes:
        edges: (L, S + 1) shell edges in loss value, per class (NaN rows for classes without points).
        counts: (L, S) training points of each class in each shell (Delta N).
        log_volumes: (L, S) log Vol(Delta B).
        log_densities: (L, S) log SD = log(count) - log(volume); -inf for empty shells, NaN where the volume is
            unknown (a Monte-Carlo sample that missed the shell).
        class_sizes: (L,) points per class (N_k).
        dim: the feature dimension d.
        method: "sphere" (exact MMC shells) or "monte-carlo" (volume estimated inside ``box``).
        box: (2, d) lower and upper corners of the Monte-Carlo box, or None.
        volume_hits: (L, S) uniform samples that fell in each shell (Monte-Carlo only), or None.
    """

    edges: torch.Tensor
    counts: torch.Tensor
    log_volumes: torch.Tensor
    log_densities: torch.Tensor
    class_sizes: torch.Tensor
    dim: int
    method: str
    box: torch.Tensor | None = None
    volume_hits: torch.Tensor | None = None

    @property
    def midpoints(self) -> torch.Tensor:
        """(L, S) the middle loss value of each shell."""
        return 0.5 * (self.edges[:, :-1] + self.edges[:, 1:])

    @property
    def volumes(self) -> torch.Tensor:
        """(L, S) shell volumes (may overflow to inf in high dimension; prefer ``log_volumes``)."""
        return self.log_volumes.exp()

    @property
    def densities(self) -> torch.Tensor:
        """(L, S) SD = count / volume (may under/overflow in high dimension; prefer ``log_densities``)."""
        return self.log_densities.exp()


def _check_features(z, y) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        raise ValueError(f"features z must be a tensor of shape (N, d), got {getattr(z, 'shape', type(z))}")
    y = torch.as_tensor(y, device=z.device)
    if y.shape != (z.shape[0],) or y.is_floating_point() or (y < 0).any():
        raise ValueError(f"labels y must be non-negative integers of shape ({z.shape[0]},)")
    return z.detach(), y.long()


def _shell_edges(loss: torch.Tensor, y: torch.Tensor, num_classes: int, num_shells: int, edges,
                 quantiles: tuple[float, float], spacing: str) -> torch.Tensor:
    """(L, S + 1) edges: the given ones, or per class ``num_shells`` shells between two loss quantiles, of equal
    counts (``spacing="count"``, falling back to equal widths where ties make edges repeat) or equal widths."""
    if spacing not in ("count", "width"):
        raise ValueError(f"spacing must be 'count' or 'width', got {spacing!r}")
    if edges is not None:
        edges = torch.as_tensor(edges, dtype=torch.float64).cpu()
        edges = edges.expand(num_classes, -1) if edges.dim() == 1 else edges
        if edges.shape[0] != num_classes or edges.shape[1] < 2 or not (edges.diff(dim=1) > 0).all():
            raise ValueError(f"edges must be increasing, of shape (S + 1,) or ({num_classes}, S + 1) with S >= 1")
        return edges.clone()
    num_shells = checks.integer("num_shells", num_shells, low=1)
    lo_q, hi_q = quantiles
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {quantiles!r}")
    levels = torch.linspace(lo_q, hi_q, num_shells + 1, dtype=torch.float64)
    rows = torch.full((num_classes, num_shells + 1), math.nan, dtype=torch.float64)
    for c in range(num_classes):
        values = loss[y == c]
        if values.numel() < 2:
            continue
        row = torch.quantile(values, levels)
        if spacing == "width" or not (row.diff() > 0).all():
            row = torch.linspace(float(row[0]), float(row[-1]), num_shells + 1, dtype=torch.float64)
        if row[-1] > row[0]:
            rows[c] = row
    return rows


def _histogram(values: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    if torch.isnan(edges).any() or values.numel() == 0:
        return torch.zeros(edges.numel() - 1, dtype=torch.long)
    return torch.histogram(values, bins=edges).hist.long()


def _class_counts(loss: torch.Tensor, y: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    return torch.stack([_histogram(loss[y == c], edges[c]) for c in range(edges.shape[0])])


def _log_density(counts: torch.Tensor, log_volumes: torch.Tensor) -> torch.Tensor:
    log_density = torch.log(counts.to(torch.float64)) - log_volumes
    unknown = torch.isnan(log_volumes) | torch.isneginf(log_volumes)
    return torch.where(unknown, torch.full_like(log_density, math.nan), log_density)


def mmc_shell_density(z, y, centers, *, factor: float = 0.5, num_shells: int = 20, edges=None,
                      quantiles: tuple[float, float] = (0.02, 0.98), spacing: str = "count") -> SampleDensity:
    """Empirical sample density in exact spherical loss shells around each center (ICLR 2020, Eq. 2).

    For every point the loss is L = factor ||z - mu_y||^2 (the MMC loss); per class the points with L in
    [C_s, C_{s+1}] are counted and divided by the shell's exact volume (:func:`mmc_shell_log_volume`), in
    log-space, so any dimension works (2-D toys, the 64-d features of the digits/MNIST CNN, 256-d ResNets).
    With other centers, e.g. the class means of an SCE model's features, it measures how densely that model
    packs its features around them in the same units.

    Args:
        z: (N, d) features. y: (N,) labels. centers: (L, d) class centers. factor: the loss factor (paper 1/2).
        num_shells: S shells per class between the class's loss ``quantiles`` (used when ``edges`` is None):
            with ``spacing="count"`` each holds about the same number of points (trained models put most points
            at tiny losses, so equal widths would leave most shells nearly empty); ``spacing="width"``: equal
            widths. edges: (S + 1,) or (L, S + 1) increasing loss values to use instead.

    Returns:
        :class:`SampleDensity` with ``method="sphere"``.
    """
    z, y = _check_features(z, y)
    mu = _centers(centers).to(z.device)
    if mu.shape[1] != z.shape[1]:
        raise ValueError(f"centers have dimension {mu.shape[1]} but the features have {z.shape[1]}")
    if y.max() >= mu.shape[0]:
        raise ValueError(f"labels must be < the number of centers ({mu.shape[0]})")
    factor = _check_number(factor, "factor")
    loss = (factor * (z.to(torch.float64) - mu[y]).pow(2).sum(dim=1)).cpu()
    y = y.cpu()
    edges = _shell_edges(loss, y, mu.shape[0], num_shells, edges, quantiles, spacing)
    counts = _class_counts(loss, y, edges)
    log_volumes = _mmc_shell_log_volume(edges[:, :-1], edges[:, 1:], z.shape[1], factor)
    return SampleDensity(edges, counts, log_volumes, _log_density(counts, log_volumes),
                         torch.bincount(y, minlength=mu.shape[0]), z.shape[1], "sphere")


def _feature_box(z: torch.Tensor, margin: float) -> torch.Tensor:
    low, high = z.min(dim=0).values, z.max(dim=0).values
    pad = margin * (high - low).clamp_min(1e-6)
    return torch.stack([low - pad, high + pad])


def monte_carlo_shell_density(z, y, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                              num_classes: int | None = None, num_shells: int = 20, edges=None,
                              quantiles: tuple[float, float] = (0.02, 0.98), spacing: str = "count",
                              num_samples: int = 200_000,
                              box=None, margin: float = 0.1, seed: int = 0,
                              chunk_size: int = 65_536) -> SampleDensity:
    """Empirical sample density for any loss, with shell volumes estimated by Monte Carlo (ICLR 2020, Eq. 2).

    The shells {z : L(z, y) in [C_s, C_{s+1}]} of a softmax loss are not spheres, and for a linear (SCE) head they
    are unbounded: they stretch along the decision boundaries. The volume is therefore measured inside a box, by
    default the features' bounding box widened by ``margin`` times its size on each side:

        Vol(Delta B ∩ box) ~ Vol(box) * #{uniform samples u in box with L(u, y) in the shell} / num_samples,

    and only the training points inside the box are counted. Monte Carlo needs few dimensions: d <= 3.

    Args:
        z: (N, d) features, d <= 3. y: (N,) labels.
        loss_fn: per-sample loss, (M, d) features and (M,) labels -> (M,) losses (e.g. :func:`per_sample_loss`).
        num_classes: L (default: max label + 1). num_shells, edges, quantiles, spacing: as in
            :func:`mmc_shell_density`.
        num_samples: uniform samples for the volumes. box: (2, d) lower and upper corners, or None.
        margin: widening of the default box. seed: the sampler's seed. chunk_size: samples per ``loss_fn`` call.

    Returns:
        :class:`SampleDensity` with ``method="monte-carlo"``, its ``box`` and ``volume_hits``.
    """
    z, y = _check_features(z, y)
    dim = z.shape[1]
    if dim > 3:
        raise ValueError(f"Monte-Carlo shell volumes need d <= 3 (got d={dim}); in higher dimension use "
                         "mmc_shell_density (exact spherical shells) for MMC features")
    num_samples = checks.integer("num_samples", num_samples, low=1)
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    num_classes = checks.integer("num_classes", num_classes, low=2)
    box = _feature_box(z.to(torch.float64), _check_number(margin, "margin", positive=False)) if box is None \
        else torch.as_tensor(box, dtype=torch.float64, device=z.device)
    if box.shape != (2, dim) or not (box[1] > box[0]).all():
        raise ValueError(f"box must be (2, {dim}) lower and upper corners with lower < upper")
    inside = ((z >= box[0]) & (z <= box[1])).all(dim=1)
    loss = loss_fn(z[inside], y[inside]).detach().to(torch.float64).cpu()
    y_in = y[inside].cpu()
    edges = _shell_edges(loss, y_in, num_classes, num_shells, edges, quantiles, spacing)
    counts = _class_counts(loss, y_in, edges)
    hits = _monte_carlo_hits(loss_fn, box, edges, num_samples, seed, chunk_size, z.dtype)
    log_box = float(torch.log(box[1] - box[0]).sum())
    log_volumes = torch.log(hits.to(torch.float64)) - math.log(num_samples) + log_box
    return SampleDensity(edges, counts, log_volumes, _log_density(counts, log_volumes),
                         torch.bincount(y.cpu(), minlength=num_classes), dim, "monte-carlo",
                         box=box.cpu(), volume_hits=hits)


def _monte_carlo_hits(loss_fn, box, edges, num_samples, seed, chunk_size, dtype) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(num_samples, box.shape[1], generator=generator, dtype=torch.float64).to(box.device)
    u = (box[0] + (box[1] - box[0]) * u).to(dtype)
    hits = torch.zeros(edges.shape[0], edges.shape[1] - 1, dtype=torch.long)
    for c in range(edges.shape[0]):
        for chunk in u.split(chunk_size):
            label = torch.full((chunk.shape[0],), c, dtype=torch.long, device=chunk.device)
            hits[c] += _histogram(loss_fn(chunk, label).detach().to(torch.float64).cpu(), edges[c])
    return hits


def per_sample_loss(objective) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss of a robviz objective, one value per sample, in float64: (M, d), (M,) -> (M,).

    The objectives' losses average over the batch; applying one to batches of a single sample (with
    ``torch.func.vmap``) gives every sample's own term, extra terms (center loss, L-GM) included. Pure softmax
    heads (SCE, MMLDA) use :func:`robviz.landscape.cross_entropy_per_sample`: a well-fitted softmax loss falls
    below float32's resolution and rounds to 0, and tied losses would merge the equal-count shells of
    :func:`sample_density`.
    """
    import copy

    from .landscape import cross_entropy_per_sample

    head = copy.deepcopy(objective).double()

    def one(z, y):
        return head.loss(z[None], head(z[None]), y[None])

    batched = torch.func.vmap(one)

    def loss_fn(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = z.double()
            if head.name in ("sce", "mmlda"):
                return cross_entropy_per_sample(head(z), y)
            return batched(z, y)

    return loss_fn


def _features(model, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return inference(model, x, method="features", batch_size=batch_size)


def sample_density(model, x, y, *, num_shells: int = 20, edges=None, quantiles: tuple[float, float] = (0.02, 0.98),
                   spacing: str = "count", num_samples: int = 200_000, box=None, margin: float = 0.1, seed: int = 0,
                   batch_size: int = 1024) -> SampleDensity:
    """Empirical sample density SD = Delta N / Vol(Delta B) of a trained robviz model (ICLR 2020, Eq. 2).

    Computes the features z = model.features(x) (in eval mode) and counts, per class, the training points whose
    loss lies in each shell [C_s, C_{s+1}] of the model's own training loss:

    * MMC models: exact spherical shells around the MM centers (:func:`mmc_shell_density`), any d;
    * every other objective (SCE, center loss, L-GM, MMLDA, RCE): Monte-Carlo volumes inside the features'
      bounding box (:func:`monte_carlo_shell_density`), for 2-D or 3-D features.

    Args:
        model: a ``robviz.models.Classifier``. x: (N, ...) training inputs. y: (N,) labels.
        num_shells, edges, quantiles, spacing: the shells (see :func:`mmc_shell_density`).
        num_samples, box, margin, seed: the Monte-Carlo volumes (ignored for MMC).
        batch_size: inputs per forward pass.

    Returns:
        :class:`SampleDensity`.
    """
    objective = model.objective
    z = _features(model, x, batch_size)
    if objective.name == "mmc":
        return mmc_shell_density(z, y, objective.centers, factor=objective.factor, num_shells=num_shells,
                                 edges=edges, quantiles=quantiles, spacing=spacing)
    return monte_carlo_shell_density(z, y, per_sample_loss(objective), num_classes=objective.num_classes,
                                     num_shells=num_shells, edges=edges, quantiles=quantiles, spacing=spacing,
                                     num_samples=num_samples, box=box, margin=margin, seed=seed)


# ---------------------------------------------------------------------------------------------- ADP (ICML 2019)


def _check_adp(alpha, K, L) -> float:
    K = checks.integer("K (ensemble members)", K, low=1)
    L = checks.integer("L (classes)", L, low=2)
    alpha = checks.real("alpha", alpha)
    if alpha <= 0:
        raise ValueError(f"Eq. 7 has a root only for alpha > 0, got alpha={alpha!r}: with alpha = 0 the optimum is "
                         "the one-hot prediction F_y = 1 (Theorem 1), and alpha < 0 rewards low entropy")
    return float(alpha)


def adp_optimum(alpha: float, K: int, L: int) -> float:
    """The ensemble's optimal true-class prediction F_y under ADP with beta = 0 (ICML 2019, Theorem 2, Eq. 7).

    The minimizer of sum_k CE(y, F^k) - alpha H(mean_k F^k) has F^k_y = F_y for every member, the mean
    prediction F_j = (1 - F_y)/(L - 1) on every wrong label j, and F_y in (1/L, 1) solving

        1 / F_y = (alpha / K) log(F_y (L - 1) / (1 - F_y)).

    With t = log(F_y / (1 - F_y)) this reads (alpha/K)(t + log(L - 1)) = 1 + exp(-t), whose left side increases
    and right side decreases in t: one root for every alpha > 0, found by bisection to float64 precision.
    F_y -> 1 as alpha -> 0 and F_y -> 1/L as alpha -> infinity. For alpha/K below about 0.03, F_y rounds to 1.0.

    Args:
        alpha: the entropy weight, > 0. K: ensemble members, >= 1. L: classes, >= 2.

    Returns:
        F_y as a float.

    Example:
        >>> round(adp_optimum(2.0, 3, 10), 4)
        0.5878
    """
    rate = _check_adp(alpha, K, L) / K
    shift = math.log(L - 1)

    def excess(t: float) -> float:
        return rate * (t + shift) - 1.0 - math.exp(-t)

    low, high = -shift, max(0.0, 2.0 / rate - shift)  # excess(low) = -L < 0 <= excess(high)
    while True:
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if excess(middle) < 0 else (low, middle)
    t = 0.5 * (low + high)
    return 1.0 / (1.0 + math.exp(-t))


def adp_optimal_predictions(alpha: float, K: int, L: int, y: int = 0) -> torch.Tensor:
    """The K members' optimal predictions under ADP when K divides L - 1 (ICML 2019, Corollary 1, Eq. 8).

    Partition the wrong labels [L] minus {y} into K blocks s_1, ..., s_K of (L - 1)/K labels (here consecutive
    blocks in increasing order). Member k predicts

        F^k_j = F_y                      if j = y,
                K (1 - F_y) / (L - 1)    if j in s_k,
                0                        otherwise,

    with F_y from :func:`adp_optimum`. Each member's wrong-label mass sits on its own block, so the normalized
    non-maximal predictions are orthonormal and the ensemble diversity det(M^T M) is maximal (1); their mean is
    the optimum of Theorem 2.

    Args:
        alpha: > 0. K: members, must divide L - 1. L: classes. y: the true label.

    Returns:
        (K, L) float64 tensor, rows summing to 1.
    """
    alpha = _check_adp(alpha, K, L)
    if (L - 1) % K:
        raise ValueError(f"Corollary 1 needs K to divide L - 1; got K={K}, L={L}")
    y = checks.integer("y", y, low=0, high=L - 1, note=f"a label of L = {L} classes")
    f_y = adp_optimum(alpha, K, L)
    wrong = [j for j in range(L) if j != y]
    block = (L - 1) // K
    predictions = torch.zeros(K, L, dtype=torch.float64)
    predictions[:, y] = f_y
    for k in range(K):
        predictions[k, wrong[k * block:(k + 1) * block]] = K * (1 - f_y) / (L - 1)
    return predictions
