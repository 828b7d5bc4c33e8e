"""The optimum of Adaptive Diversity Promoting training, in closed form.

T. Pang, K. Xu, C. Du, N. Chen, J. Zhu, "Improving Adversarial Robustness via Promoting Ensemble
Diversity", ICML 2019: :func:`adp_optimum` (Theorem 2, Eq. 7) and :func:`adp_optimal_predictions`
(Corollary 1, Eq. 8).
"""

from __future__ import annotations

import math

import torch

from .. import checks

__all__ = ["adp_optimum", "adp_optimal_predictions"]


def _check_adp(alpha: float, K: int, L: int) -> float:
    K = checks.integer("K (ensemble members)", K, low=1)
    L = checks.integer("L (classes)", L, low=2)
    alpha = checks.real("alpha", alpha)
    if alpha <= 0:
        raise ValueError(
            f"Eq. 7 has a root only for alpha > 0, got alpha={alpha!r}: with alpha = 0 the optimum "
            "is "
            "the one-hot prediction F_y = 1 (Theorem 1), and alpha < 0 rewards low entropy"
        )
    return float(alpha)


def adp_optimum(alpha: float, K: int, L: int) -> float:
    """Return the ensemble's optimal true-class prediction F_y under ADP with beta = 0.

    ICML 2019, Theorem 2, Eq. 7.

    The minimizer of sum_k CE(y, F^k) - alpha H(mean_k F^k) has F^k_y = F_y for every member, the
    mean prediction F_j = (1 - F_y)/(L - 1) on every wrong label j, and F_y in (1/L, 1) solving

        1 / F_y = (alpha / K) log(F_y (L - 1) / (1 - F_y)).

    With t = log(F_y / (1 - F_y)) this reads (alpha/K)(t + log(L - 1)) = 1 + exp(-t), whose left
    side increases and right side decreases in t: one root for every alpha > 0, found by bisection
    to float64 precision. F_y -> 1 as alpha -> 0 and F_y -> 1/L as alpha -> infinity. For alpha/K
    below about 0.03, F_y rounds to 1.0.

    Parameters
    ----------
    alpha : float
        The entropy weight, > 0.
    K : int
        Ensemble members, >= 1.
    L : int
        Classes, >= 2.

    Returns
    -------
    float
        F_y as a float.

    Examples
    --------
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
    """Return the K members' optimal predictions under ADP when K divides L - 1.

    ICML 2019, Corollary 1, Eq. 8.

    Partition the wrong labels [L] minus {y} into K blocks s_1, ..., s_K of (L - 1)/K labels (here
    consecutive blocks in increasing order). Member k predicts

        F^k_j = F_y                      if j = y,
                K (1 - F_y) / (L - 1)    if j in s_k,
                0                        otherwise,

    with F_y from :func:`adp_optimum`. Each member's wrong-label mass sits on its own block, so the
    normalized non-maximal predictions are orthonormal and the ensemble diversity det(M M^T) is
    maximal (1); their mean is the optimum of Theorem 2.

    Parameters
    ----------
    alpha : float
        > 0.
    K : int
        Members, must divide L - 1.
    L : int
        classes.
    y : int
        The true label.

    Returns
    -------
    torch.Tensor
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
        predictions[k, wrong[k * block : (k + 1) * block]] = K * (1 - f_y) / (L - 1)
    return predictions
