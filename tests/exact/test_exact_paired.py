"""The exact McNemar test (robviz.exact.mcnemar) against hand-computed binomials.

The test compares paired robustness verdicts.
"""

import math

import numpy as np
import pytest
import torch

from robviz.exact import mcnemar


def two_sided(k, n):
    """The exact two-sided binomial p-value at 1/2: P(|K - n/2| >= |k - n/2|).

    It is computed by direct summation.
    """
    return min(
        1.0, sum(math.comb(n, i) for i in range(n + 1) if abs(i - n / 2) >= abs(k - n / 2)) / 2**n
    )


def test_counts_and_pvalue_match_the_binomial_by_hand():
    a = torch.tensor([True] * 10 + [False] * 3 + [True] * 5 + [False] * 2)
    b = torch.tensor([False] * 10 + [True] * 3 + [True] * 5 + [False] * 2)
    test = mcnemar(a, b)
    assert (test.n, test.robust_a, test.robust_b, test.only_a, test.only_b) == (20, 15, 8, 10, 3)
    assert test.pvalue == pytest.approx(two_sided(10, 13), rel=1e-12)
    assert 0.04 < test.pvalue < 0.1  # 10 vs 3 is p = 0.092: not significant at 5 %
    assert mcnemar(b, a).pvalue == pytest.approx(test.pvalue)  # symmetric


def test_one_sided_split_of_seven_is_significant_and_no_discordance_is_no_evidence():
    a = np.array([True] * 7 + [False] * 5)
    b = np.zeros(12, dtype=bool)
    assert mcnemar(a, b).pvalue == pytest.approx(2 / 2**7)
    same = np.array([True, False, True])
    assert mcnemar(same, same).pvalue == 1.0
    assert mcnemar(same, same).only_a == mcnemar(same, same).only_b == 0


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.array([1, 0]), np.array([True, False]), "robust_a"),
        (np.array([True]), np.array([[True]]), "robust_b"),
        (np.array([True, False]), np.array([True]), "same points"),
        (np.array([], dtype=bool), np.array([], dtype=bool), "same points"),
    ],
)
def test_bad_verdicts_raise(a, b, match):
    with pytest.raises(ValueError, match=match):
        mcnemar(a, b)
