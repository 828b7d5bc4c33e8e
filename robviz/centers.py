"""Max-Mahalanobis centers and the class means of trained features.

Max-Mahalanobis centers are the fixed class means of MMLDA and MMC; the class means a trained
model's features actually have come with the two scales lessons read from them.

References
----------
T. Pang, C. Du, J. Zhu. "Max-Mahalanobis Linear Discriminant Analysis Networks", ICML 2018; T. Pang,
K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu. "Rethinking Softmax Cross-Entropy Loss for Adversarial
Robustness", ICLR 2020.
"""

from __future__ import annotations

import functools
import math

import torch

from . import checks

__all__ = [
    "mm_centers",
    "simplex_centers",
    "spread_centers",
    "class_means",
    "class_mean_distance",
    "feature_spread",
]


def _check(num_classes: int, feature_dim: int, norm: float) -> tuple[int, int, float]:
    num_classes = checks.integer("num_classes", num_classes, low=2)
    feature_dim = checks.integer("feature_dim", feature_dim, low=1)
    if feature_dim == 1 and num_classes > 2:
        raise ValueError(
            f"feature_dim=1 holds at most 2 distinct directions, cannot place {num_classes} "
            "centers; use "
            "feature_dim >= 2"
        )
    return num_classes, feature_dim, checks.real("norm", norm, low=0, low_open=True)


@checks.renamed(dim="feature_dim")
def simplex_centers(num_classes: int, feature_dim: int, norm: float = 10.0) -> torch.Tensor:
    """Return the exact Max-Mahalanobis centers (a regular simplex).

    Defined for ``feature_dim >= num_classes - 1``.

    The recursion of Pang et al. (ICML 2018, Algorithm 1) with L = num_classes: mu_1 = e_1; for k =
    2..L and each j < k: mu_k[j] = -(1/(L-1) + <mu_k, mu_j>) / mu_j[j]; then mu_k[k] = sqrt(|1 -
    ||mu_k||^2|). The unit vectors satisfy <mu_i, mu_j> = -1/(L-1) for i != j and sum to zero; they
    are then scaled to length ``norm`` (C), so <mu_i, mu_j> = -C^2/(L-1).

    Parameters
    ----------
    num_classes : int
        L, the number of classes (>= 2).
    feature_dim : int
        d, the feature dimension (>= 1; 1 only for L = 2).
    norm : float
        C, the length of every center (> 0).

    Returns
    -------
    torch.Tensor
        Tensor of shape (num_classes, feature_dim), float32.

    Raises
    ------
    ValueError
        ``num_classes`` < 2, ``feature_dim`` < 1 (or 1 with more than 2 classes), ``norm`` <= 0, or
        ``feature_dim`` < num_classes - 1.
    """
    num_classes, feature_dim, norm = _check(num_classes, feature_dim, norm)
    if feature_dim < num_classes - 1:
        raise ValueError(
            f"an exact simplex of {num_classes} centers needs feature_dim >= {num_classes - 1}, "
            "got "
            f"feature_dim={feature_dim}; "
            "use mm_centers, which falls back to spread_centers"
        )
    L = num_classes
    mu = torch.zeros(
        L, max(feature_dim, L), dtype=torch.float64
    )  # one spare column: mu_L[L] is 0 and dropped
    mu[0, 0] = 1.0
    for k in range(1, L):
        for j in range(k):
            mu[k, j] = -(1.0 / (L - 1) + mu[k] @ mu[j]) / mu[j, j]
        mu[k, k] = math.sqrt(abs(1.0 - float(mu[k] @ mu[k])))
    return (norm * mu[:, :feature_dim]).float()


