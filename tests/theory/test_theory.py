import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robviz.centers import mm_centers
from robviz.models import Classifier
from robviz.objectives import make_objective
from robviz.shell_density import mmc_shell_density, monte_carlo_shell_density, sample_density
from robviz.theory import (
    adp_optimal_predictions,
    adp_optimum,
    expected_distance,
    expected_robustness,
    gsce_contour,
    gsce_sample_density,
    log_ball_volume,
    mahalanobis_distances,
    mmc_sample_density,
    mmc_shell_log_volume,
    monte_carlo_expected_distance,
    robustness_bound,
)


def chi2_cdf(x, k):
    return torch.special.gammainc(torch.tensor(k / 2, dtype=torch.float64), x / 2)


def chi2_log_pdf(x, k):
    return (k / 2 - 1) * torch.log(x) - x / 2 - (k / 2) * math.log(2) - math.lgamma(k / 2)


def gaussian_features(num_classes, dim, n_per_class, sigma, seed=0):
    """z = mu_y + sigma * eps around MM centers: the MMC loss is (sigma^2/2) chi^2_d."""
    mu = mm_centers(num_classes, dim, 10.0).double()
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    z = mu[y] + sigma * torch.randn(len(y), dim, generator=generator, dtype=torch.float64)
    return z, y, mu


# -------------------------------------------------------------------------- E(d) and RB (ICML 2018)


def test_expected_distance_at_zero_is_sqrt_two_over_pi():
    assert expected_distance(0.0) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-15)


def test_expected_distance_increases_with_the_derivative_of_the_formula():
    delta = torch.linspace(0, 12, 601, dtype=torch.float64)
    assert (expected_distance(delta).diff() > 0).all()
    inner = delta[1:]
    slope = (expected_distance(inner + 1e-6) - expected_distance(inner - 1e-6)) / 2e-6
    assert torch.allclose(slope, (1 - 2 * torch.special.ndtr(-inner / 2)) / 2, atol=1e-6)


def test_expected_distance_lies_above_and_tends_to_half_delta():
    delta = torch.linspace(0, 30, 301, dtype=torch.float64)
    gap = expected_distance(delta) - delta / 2
    assert (gap >= -1e-12).all()
    assert (gap.diff() <= 1e-12).all()
    assert expected_distance(12.0) - 6.0 < 1e-6
    assert expected_distance(30.0) == pytest.approx(15.0, abs=1e-12)


def test_expected_distance_keeps_the_input_kind():
    assert isinstance(expected_distance(1), float)
    out = expected_distance(torch.tensor([[0.5, 1.0]], dtype=torch.float32))
    assert out.dtype == torch.float32 and out.shape == (1, 2)


@pytest.mark.parametrize("dim", [2, 10])
@pytest.mark.parametrize("delta", [0.0, 1.0, 2.0, 4.0, 8.0])
def test_formula_matches_monte_carlo_within_three_standard_errors(delta, dim):
    estimate = monte_carlo_expected_distance(delta, feature_dim=dim, n=100_000, seed=1)
    assert abs(estimate.mean - expected_distance(delta)) < 3 * estimate.std_error
    assert estimate.std_error < 0.004


def test_monte_carlo_with_a_full_covariance_uses_the_mahalanobis_metric():
    generator = torch.Generator().manual_seed(3)
    a = torch.randn(5, 5, generator=generator, dtype=torch.float64)
    covariance = a @ a.T + 0.5 * torch.eye(5, dtype=torch.float64)
    estimate = monte_carlo_expected_distance(
        3.0, feature_dim=5, n=100_000, seed=2, covariance=covariance
    )
    assert abs(estimate.mean - expected_distance(3.0)) < 3 * estimate.std_error


