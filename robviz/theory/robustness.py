"""Robustness of the Max-Mahalanobis distribution, in closed form and by Monte Carlo.

T. Pang, C. Du, J. Zhu, "Max-Mahalanobis Linear Discriminant Analysis Networks", ICML 2018:
:func:`expected_distance` (Theorem 1), :func:`mahalanobis_distances`, :func:`expected_robustness`
(RB), :func:`robustness_bound` (RB_bar) and :func:`monte_carlo_expected_distance`, the sampling
check of Theorem 1.
"""

from __future__ import annotations

import math
from typing import NamedTuple, overload

import numpy.typing as npt
import torch

from .. import checks
from ._checks import as_centers, as_float64, check_number, check_positive, cholesky

__all__ = [
    "expected_distance",
    "mahalanobis_distances",
    "expected_robustness",
    "robustness_bound",
    "MonteCarloEstimate",
    "monte_carlo_expected_distance",
]


# A float in, a float out; a tensor in, a tensor of its shape out.
@overload
def expected_distance(delta: float) -> float: ...
@overload
def expected_distance(delta: torch.Tensor) -> torch.Tensor: ...
def expected_distance(delta: float | torch.Tensor) -> float | torch.Tensor:
    """Return the expected distance of a point to the decision boundary of two Gaussians.

    From ICML 2018, Theorem 1.

        E(d_ij) = sqrt(2/pi) exp(-Delta_ij^2 / 8) + (Delta_ij / 2) [1 - 2 Phi(-Delta_ij / 2)],

    with Phi the standard normal CDF and Delta_ij the Mahalanobis distance between the means of two
    Gaussian components N(mu_i, Sigma), N(mu_j, Sigma). For x ~ N(mu_i, Sigma), d_ij is the
    Mahalanobis distance from x to the LDA (Bayes) boundary between i and j, counted positive on
    both sides. Whitening makes the boundary the hyperplane half-way between the means, so the
    signed distance is Delta/2 + eps with eps ~ N(0, 1), and d_ij = |Delta/2 + eps| is folded
    normal: E|N(m, 1)| = sqrt(2/pi) exp(-m^2/2) + m (1 - 2 Phi(-m)), m = Delta/2.

    Properties: E(d) = sqrt(2/pi) at Delta = 0; dE/dDelta = (1 - 2 Phi(-Delta/2)) / 2 >= 0
    (increasing); E(d) >= Delta/2 and E(d) - Delta/2 -> 0 quickly, which gives the bound of
    :func:`robustness_bound`.

    Parameters
    ----------
    delta : float or torch.Tensor
        Delta >= 0, a float or a tensor of any shape.

    Returns
    -------
    float or torch.Tensor
        E(d), the same kind and shape as ``delta``.

    Examples
    --------
    >>> round(expected_distance(0.0), 4)  # sqrt(2/pi)
    0.7979
    """
    value, back = as_float64(delta, "delta")
    check_positive(value, "delta (a Mahalanobis distance)", strict=False)
    m = value / 2
    result = math.sqrt(2 / math.pi) * torch.exp(-(m**2) / 2) + m * (1 - 2 * torch.special.ndtr(-m))
    return back(result)


def mahalanobis_distances(
    centers: npt.ArrayLike | torch.Tensor, covariance: npt.ArrayLike | torch.Tensor | None = None
) -> torch.Tensor:
    """Pairwise Mahalanobis distances Delta_ij = sqrt((mu_i - mu_j)^T Sigma^{-1} (mu_i - mu_j)).

    As in ICML 2018.

    Parameters
    ----------
    centers : torch.Tensor
        (L, d) class means mu.
    covariance : torch.Tensor or None
        (d, d) shared covariance Sigma, symmetric positive definite; identity when None
        (then Delta_ij is the Euclidean distance).

    Returns
    -------
    torch.Tensor
        (L, L) float64 tensor, zero on the diagonal.

    Raises
    ------
    ValueError
        ``centers`` not (L, d) with L >= 2 and d >= 1, or a center with a NaN or infinite
        coordinate; a covariance not (d, d), finite, symmetric and positive definite.
    """
    mu = as_centers(centers)
    num_classes, dim = mu.shape
    diff = (mu[:, None, :] - mu[None, :, :]).reshape(-1, dim)
    if covariance is not None:
        diff = torch.linalg.solve_triangular(cholesky(covariance, dim), diff.T, upper=False).T
    return diff.pow(2).sum(dim=1).reshape(num_classes, num_classes).sqrt()


def _off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    return matrix[~torch.eye(matrix.shape[0], dtype=torch.bool)]


def expected_robustness(
    centers: npt.ArrayLike | torch.Tensor, covariance: npt.ArrayLike | torch.Tensor | None = None
) -> float:
    """Return the robustness of the MMD classifier, RB = min_{i != j} E(d_ij).

    ICML 2018; the talk's definition of RB.

    E(d_ij) is :func:`expected_distance` of the Mahalanobis distance Delta_ij between centers i and
    j.

    Parameters
    ----------
    centers : torch.Tensor
        (L, d) class means.
    covariance : torch.Tensor or None
        (d, d) or None (identity).

    Returns
    -------
    float
        RB as a float.

    Raises
    ------
    ValueError
        As :func:`mahalanobis_distances`.
    """
    return float(expected_distance(_off_diagonal(mahalanobis_distances(centers, covariance))).min())


