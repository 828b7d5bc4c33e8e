import math

import pytest
import torch

from robviz.data import grid_points
from robviz.landscape import (
    DensityGrid,
    LossGrid,
    feature_density,
    gsce_loss,
    loss_on_grid,
    trace_contour,
)
from robviz.objectives import MMC, MMLDA, SCE, per_sample_loss
from robviz.theory import gsce_contour

EXTENT = (-12.0, 12.0, -10.0, 10.0)


def test_mmc_loss_on_grid_is_factor_times_squared_distance_to_the_true_center():
    head = MMC(3, 2, norm=10.0, factor=0.5)
    grid = loss_on_grid(head, EXTENT, resolution=21, label=2)
    assert isinstance(grid, LossGrid) and grid.values.shape == (21, 21) and grid.name == "mmc"
    z = grid_points(EXTENT, 21).double()
    expected = 0.5 * (z - head.centers[2].double()).pow(2).sum(dim=1)
    assert torch.allclose(grid.values.flatten(), expected, rtol=1e-5, atol=1e-4)


def test_grid_rows_are_y_and_columns_are_x():
    grid = loss_on_grid(lambda z, y: z[:, 0] + 100 * z[:, 1], EXTENT, resolution=5)
    assert torch.allclose(grid.xs, torch.linspace(-12, 12, 5)) and torch.allclose(
        grid.ys, torch.linspace(-10, 10, 5)
    )
    i, j = 3, 1
    assert grid.values[i, j].item() == pytest.approx(
        grid.xs[j].item() + 100 * grid.ys[i].item(), abs=1e-3
    )


def test_mmlda_on_grid_is_softmax_of_inner_products_with_the_centers():
    # The talk's identity: -log softmax(-1/2 ||z - mu_k||^2)_y = -log softmax(z^T mu_k)_y.
    head = MMLDA(4, 2, norm=3.0)
    grid = loss_on_grid(head, (-5, 5, -5, 5), resolution=15, label=1)
    z = grid_points((-5, 5, -5, 5), 15).double()
    expected = -torch.log_softmax(z @ head.centers.double().T, dim=1)[:, 1]
    assert torch.allclose(grid.values.flatten(), expected, rtol=1e-4, atol=1e-5)


def test_gsce_with_equal_scales_is_softmax_cross_entropy_of_a_linear_head():
    # softmax(W z + b) is g-SCE with sigma_i = 1, mu_i = W_i / 2, B_i = b_i + ||W_i||^2 / 4 (ICLR
    # 2020).
    torch.manual_seed(0)
    head = SCE(3, 2)
    W, b = head.linear.weight.detach().double(), head.linear.bias.detach().double()
    z = torch.randn(50, 2, dtype=torch.float64)
    y = torch.randint(0, 3, (50,))
    direct = torch.nn.functional.cross_entropy(z @ W.T + b, y, reduction="none")
    via_gsce = gsce_loss(z, y, W / 2, 1.0, b + W.pow(2).sum(dim=1) / 4)
    assert torch.allclose(direct, via_gsce, atol=1e-10)


def test_gsce_two_class_loss_is_c_on_the_sphere_of_theorem_1():
    mu = torch.tensor([[1.0, 0.0], [-1.0, 0.5]], dtype=torch.float64)
    sphere = gsce_contour(0.3, 0.8, 0.5, mu[0], mu[1])
    angle = torch.linspace(0, 2 * math.pi, 50, dtype=torch.float64)
    points = sphere.center + math.sqrt(sphere.radius2) * torch.stack(
        [angle.cos(), angle.sin()], dim=1
    )
    losses = gsce_loss(
        points, torch.zeros(50, dtype=torch.long), mu, torch.tensor([0.8, 0.5], dtype=torch.float64)
    )
    assert torch.allclose(losses, torch.full_like(losses, 0.3), atol=1e-10)


def test_trace_contour_of_mmc_walks_a_circle_at_one_loss():
    head = MMC(3, 2, norm=5.0)
    start = head.centers[0] + torch.tensor([1.5, 0.0])
    path = trace_contour(head, 0, start, step=0.2, max_steps=40)
    assert path.shape == (81, 2)
    assert any(torch.allclose(p, start.double()) for p in path)
    radius = (path - head.centers[0].double()).norm(dim=1)
    assert torch.allclose(radius, torch.full_like(radius, 1.5), atol=1e-4)
    # 40 steps of 0.2 each way on a circle of circumference 3 pi: the walk goes all the way round.
    assert (path[1:] - path[:-1]).norm(dim=1).max() < 0.25


def test_trace_contour_of_a_softmax_loss_keeps_the_loss_and_runs_out_of_the_window():
    head = MMLDA(3, 2, norm=3.0)
    extent = (-8, 8, -8, 8)
    path = trace_contour(head, 0, 0.5 * head.centers[0], step=0.25, max_steps=500, extent=extent)
    losses = per_sample_loss(head)(path.float(), torch.zeros(len(path), dtype=torch.long)).detach()
    assert (losses.max() - losses.min()) / losses.mean() < 1e-3
    assert len(path) < 2 * 500 + 1  # stopped at the window's edge, not by max_steps
    assert path.abs().max() > 7.5
    mmc = per_sample_loss(MMC(3, 2, norm=3.0))(
        path.float(), torch.zeros(len(path), dtype=torch.long)
    ).detach()
    assert mmc.max() / mmc.min() > 10  # the curse of softmax


def test_feature_density_counts_points_per_unit_area_in_the_right_cells():
    z = torch.tensor([[0.5, 2.5], [0.6, 2.6], [3.5, 0.5], [9.0, 9.0]])  # the last is outside
    grid = feature_density(z, (0, 4, 0, 4), resolution=4)
    assert isinstance(grid, DensityGrid) and grid.values.shape == (4, 4)
    assert grid.values[2, 0] == 2.0  # row = y cell 2, column = x cell 0; cells have area 1
    assert grid.values[0, 3] == 1.0
    assert grid.values.sum() == 3.0
    frames = feature_density(
        torch.stack([z, z * 0.4]), (0, 4, 0, 4), resolution=8
    )  # (3.6, 3.6) is inside
    assert frames.values.shape == (2, 8, 8)
    assert frames.values.sum(dim=(1, 2)).mul(0.25).tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: loss_on_grid(MMC(3, 2), (1, 0, 0, 1)), "extent"),
        (lambda: loss_on_grid(MMC(3, 2), (0, 1, 0, 1), resolution=1), "resolution"),
        (lambda: loss_on_grid(MMC(3, 2), (0, 1, 0, 1), label=3), "num_classes"),
        (lambda: loss_on_grid("mmc", (0, 1, 0, 1)), "Objective or a callable"),
        (lambda: trace_contour(MMC(3, 3), 0, torch.zeros(3)), "2-D"),
        (lambda: trace_contour(MMC(3, 2), 0, torch.zeros(2), step=0.0), "step"),
        (lambda: feature_density(torch.zeros(5, 3), (0, 1, 0, 1)), "shape"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