def test_mahalanobis_distances_identity_and_scaled_covariance():
    mu = torch.randn(6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    delta = mahalanobis_distances(mu)
    assert delta.shape == (6, 6) and delta.dtype == torch.float64
    assert torch.allclose(delta, torch.cdist(mu, mu), atol=1e-12)
    assert torch.allclose(mahalanobis_distances(mu, 4 * torch.eye(4)), delta / 2, atol=1e-12)
    assert (delta.diagonal() == 0).all()


@pytest.mark.parametrize(
    "L,d,C",
    [(2, 1, 1.0), (3, 2, 10.0), (4, 3, 2.5), (10, 9, 10.0), (10, 64, 10.0), (100, 256, 10.0)],
)
def test_robustness_bound_of_mm_centers_is_half_the_simplex_edge(L, d, C):
    expected = 0.5 * C * math.sqrt(2 * L / (L - 1))
    centers = mm_centers(L, d, C)
    assert robustness_bound(centers) == pytest.approx(expected, rel=1e-5)
    assert expected_robustness(centers) == pytest.approx(
        float(expected_distance(2 * expected)), rel=1e-5
    )
    assert expected_robustness(centers) >= robustness_bound(centers)


@pytest.mark.parametrize("L,d", [(10, 16), (5, 4), (6, 2)])
def test_mm_centers_maximize_the_robustness_bound(L, d):
    C = 10.0
    best = robustness_bound(mm_centers(L, d, C))
    generator = torch.Generator().manual_seed(0)
    random = C * F.normalize(
        torch.randn(300, L, d, generator=generator, dtype=torch.float64), dim=2
    )
    bounds = torch.tensor([robustness_bound(centers) for centers in random])
    assert (bounds < best - 1e-6).all()
    assert best <= 0.5 * C * math.sqrt(2 * L / (L - 1)) + 1e-5


# -------------------------------------------------------------------------- volumes and SD formulas


def test_shell_volumes_against_closed_forms():
    a, b = torch.tensor([0.0, 1.0, 3.0]), torch.tensor([1.0, 2.5, 3.5])
    annulus = 2 * math.pi * (b - a)  # factor 1/2: radii sqrt(2a), sqrt(2b)
    assert torch.allclose(mmc_shell_log_volume(a, b, 2).exp(), annulus, rtol=1e-6)
    assert torch.allclose(mmc_shell_log_volume(a, b, 2, factor=1.0).exp(), annulus / 2, rtol=1e-6)
    shell3 = 4 / 3 * math.pi * ((2 * b) ** 1.5 - (2 * a) ** 1.5)
    assert torch.allclose(mmc_shell_log_volume(a, b, 3).exp(), shell3, rtol=1e-6)
    assert math.exp(log_ball_volume(2.0, 3)) == pytest.approx(32 * math.pi / 3)
    log_v = mmc_shell_log_volume(50.0, 51.0, 256)  # about 1e+250: fine in log-space
    direct = log_ball_volume(math.sqrt(102.0), 256) + math.log1p(-((50 / 51) ** 128))
    assert math.isfinite(log_v) and log_v == pytest.approx(direct, rel=1e-12)


def test_mmc_sample_density_is_count_over_the_volume_derivative():
    d, N, p, C, h = 6, 1000, 0.3, 2.0, 1e-6
    dvol = math.exp(mmc_shell_log_volume(C, C + h, d)) / h
    assert mmc_sample_density(C, d, N, p) == pytest.approx(N * p / dvol, rel=1e-5)
    assert mmc_sample_density(C, d, N, lambda c: p) == mmc_sample_density(C, d, N, p)
    assert mmc_sample_density(C, d, N, p, log=True) == pytest.approx(
        math.log(mmc_sample_density(C, d, N, p))
    )


def test_mmc_theorem_form_is_the_papers_expression_and_differs_by_sqrt_c():
    C = torch.tensor([0.5, 1.0, 4.0, 9.0], dtype=torch.float64)
    d, N, p = 64, 5000, torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    theorem = mmc_sample_density(C, d, N, p, form="theorem", log=True)
    assert torch.allclose(theorem, math.log(N) + p.log() - 31.5 * C.log())
    ratio = mmc_sample_density(C, d, N, p, log=True) - theorem
    assert torch.allclose(ratio - ratio[1], 0.5 * C.log(), atol=1e-12)


def test_mmc_sample_density_in_256_dimensions_stays_finite_in_log_space():
    log_sd = mmc_sample_density(torch.tensor([1.0, 50.0, 500.0]), 256, 50_000, 0.01, log=True)
    assert torch.isfinite(log_sd).all() and (log_sd.diff() < 0).all()


@pytest.mark.parametrize("sigma_k,sigma_kt", [(0.75, 0.5), (0.5, 0.75), (2.0, 1.0)])
def test_gsce_contour_points_have_the_two_class_loss_c(sigma_k, sigma_kt):
    mu = mm_centers(3, 3, 2.0).double()
    B_k, B_kt = 0.3, -0.2
    for C in (0.05, 0.3, 1.0, 2.0):
        sphere = gsce_contour(C, sigma_k, sigma_kt, mu[0], mu[1], B_k, B_kt)
        if math.isnan(sphere.radius2):
            continue
        directions = F.normalize(
            torch.randn(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
            dim=1,
        )
        z = sphere.center + math.sqrt(sphere.radius2) * directions
        h_k = -sigma_k * (z - mu[0]).pow(2).sum(1) + B_k
        h_kt = -sigma_kt * (z - mu[1]).pow(2).sum(1) + B_kt
        assert torch.allclose(
            F.softplus(h_kt - h_k), torch.full((50,), C, dtype=torch.float64), atol=1e-9
        )


def test_gsce_contour_vanishes_when_the_radius_turns_negative():
    mu = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    radius2 = gsce_contour(torch.tensor([0.1, 1.0, 50.0]), 0.5, 0.75, mu[0], mu[1]).radius2
    assert radius2[0] > 0 and torch.isnan(radius2[-1])


def test_gsce_sample_density_exact_and_theorem_forms():
    mu = mm_centers(3, 4, 3.0).double()
    args = (0.75, 0.5, mu[0], mu[1], 0.2, 0.1)
    C, d, N, p, h = 1.5, 4, 800, 0.25, 1e-6
    r2 = gsce_contour(C, *args).radius2
    r2_next = gsce_contour(C + h, *args).radius2
    dvol = (
        math.exp(log_ball_volume(math.sqrt(r2_next), d))
        - math.exp(log_ball_volume(math.sqrt(r2), d))
    ) / h
    assert gsce_sample_density(C, d, N, p, *args) == pytest.approx(N * p / abs(dvol), rel=1e-4)
    b_term = 0.75 * 0.5 * float((mu[0] - mu[1]).pow(2).sum()) / 0.25**2 + (0.2 - 0.1) / 0.25
    theorem = N * p / (b_term + math.log(math.exp(C) - 1) / 0.25) ** 1.5
    assert gsce_sample_density(C, d, N, p, *args, form="theorem") == pytest.approx(
        theorem, rel=1e-12
    )


# -------------------------------------------------------------------------- the empirical estimator


@pytest.mark.parametrize("dim,sigma", [(2, 1.0), (64, 0.5)])
def test_shell_counts_follow_the_chi_square_law(dim, sigma):
    z, y, mu = gaussian_features(10, dim, 2000, sigma)
    result = mmc_shell_density(z, y, mu, num_shells=12)
    edges = result.edges
    expected = 2000 * (
        chi2_cdf(2 * edges[:, 1:] / sigma**2, dim) - chi2_cdf(2 * edges[:, :-1] / sigma**2, dim)
    )
    assert (result.counts - expected).abs().le(4 * expected.sqrt() + 2).all()
    assert torch.equal(result.class_sizes, torch.full((10,), 2000))
    assert result.log_densities.shape == (10, 12) and torch.isfinite(result.log_densities).all()
    assert result.feature_dim == dim
    with pytest.warns(DeprecationWarning, match="feature_dim"):
        assert result.dim == dim  # the old name, for one release


@pytest.mark.parametrize("dim,sigma", [(2, 1.0), (64, 0.5)])
def test_estimated_density_matches_theorem_2_and_decreases_with_c(dim, sigma):
    z, y, mu = gaussian_features(10, dim, 5000, sigma)
    result = mmc_shell_density(z, y, mu, num_shells=10, quantiles=(0.1, 0.9))
    C = result.midpoints
    # the loss is (sigma^2/2) chi^2_d: p(C) = (2/sigma^2) chi2_pdf(2C/sigma^2)
    log_p = chi2_log_pdf(2 * C / sigma**2, dim) + math.log(2 / sigma**2)
    theory = mmc_sample_density(C, dim, 5000, log_p.exp(), log=True)
    # Averaged over a shell, the density is N (F(b) - F(a)) / Vol: the estimator's expectation.
    F_ = lambda c: chi2_cdf(2 * c / sigma**2, dim)  # noqa: E731
    shell_average = (
        torch.log(5000 * (F_(result.edges[:, 1:]) - F_(result.edges[:, :-1]))) - result.log_volumes
    )
    noise = (result.log_densities - shell_average).mean(
        dim=0
    )  # about 0.05 per shell, averaged over 10 classes
    assert noise.abs().max() < 0.06
    # Theorem 2 at the shell's middle: off only by the shell's width (the volume grows like C^31 in
    # 64-d).
    assert (result.log_densities - theory).mean(dim=0).abs().max() < 0.2
    # For Gaussian features SD is N times the Gaussian density: log SD falls with slope -1/sigma^2
    # in C.
    gaussian = math.log(5000) - dim / 2 * math.log(2 * math.pi * sigma**2) - C / sigma**2
    assert torch.allclose(theory, gaussian, atol=1e-8)
    centered = C - C.mean(dim=1, keepdim=True)
    slope = (centered * result.log_densities).sum(dim=1) / centered.pow(2).sum(
        dim=1
    )  # least squares, per class
    assert torch.allclose(slope, torch.full_like(slope, -1 / sigma**2), rtol=0.1)
    assert slope.mean() == pytest.approx(-1 / sigma**2, rel=0.03)


def test_default_shells_hold_equal_counts_and_width_spacing_equal_widths():
    z, y, mu = gaussian_features(3, 8, 1000, 1.0)
    by_count = mmc_shell_density(z, y, mu, num_shells=8)
    assert (
        by_count.counts.min() >= 115 and by_count.counts.max() <= 125
    )  # 96% of 1000 points in 8 shells
    by_width = mmc_shell_density(z, y, mu, num_shells=8, spacing="width")
    widths = by_width.edges.diff(dim=1)
    assert torch.allclose(widths, widths[:, :1].expand_as(widths))
    assert torch.allclose(by_width.edges[:, [0, -1]], by_count.edges[:, [0, -1]])


def test_given_edges_are_shared_by_all_classes():
    z, y, mu = gaussian_features(3, 2, 400, 1.0)
    result = mmc_shell_density(z, y, mu, edges=[0.0, 0.5, 1.0, 2.0])
    assert result.edges.shape == (3, 4) and result.counts.shape == (3, 3)
    assert torch.allclose(
        result.volumes[0], 2 * math.pi * torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64)
    )


def test_monte_carlo_volumes_match_the_exact_annuli_in_2d():
    z, y, mu = gaussian_features(4, 2, 500, 1.0)
    mmc = lambda zz, yy: 0.5 * (zz - mu[yy]).pow(2).sum(1)  # noqa: E731
    box = torch.tensor([[-16.0, -16.0], [16.0, 16.0]])
    estimate = monte_carlo_shell_density(
        z, y, mmc, num_shells=6, num_samples=400_000, box=box, seed=0
    )
    exact = mmc_shell_density(z, y, mu, edges=estimate.edges)
    assert torch.equal(estimate.counts, exact.counts)
    assert (estimate.log_volumes - exact.log_volumes).abs().max() < 0.1
    assert estimate.method == "monte-carlo" and estimate.volume_hits.min() > 100


def test_sample_density_of_models_dispatches_on_the_objective():
    torch.manual_seed(0)
    mmc = Classifier(nn.Identity(), make_objective("mmc", 4, 2, norm=5.0))
    y = torch.arange(4).repeat(300)
    x = mmc.objective.centers[y] + torch.randn(1200, 2)
    mmc.train()
    result = sample_density(mmc, x, y, num_shells=5)
    assert result.method == "sphere" and mmc.training
    assert torch.equal(
        result.counts, mmc_shell_density(x, y, mmc.objective.centers, num_shells=5).counts
    )

    sce = Classifier(nn.Identity(), make_objective("sce", 4, 2))
    result = sample_density(sce, x, y, num_shells=5, num_samples=50_000)
    assert result.method == "monte-carlo" and result.box.shape == (2, 2)
    assert result.counts.sum() >= 0.95 * 1200 and (result.volume_hits > 0).all()
    assert torch.isfinite(result.log_densities).all()

    wide = Classifier(nn.Identity(), make_objective("sce", 4, 8))
    with pytest.raises(ValueError, match="d <= 3"):
        sample_density(wide, torch.randn(40, 8), torch.arange(4).repeat(10))


# ------------------------------------------------------------------------------- ADP (ICML 2019)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 5.0, 20.0, 1000.0])
@pytest.mark.parametrize("K,L", [(1, 2), (3, 10), (5, 100), (2, 3)])
def test_adp_optimum_solves_eq_7(alpha, K, L):
    f = adp_optimum(alpha, K, L)
    assert 1 / L < f < 1
    assert abs(1 / f - alpha / K * math.log(f * (L - 1) / (1 - f))) < 1e-8


def test_adp_optimum_minimizes_the_theorem_2_objective():
    alpha, K, L = 2.0, 3, 10

    # K members all predicting f on y; the mean has (1-f)/(L-1) on each wrong label
    def objective(
        f,
    ):
        entropy = -f * math.log(f) - (1 - f) * math.log((1 - f) / (L - 1))
        return -K * math.log(f) - alpha * entropy

    f = adp_optimum(alpha, K, L)
    assert objective(f) < min(objective(f - 1e-3), objective(f + 1e-3))


def test_adp_optimum_decreases_with_alpha_towards_one_over_l():
    values = [adp_optimum(alpha, 3, 10) for alpha in (0.2, 0.5, 1, 2, 5, 20, 100, 1e4)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[0] > 0.99 and values[-1] < 0.1 + 1e-3


def test_corollary_1_predictions():
    alpha, K, L = 2.0, 3, 10
    P = adp_optimal_predictions(alpha, K, L)
    f_y = adp_optimum(alpha, K, L)
    assert P.shape == (K, L)
    assert torch.allclose(P.sum(dim=1), torch.ones(K, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(P[:, 0], torch.full((K,), f_y, dtype=torch.float64))
    wrong = P[:, 1:]
    # member k puts K(1-F_y)/(L-1) on its own block of (L-1)/K labels, zero elsewhere
    for k in range(K):
        block = torch.zeros(L - 1, dtype=torch.bool)
        block[3 * k : 3 * k + 3] = True
        assert torch.allclose(
            wrong[k, block], torch.full((3,), K * (1 - f_y) / (L - 1), dtype=torch.float64)
        )
        assert (wrong[k, ~block] == 0).all()
    M = F.normalize(wrong, dim=1)
    assert torch.linalg.det(M @ M.T) == pytest.approx(1.0)
    mean = P.mean(dim=0)
    assert torch.allclose(mean[1:], torch.full((L - 1,), (1 - f_y) / (L - 1), dtype=torch.float64))


def test_corollary_1_with_another_true_label():
    P = adp_optimal_predictions(1.0, 2, 5, y=2)
    assert torch.allclose(P[:, 2], torch.full((2,), adp_optimum(1.0, 2, 5), dtype=torch.float64))
    assert (P[0, [0, 1]] > 0).all() and (P[1, [3, 4]] > 0).all() and P[0, 3:].sum() == 0


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: expected_distance(-1.0), "delta"),
        (lambda: expected_distance(torch.tensor([1.0, -0.1])), "delta"),
        (lambda: expected_distance(float("nan")), "NaN"),
        (lambda: monte_carlo_expected_distance(-1.0), "delta"),
        (lambda: monte_carlo_expected_distance(1.0, feature_dim=0), "feature_dim"),
        (lambda: mahalanobis_distances(torch.zeros(1, 3)), "centers"),
        (lambda: mahalanobis_distances(torch.eye(3), -torch.eye(3)), "positive definite"),
        (lambda: mahalanobis_distances(torch.eye(3), torch.eye(2)), "covariance"),
        (lambda: mmc_sample_density(0.0, 4, 10, 0.1), "C"),
        (lambda: mmc_sample_density(1.0, 0, 10, 0.1), "d"),
        (lambda: mmc_sample_density(1.0, 4, -1, 0.1), "N"),
        (lambda: mmc_sample_density(1.0, 4, 10, -0.1), "p_of_C"),
        (lambda: mmc_sample_density(1.0, 4, 10, 0.1, form="paper"), "form"),
        (lambda: mmc_shell_log_volume(2.0, 1.0, 3), "low < high"),
        (
            lambda: mmc_shell_density(
                torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.eye(2), spacing="log"
            ),
            "spacing",
        ),
        (
            lambda: mmc_shell_density(
                torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.eye(2), edges=[1.0, 0.5]
            ),
            "edges",
        ),
        (lambda: gsce_contour(1.0, 0.5, 0.5, torch.zeros(2), torch.ones(2)), "differ"),
        (
            lambda: gsce_sample_density(1.0, 3, 10, 0.1, 0.7, 0.5, torch.zeros(2), torch.ones(2)),
            "d = 3",
        ),
        (lambda: adp_optimum(0.0, 3, 10), "alpha > 0"),
        (lambda: adp_optimum(-1.0, 3, 10), "alpha > 0"),
        (lambda: adp_optimum(2.0, 0, 10), "K"),
        (lambda: adp_optimum(2.0, 3, 1), "L"),
        (lambda: adp_optimal_predictions(2.0, 4, 10), "divide"),
        (
            lambda: mmc_shell_density(
                torch.zeros(5, 2), torch.zeros(5, dtype=torch.long), torch.eye(3)
            ),
            "dimension",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
