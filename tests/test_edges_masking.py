"""The masking checks refuse steps and radii in an order their verdicts cannot read.

Each verdict compares neighbouring radii or steps and reads the last radius as the largest: before,
radii given largest first read a working attack as masked ("still 100 % at eps = 0"), and shuffled
steps read a smooth loss as jagged, or a smooth surface as having cliffs.
"""

import numpy as np
import pytest
import torch

from robviz import masking


@pytest.fixture(scope="module")
def trained(trained_blobs):
    data, model = trained_blobs(3)
    return data, model, data.x_test[:20], data.y_test[:20]


def test_radii_largest_first_are_refused_where_they_read_a_working_attack_as_masked(trained):
    data, model, x, y = trained
    full = data.bounds[1] - data.bounds[0]
    curve = masking.accuracy_vs_eps(model, x, y, [0.0, 0.5, full], bounds=data.bounds)
    assert not curve.looks_masked and curve.accuracy[-1] == 0.0  # the same radii, increasing
    for radii in ([full, 0.5, 0.0], [0.0, 0.5, 0.5, full]):
        with pytest.raises(ValueError, match="eps_list must be increasing, got "):
            masking.accuracy_vs_eps(model, x, y, radii, bounds=data.bounds)


def test_counts_and_radii_given_bare_are_refused_naming_the_argument(trained):
    data, model, x, y = trained
    with pytest.raises(TypeError, match=r"eps_list must be a sequence of radii"):
        masking.accuracy_vs_eps(model, x, y, 0.5, bounds=data.bounds)
    with pytest.raises(TypeError, match=r"steps_list must be a sequence of counts"):
        masking.accuracy_vs_steps(model, x, y, 0.5, steps_list=5, bounds=data.bounds)
    with pytest.raises(TypeError, match=r"restarts_list must be a sequence of counts"):
        masking.accuracy_vs_steps(model, x, y, 0.5, restarts_list=2, bounds=data.bounds)
    # a 0-d tensor or array has __iter__ but no items: before, torch's "iteration over a 0-d
    # tensor", naming no argument
    for radius in (torch.tensor(0.5), np.array(0.5)):
        with pytest.raises(TypeError, match=r"eps_list must be a sequence of radii"):
            masking.accuracy_vs_eps(model, x, y, radius, bounds=data.bounds)
    with pytest.raises(TypeError, match=r"steps_list must be a sequence of counts"):
        masking.accuracy_vs_steps(model, x, y, 0.5, steps_list=torch.tensor(5), bounds=data.bounds)


def shuffled(steps):
    return steps[torch.randperm(len(steps), generator=torch.Generator().manual_seed(0))]


def test_steps_along_a_direction_must_increase_and_go_forward(trained):
    _, model, x, y = trained
    steps = torch.linspace(-1, 1, 21)
    line = masking.loss_along_direction(model, x, y, alphas=steps)
    assert not line.looks_masked  # the smooth loss of a trained linear-ish model
    for alphas, match in [
        (shuffled(steps), "alphas must be increasing"),  # before: "jagged"
        (steps.flip(0), "alphas must be increasing"),
        (
            torch.tensor([0.0]),
            r"at least one pair of neighbours \(two steps\)",
        ),  # before: an IndexError
        (torch.tensor([-1.0, -0.5, 0.0]), "alphas must hold a step > 0"),  # before: an IndexError
    ]:
        with pytest.raises(ValueError, match=match):
            masking.loss_along_direction(model, x, y, alphas=alphas)


def test_the_grid_of_a_loss_surface_must_increase_on_both_axes(trained):
    _, model, x, y = trained
    steps = torch.linspace(-1, 1, 11)
    surface = masking.loss_landscape_2d(model, x[:5], y[:5], alphas=steps, betas=steps)
    assert not surface.looks_masked
    with pytest.raises(ValueError, match="alphas must be increasing"):  # before: "cliffs"
        masking.loss_landscape_2d(model, x[:5], y[:5], alphas=shuffled(steps), betas=steps)
    with pytest.raises(
        ValueError, match=r"betas must be a 1-D sequence of steps, at least one pair"
    ):
        masking.loss_landscape_2d(model, x[:5], y[:5], alphas=steps, betas=torch.tensor([0.0]))