def robustness_bound(
    centers: npt.ArrayLike | torch.Tensor, covariance: npt.ArrayLike | torch.Tensor | None = None
) -> float:
    """Return the approximate robustness RB ~ RB_bar = (1/2) min_{i != j} Delta_ij.

    ICML 2018, after Theorem 1.

    Since E(d_ij) >= Delta_ij / 2 (see :func:`expected_distance`), RB_bar <= RB, and the gap
    vanishes as the centers move apart. For L centers of norm C (identity covariance) the sum of all
    squared pairwise distances is at most 2 L^2 C^2, hence RB_bar <= (C/2) sqrt(2L / (L - 1)), with
    equality for the Max-Mahalanobis centers (a regular simplex, ``robviz.centers.mm_centers``): the
    MMD maximizes RB_bar.

    Parameters
    ----------
    centers : torch.Tensor
        (L, d) class means.
    covariance : torch.Tensor or None
        (d, d) or None (identity).

    Returns
    -------
    float
        RB_bar as a float.

    Raises
    ------
    ValueError
        As :func:`mahalanobis_distances`.
    """
    return 0.5 * float(_off_diagonal(mahalanobis_distances(centers, covariance)).min())


class MonteCarloEstimate(NamedTuple):
    """A Monte-Carlo mean with its standard error (sample standard deviation / sqrt(n))."""

    mean: float
    std_error: float
    n: int


@checks.renamed(dim="feature_dim")
def monte_carlo_expected_distance(
    delta: float,
    feature_dim: int = 2,
    n: int = 100_000,
    seed: int = 0,
    covariance: npt.ArrayLike | torch.Tensor | None = None,
) -> MonteCarloEstimate:
    """Monte-Carlo estimate of E(d_ij) from samples of two Gaussians.

    It checks :func:`expected_distance`.

    Draws two means at Mahalanobis distance ``delta`` in a random direction, n/2 samples from each
    Gaussian N(mu_i, Sigma), N(mu_j, Sigma), and measures the Mahalanobis distance of every sample
    to the LDA boundary {x : w^T (x - (mu_i + mu_j)/2) = 0}, w = Sigma^{-1} (mu_i - mu_j):

        d(x) = |w^T (x - (mu_i + mu_j)/2)| / sqrt(w^T Sigma w).

    (For delta = 0 the boundary is taken through the common mean, normal to the same random
    direction.)

    Parameters
    ----------
    delta : float
        Delta >= 0.
    feature_dim : int
        The feature dimension d >= 1 (``dim``: its old name).
    n : int
        Number of samples (>= 2).
    seed : int
        The generator's seed.
    covariance : torch.Tensor or None
        (feature_dim, feature_dim) Sigma, or None for the identity.

    Returns
    -------
    MonteCarloEstimate
        :class:`MonteCarloEstimate` (mean, std_error, n).

    Raises
    ------
    ValueError
        ``feature_dim`` or ``n`` not an integer (>= 1, >= 2), checked before any sampling; a
        ``delta`` not a finite number >= 0; a covariance as in :func:`mahalanobis_distances`.
    """
    feature_dim = checks.integer("feature_dim", feature_dim, low=1)
    n = checks.integer("n", n, low=2)
    seed = checks.seed("seed", seed)
    delta = check_number(delta, "delta", positive=False)
    if delta < 0:
        raise ValueError(f"delta must be >= 0, got {delta!r}")
    chol = (
        torch.eye(feature_dim, dtype=torch.float64)
        if covariance is None
        else cholesky(covariance, feature_dim)
    )
    generator = torch.Generator().manual_seed(seed)
    u = torch.nn.functional.normalize(
        torch.randn(feature_dim, generator=generator, dtype=torch.float64), dim=0
    )
    middle = chol @ torch.randn(feature_dim, generator=generator, dtype=torch.float64)
    half_gap = 0.5 * delta * (chol @ u)  # (mu_i - mu_j)/2, of Mahalanobis length delta/2
    sign = torch.where(torch.arange(n) < n // 2, 1.0, -1.0).to(
        torch.float64
    )  # class i, then class j
    noise = torch.randn(n, feature_dim, generator=generator, dtype=torch.float64) @ chol.T
    x = middle + sign[:, None] * half_gap + noise
    # w = Sigma^{-1} chol u is parallel to Sigma^{-1}(mu_i - mu_j) and has w^T Sigma w = 1.
    w = torch.linalg.solve_triangular(chol.T, u[:, None], upper=True).squeeze(1)
    distance = ((x - middle) @ w).abs()
    return MonteCarloEstimate(float(distance.mean()), float(distance.std() / math.sqrt(n)), n)
