"""robviz.theory's closed forms at the edges of their domains.

Thin shells, infinite loss values, zero-dimensional features, non-finite covariances and
arguments of the wrong shape.
"""

import math

import pytest
import torch
from scipy.special import gammaln

from robviz.theory import (
    expected_robustness,
    gsce_contour,
    gsce_sample_density,
    mahalanobis_distances,
    mmc_sample_density,
    mmc_shell_log_volume,
    monte_carlo_expected_distance,
    robustness_bound,
)


@pytest.mark.parametrize("d", [1, 2, 3, 64])
@pytest.mark.parametrize("width", [1e-12, 1e-9, 1e-6])
def test_thin_shell_volume_keeps_its_digits(d, width):
    # Vol = V_d (2 high)^{d/2} [1 - (low/high)^{d/2}] at factor 1/2; for low = 1, high = 1 + w the
    # bracket is -expm1((d/2) log1p(-w/(1 + w))), w the float64 width exactly as stored.
    low, high = 1.0, 1.0 + width
    w = high - low
    bracket = -math.expm1(0.5 * d * math.log1p(-w / high))
    log_unit = 0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1)
    expected = log_unit + 0.5 * d * math.log(2 * high) + math.log(bracket)
    got = mmc_shell_log_volume(low, high, d, 0.5)
    # an error of 1e-13 in the log is 1e-13 of the volume; the former form lost 1e-9 at w = 1e-9
    assert got == pytest.approx(expected, abs=1e-13)
    if d == 2:  # the annulus area 2 pi (high - low), a second independent form
        assert math.exp(got) == pytest.approx(2 * math.pi * w, rel=1e-13)


def test_infinite_loss_value_gives_the_limit_not_nan():
    # In 2-D the shell's volume grows linearly in C: SD = N p / (pi / factor), for every C.
    finite = mmc_sample_density(1e6, 2, 100, 0.1)
    assert mmc_sample_density(math.inf, 2, 100, 0.1) == pytest.approx(finite, rel=1e-12)
    assert finite == pytest.approx(100 * 0.1 / (2 * math.pi), rel=1e-12)
    # the theorem's form has no C at all in d = 1
    assert mmc_sample_density(math.inf, 1, 100, 0.1, form="theorem") == pytest.approx(10.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mahalanobis_distances(torch.zeros(3, 0)),
        lambda: expected_robustness(torch.zeros(3, 0)),
        lambda: robustness_bound(torch.zeros(2, 0)),
    ],
)
def test_centers_of_no_dimension_are_refused(call):
    with pytest.raises(ValueError, match="d >= 1"):
        call()


def test_gsce_contour_of_no_dimension_is_refused():
    with pytest.raises(ValueError, match="mu_k and mu_kt must have d >= 1"):
        gsce_contour(1.0, 1.0, 0.5, torch.zeros(0), torch.zeros(0))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_covariance_is_named(bad):
    centers = [[0.0, 0.0], [1.0, 1.0]]
    covariance = [[bad, 0.0], [0.0, 1.0]]
    # before: NaN read as "must be symmetric", inf gave the distance 1 of the other coordinate
    with pytest.raises(ValueError, match="covariance must be finite"):
        mahalanobis_distances(centers, covariance)
    with pytest.raises(ValueError, match="covariance must be finite"):
        monte_carlo_expected_distance(1.0, feature_dim=2, n=10, covariance=covariance)


def test_density_arguments_of_another_shape_are_named():
    c = torch.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="p_of_C must be one number or a tensor of C's shape"):
        mmc_sample_density(c, 2, 100, torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="N must be one number or a tensor of C's shape"):
        mmc_sample_density(c, 2, torch.tensor([1.0, 2.0, 3.0]), 0.1)
    with pytest.raises(ValueError, match="p_of_C must be one number"):
        gsce_sample_density(
            c, 2, 100, lambda _: torch.ones(5), 1.0, 0.5, torch.zeros(2), torch.ones(2)
        )
    # one number, or one per C, is read as before
    per_c = mmc_sample_density(c, 2, torch.tensor([100.0, 200.0]), torch.tensor([0.1, 0.1]))
    assert per_c[1] == pytest.approx(2 * per_c[0])
