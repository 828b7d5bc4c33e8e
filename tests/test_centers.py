import math

import numpy as np
import pytest
import torch

from robviz.centers import mm_centers, simplex_centers, spread_centers


@pytest.mark.parametrize(
    "L,d", [(2, 1), (2, 5), (3, 2), (4, 3), (10, 9), (10, 64), (10, 256), (100, 99), (100, 256)]
)
def test_exact_centers_form_a_regular_simplex(L, d):
    C = 10.0
    mu = mm_centers(L, d, norm=C).double()
    assert mu.shape == (L, d)
    assert torch.allclose(mu.norm(dim=1), torch.full((L,), C, dtype=torch.float64), atol=1e-4)
    gram = mu @ mu.T
    off = gram[~torch.eye(L, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -(C**2) / (L - 1)), atol=1e-3)
    assert mu.sum(dim=0).abs().max() < 1e-3


def test_issue_figure_ten_classes_in_256_dims():
    mu = mm_centers(10, 256)
    assert torch.allclose(mu.norm(dim=1), torch.full((10,), 10.0), atol=1e-5)
    off = (mu @ mu.T)[~torch.eye(10, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -100 / 9), atol=1e-5)


def test_norm_scales_the_centers():
    assert torch.allclose(
        mm_centers(5, 8, norm=3.0) * (10 / 3), mm_centers(5, 8, norm=10.0), atol=1e-5
    )


def test_two_dimensional_fallback_is_the_regular_polygon():
    mu = mm_centers(10, 2)
    assert torch.allclose(mu.norm(dim=1), torch.full((10,), 10.0), atol=1e-5)
    angles = torch.atan2(mu[:, 1], mu[:, 0]).sort().values
    gaps = torch.diff(torch.cat([angles, angles[:1] + 2 * math.pi]))
    assert torch.allclose(gaps, torch.full_like(gaps, 2 * math.pi / 10), atol=1e-5)


def test_optimized_fallback_spreads_centers_far_apart():
    # 10 classes in 5-D: the optimum is the cross-polytope (+-e_i), largest pairwise cosine 0.
    u = torch.nn.functional.normalize(spread_centers(10, 5), dim=1)
    cos = (u @ u.T)[~torch.eye(10, dtype=torch.bool)]
    assert cos.max() < 0.02
    # And much better than random directions.
    r = torch.nn.functional.normalize(
        torch.randn(10, 5, generator=torch.Generator().manual_seed(0)), dim=1
    )
    assert cos.max() < (r @ r.T)[~torch.eye(10, dtype=torch.bool)].max() - 0.3


def test_fallback_is_deterministic():
    # the same centers whatever the global RNG state (the fallback seeds its own generator)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        first = mm_centers(8, 3)
        torch.manual_seed(1)
        assert torch.equal(first, mm_centers(8, 3))
    # and they are good ones: norm 10 and 8 points on the sphere nearly at the Tammes optimum
    # (smallest angle 74.86 degrees; the cube's corners only reach 70.53)
    assert torch.allclose(first.norm(dim=1), torch.full((8,), 10.0), atol=1e-5)
    u = torch.nn.functional.normalize(first, dim=1)
    cos = (u @ u.T)[~torch.eye(8, dtype=torch.bool)]
    assert math.degrees(math.acos(cos.max().item())) > 74.0


@pytest.mark.parametrize(
    "args,match",
    [
        ((1, 5), "num_classes"),
        ((10, 0), "dim"),
        ((3, 1), "dim=1"),
        ((3, 2, -1.0), "norm"),
        ((3, 2, float("nan")), "norm"),
        ((2.5, 3), "num_classes"),
    ],
)
def test_bad_arguments_raise_clear_errors(args, match):
    with pytest.raises(ValueError, match=match):
        mm_centers(*args)


def test_simplex_refuses_too_few_dimensions():
    with pytest.raises(ValueError, match="dim >= 9"):
        simplex_centers(10, 2)


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    """`dim` was renamed `feature_dim`: it is accepted for one release, with a warning.

    See docs/design.md, Vocabulary.
    """
    import warnings

    from robviz.theory import monte_carlo_expected_distance
    from robviz.widgets.centers import MMCentersExplorer

    with pytest.warns(
        DeprecationWarning, match=r"mm_centers\(dim=...\) is deprecated: use feature_dim"
    ):
        old = mm_centers(4, dim=3)
    assert torch.equal(old, mm_centers(4, feature_dim=3))
    with pytest.raises(TypeError, match="'dim' and 'feature_dim'"):
        mm_centers(4, dim=3, feature_dim=3)
    with pytest.warns(DeprecationWarning, match=r"expected_distance\(dim=...\) is deprecated"):
        assert monte_carlo_expected_distance(1.0, dim=3, n=100).n == 100
    with pytest.warns(DeprecationWarning, match=r"dim=...\) is deprecated: use feature_dim"):
        assert MMCentersExplorer(dim=3).feature_dim.value == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names warn about nothing
        mm_centers(4, feature_dim=3)


def authors_centers(L, d, C):
    """The recursion of the authors' ``kernel_paras/craft_MMLDA.m``, in NumPy float64."""
    mu = np.zeros((L, d))
    mu[0, 0] = 1.0
    for k in range(1, L):
        for j in range(k):
            mu[k, j] = -(1.0 / (L - 1) + mu[k] @ mu[j]) / mu[j, j]
        if k < d:  # mu_L[L] is 0, and has no column when d = L - 1
            mu[k, k] = math.sqrt(abs(1.0 - mu[k] @ mu[k]))
    return C * mu


@pytest.mark.parametrize("L,d", [(2, 1), (3, 2), (10, 9), (10, 64), (100, 256)])
def test_exact_centers_are_the_authors_matrix_entry_by_entry(L, d):
    # Not just any regular simplex: the authors' one (mu_1 = 10 e_1, lower-triangular), so features
    # and checkpoints line up with theirs. Float32 rounding is about 5e-7 of the length 10.
    expected = authors_centers(L, d, 10.0)
    np.testing.assert_allclose(simplex_centers(L, d, 10.0).double().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("num_classes", [5, 6, 7, 10, 11])
def test_between_half_and_a_simplex_the_centers_reach_rankins_bound_exactly(num_classes):
    # L > d + 1 unit vectors always have a pair at <= 90 degrees (Rankin 1955); with L <= 2d the
    # centers +-C e_i reach it: every pair orthogonal or opposite
    for feature_dim in range(math.ceil(num_classes / 2), num_classes - 1):
        mu = mm_centers(num_classes, feature_dim, 3.0)
        assert mu.shape == (num_classes, feature_dim)
        assert torch.allclose(mu.norm(dim=1), torch.full((num_classes,), 3.0))
        inner = (mu @ mu.T)[~torch.eye(num_classes, dtype=torch.bool)]
        assert set(inner.tolist()) <= {0.0, -9.0} and inner.max() == 0.0


def test_the_robustness_bound_never_falls_as_the_dimension_grows():
    from robviz.theory import robustness_bound

    bounds = [float(robustness_bound(mm_centers(10, d))) for d in range(2, 13)]
    assert all(b <= c + 1e-9 for b, c in zip(bounds, bounds[1:])), bounds
    assert bounds[3:7] == [pytest.approx(10 / math.sqrt(2))] * 4  # d = 5..8: Rankin's plateau
    # below L / 2, Adam's centers: d = 7 of 20 classes fell below d = 6 (6.2053 < 6.2548)
    twenty = [float(robustness_bound(mm_centers(20, d))) for d in range(2, 11)]
    assert all(b <= c + 1e-9 for b, c in zip(twenty, twenty[1:])), twenty
