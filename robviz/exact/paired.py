"""The exact McNemar test on paired verdicts: whether one model is more robust than another.

Two models judged on the same N points give paired verdicts (robust or not, each). Only the
*discordant* points say which model is more robust: ``only_a`` points that model a keeps and model b
loses, ``only_b`` the reverse; the points both keep or both lose are the same evidence for each. If
the two models were equally robust, each discordant point would fall to either side with probability
1/2, so ``only_a`` would be Binomial(only_a + only_b, 1/2). The exact (binomial) McNemar test asks
how surprising the observed split is under that null (McNemar, Psychometrika 1947; the exact form:
Fagerland, Lydersen and Laake, BMC Med. Res. Methodol. 2013).

    test = mcnemar(exact_sce.robust, exact_mmc.robust)
    test.only_a, test.only_b, test.pvalue

Read it with its sample size: with 150 points a difference of a few points can be chance, and a
p-value says nothing about a model's robustness on points it was not tested on. The verdicts must be
exact ones (:func:`robviz.exact.robust_accuracy`) for the test to be about robustness: on attack
verdicts it compares two attacks' failures as much as two models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from scipy.stats import binomtest

__all__ = ["PairedTest", "mcnemar"]


@dataclass(frozen=True)
class PairedTest:
    """The exact McNemar test of two models' verdicts on the same points.

    Attributes
    ----------
    n : int
        The number of points (pairs).
    robust_a, robust_b : int
        How many points each model keeps.
    only_a : int
        Points robust for a and not for b.
    only_b : int
        The reverse.
    pvalue : float
        The two-sided exact binomial p-value, P(a split at least as uneven | Binomial(only_a +
        only_b, 1/2)); 1.0 when no point is discordant.
    """

    n: int
    robust_a: int
    robust_b: int
    only_a: int
    only_b: int
    pvalue: float

    def __str__(self) -> str:
        return (
            f"{self.n} points: a keeps {self.robust_a}, b keeps {self.robust_b}; discordant: "
            f"{self.only_a} "
            f"only a, {self.only_b} only b; exact McNemar p = {self.pvalue:.3g}"
        )


def _verdicts(name: str, value: torch.Tensor | npt.ArrayLike) -> np.ndarray:
    array = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    if array.ndim != 1 or array.dtype != bool:
        raise ValueError(
            f"{name} must be a 1-D bool array or tensor (True: robust), got dtype {array.dtype} "
            "and "
            f"shape {array.shape}"
        )
    return array


def mcnemar(
    robust_a: torch.Tensor | npt.ArrayLike, robust_b: torch.Tensor | npt.ArrayLike
) -> PairedTest:
    """Return the exact McNemar test of paired robustness verdicts.

    Binomial(only_a + only_b, 1/2), two-sided, :func:`scipy.stats.binomtest`.

    Parameters
    ----------
    robust_a, robust_b
        (N,) bool arrays or tensors, True where the model is robust at point i; the same
        points in the same order, e.g. ``robust_accuracy(model_a, x, y, eps, ...).robust``.

    Returns
    -------
    PairedTest
        A :class:`PairedTest`.

    Raises
    ------
    ValueError
        For verdicts that are not 1-D bool, of different lengths, or empty.
    """
    a, b = _verdicts("robust_a", robust_a), _verdicts("robust_b", robust_b)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(
            f"robust_a and robust_b must hold the same points, at least one; got {len(a)} and "
            f"{len(b)}"
        )
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    pvalue = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return PairedTest(len(a), int(a.sum()), int(b.sum()), only_a, only_b, float(pvalue))