@checks.renamed(dim="feature_dim")
def spread_centers(
    num_classes: int, feature_dim: int, norm: float = 10.0, steps: int = 1000, seed: int = 0
) -> torch.Tensor:
    """Return centers on the sphere of radius ``norm`` pushed as far apart as possible.

    For feature_dim < num_classes - 1, where no regular simplex exists. Like the authors' code,
    minimize the largest pairwise cosine with Adam (here a smooth maximum, log-sum-exp with a
    growing sharpness) over unit vectors, keeping one dimension fewer's centers (padded with a
    zero) where those are further apart, so the spread never falls as d grows. Where the optimum
    is known it is used directly: in 1-D
    the pair +-norm, in 2-D the regular polygon, and for num_classes / 2 <= feature_dim <
    num_classes - 1 the centers +-norm e_i, pairwise orthogonal or opposite (Rankin 1955: more than
    d + 1 unit vectors in d dimensions always have two at an angle of at most 90 degrees, and 2d of
    them reach it), so the smallest distance is norm * sqrt(2) for every such d.

    Parameters
    ----------
    num_classes : int
        L, the number of classes (>= 2).
    feature_dim : int
        d, the feature dimension (>= 1; 1 only for L = 2).
    norm : float
        C, the length of every center (> 0).
    steps : int
        Adam steps (unused in 1-D and 2-D).
    seed : int
        Seeds the initial directions (unused in 1-D and 2-D).

    Returns
    -------
    torch.Tensor
        Tensor of shape (num_classes, feature_dim), float32, each row of length ``norm``.

    Raises
    ------
    ValueError
        ``num_classes`` < 2, ``feature_dim`` < 1 (or 1 with more than 2 classes), ``norm`` <= 0,
        ``steps`` < 1 (zero steps would return the random start as if it were spread).
    """
    seed = checks.seed("seed", seed)
    num_classes, feature_dim, norm = _check(num_classes, feature_dim, norm)
    steps = checks.integer("steps", steps, low=1)
    if feature_dim == 1:
        return torch.tensor([[norm], [-norm]])
    if feature_dim == 2:
        angle = torch.arange(num_classes, dtype=torch.float64) * (2 * math.pi / num_classes)
        return (norm * torch.stack([angle.cos(), angle.sin()], dim=1)).float()
    if num_classes / 2 <= feature_dim < num_classes - 1:  # Rankin's bound, reached exactly
        centers = torch.zeros(num_classes, feature_dim)
        index = torch.arange(num_classes)
        centers[index, index // 2] = torch.where(index % 2 == 0, norm, -norm)
        return centers
    return (norm * _spread_directions(num_classes, feature_dim, steps, seed)).float()


@functools.lru_cache(maxsize=64)
@torch.enable_grad()
def _spread_directions(num_classes: int, feature_dim: int, steps: int, seed: int) -> torch.Tensor:
    """Return unit directions (L, d), float64, from Adam, or one dimension fewer's if better.

    Centers that fit in d - 1 dimensions fit in d (a zero last coordinate): where Adam's local
    optimum in d dimensions is worse than the one below, the one below is kept, so the smallest
    distance never falls as d grows. Cached: the chain of lower dimensions is optimized once.
    """
    if feature_dim == 2:
        return torch.nn.functional.normalize(spread_centers(num_classes, 2).double(), dim=1)
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(
        num_classes, feature_dim, generator=generator, dtype=torch.float64, requires_grad=True
    )
    optimizer = torch.optim.Adam([w], lr=0.02)
    off_diagonal = ~torch.eye(num_classes, dtype=torch.bool)
    for step in range(steps):
        u = torch.nn.functional.normalize(w, dim=1)
        cosines = (u @ u.T)[off_diagonal]
        sharpness = 10.0 + 490.0 * step / max(
            steps - 1, 1
        )  # soft max first, then nearly the hard max
        loss = torch.logsumexp(sharpness * cosines, dim=0) / sharpness
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    u = torch.nn.functional.normalize(w.detach(), dim=1)
    below = torch.nn.functional.pad(
        _spread_directions(num_classes, feature_dim - 1, steps, seed), (0, 1)
    )
    largest = [float((v @ v.T)[off_diagonal].max()) for v in (u, below)]
    return (u if largest[0] <= largest[1] else below).clone()


@checks.renamed(dim="feature_dim")
def mm_centers(num_classes: int, feature_dim: int, norm: float = 10.0) -> torch.Tensor:
    """Return the Max-Mahalanobis centers: ``num_classes`` points of length ``norm``.

    Placed with the largest minimal distance.

    For ``feature_dim >= num_classes - 1`` this is the exact regular simplex of
    :func:`simplex_centers` (pairwise inner products -norm^2/(num_classes-1), zero sum). For smaller
    ``feature_dim`` (e.g. 10 classes in a 2-D feature space) it falls back to
    :func:`spread_centers`.

    Parameters
    ----------
    num_classes : int
        L, the number of classes (>= 2).
    feature_dim : int
        d, the feature dimension (>= 1).
    norm : float
        C, the length of every center. "MMC-10" in the papers means C = 10.

    Returns
    -------
    torch.Tensor
        Tensor of shape (num_classes, feature_dim), float32.

    Examples
    --------
    >>> mu = mm_centers(10, 256)
    >>> round(float(mu[0] @ mu[1]), 3)
    -11.111
    """
    num_classes, feature_dim, norm = _check(num_classes, feature_dim, norm)
    if feature_dim >= num_classes - 1:
        return simplex_centers(num_classes, feature_dim, norm)
    return spread_centers(num_classes, feature_dim, norm)


def class_means(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the mean feature of every class.

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Labels (N,) in 0..L-1, L = max(y) + 1.

    Returns
    -------
    torch.Tensor
        Means (L, d), L = max(y) + 1.

    Raises
    ------
    ValueError
        z not (N, d) or y not (N,); N = 0; a class in 0..L-1 without a sample (its mean would be
        a NaN row that turns every distance after it into NaN); z not floating point or with a NaN
        or infinite value (the error names the sample); y not integer or with a label < 0.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    if z.dim() != 2 or y.shape != z.shape[:1]:
        raise ValueError(
            f"expected features (N, d) and labels (N,), got {tuple(z.shape)} and {tuple(y.shape)}"
        )
    if len(y) == 0:
        raise ValueError("z and y are empty: class means need at least one sample per class")
    if not z.is_floating_point():
        raise ValueError(f"z must hold floating-point features, got {z.dtype}")
    checks.finite_inputs("z", z)
    # L = max(y) + 1 classes: a float or negative label is no class of them.
    y = checks.labels("y", y, len(z), num_classes=int(y.max()) + 1)
    counts = torch.bincount(y.long().cpu(), minlength=int(y.max()) + 1)
    missing = torch.nonzero(counts == 0).flatten().tolist()
    if missing:
        raise ValueError(
            f"class(es) {missing} of 0..{len(counts) - 1} have no sample in y: their means are "
            "undefined; relabel the classes present as 0..L-1"
        )
    return torch.stack([z[y == k].mean(dim=0) for k in range(len(counts))])


def _at_least_two_classes(means: torch.Tensor) -> torch.Tensor:
    if len(means) < 2:
        raise ValueError(
            "y holds a single class: distances between class means need at least two classes"
        )
    return means


def _between(means: torch.Tensor) -> torch.Tensor:
    """Return the L(L-1)/2 distances between distinct classes' means.

    The diagonal left out by position, not by value: two coinciding means give a distance 0, which
    is what they are.
    """
    distances = torch.cdist(means, means)
    i, j = torch.triu_indices(len(means), len(means), offset=1)
    return distances[i, j]


def class_mean_distance(z: torch.Tensor, y: torch.Tensor) -> float:
    """Return the mean distance between two class means of the features.

    A model's unit of length (lesson 4 compares densities of differently scaled feature spaces in
    it).

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Labels (N,), at least two classes.

    Returns
    -------
    float
        The mean over the L(L-1)/2 pairs of classes.

    Raises
    ------
    ValueError
        z not (N, d) or y not (N,); a class in 0..max(y) without a sample; a single class.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    return _between(_at_least_two_classes(class_means(z, y))).mean().item()


def feature_spread(z: torch.Tensor, y: torch.Tensor) -> float:
    """Return mean ||z - m_y|| / min ||m_i - m_j||, for class means m.

    How tight the classes are, free of scale (lower = tighter; the talk's convergence demo).

    Two classes whose means coincide are not separated at all: the spread is then ``math.inf``
    (never a finite number that reads as separation). Means a hair apart give a huge, honest ratio
    (the spread over a tiny distance).

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Labels (N,), at least two classes.

    Returns
    -------
    float
        The spread, >= 0, or ``math.inf``.

    Raises
    ------
    ValueError
        z not (N, d) or y not (N,); a class in 0..max(y) without a sample; a single class.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    means = _at_least_two_classes(class_means(z, y))
    within = (z - means[y]).norm(dim=1).mean()
    closest = _between(means).min()
    if closest == 0:
        return math.inf
    return (within / closest).item()
