"""Tests of robviz.exact: closed forms, brute force, the error bound, models and errors.

Closed forms for affine classifiers, brute force on small networks, the error bound, the models it
reads and the errors it raises.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from robviz import exact
from robviz.data import spirals
from robviz.exact.linear_regions import polygon_area
from robviz.models import make_model
from robviz.train import fit

BOX = (-4.0, 4.0)


def affine(w, b):
    layer = nn.Linear(2, 2)
    with torch.no_grad():  # logits (0, w . x + b): class 1 where w . x + b > 0
        layer.weight.copy_(torch.tensor([[0.0, 0.0], list(w)]))
        layer.bias.copy_(torch.tensor([0.0, b]))
    return layer


def small_mlp(seed, hidden=8, classes=3):
    """A random 2-8-8-3 ReLU network that predicts each class on > 8 % of the box.

    Seeds 4, 5, 9, 14, 20, 21 qualify. Every first-layer line crosses the box (bias uniform in
    (-3, 3)), the output layer has centred hidden units behind it.
    """
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(2, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )
    with torch.no_grad():
        net[0].weight.normal_()
        net[0].bias.uniform_(-3.0, 3.0)
        net[2].weight.normal_(std=hidden**-0.5)
        net[2].bias.uniform_(-1.0, 1.0)
        net[4].weight.normal_()
        net[4].bias.zero_()
    return net


@pytest.fixture(scope="module")
def spiral_models():
    data = spirals(num_classes=3, n_per_class=60, noise=0.2, seed=0)
    models = {}
    for name in ("sce", "mmc"):
        model = make_model(data, name, seed=0)
        fit(model, data, steps=150, lr=0.01, progress=False, record_every=0)
        models[name] = model
    return data, models


@pytest.mark.parametrize("norm, q", [("L2", 2), ("Linf", 1)])
def test_affine_classifier_matches_the_closed_form(norm, q):
    # distance to the half-plane w . x + b = 0 is |w . x + b| / ||w||_q, q the dual norm, while its
    # foot is in the box
    w, b = torch.tensor([1.5, -0.7]), 0.3
    model = affine(w, b)
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    y = model(x).argmax(1)
    expected = (x @ w + b).abs() / w.norm(p=q)
    got = exact.minimal_distance(model, x, y, norm=norm, bounds=BOX)
    assert torch.allclose(got, expected.double(), atol=1e-6)
    # misclassified points are at distance 0
    assert (exact.minimal_distance(model, x, 1 - y, norm=norm, bounds=BOX) == 0).all()


def test_robust_accuracy_of_an_affine_classifier():
    model = affine((0.0, 1.0), 0.0)  # class 1 above the x-axis
    x = torch.tensor([[0.0, 0.5], [0.0, -0.2], [1.0, 1.5], [0.0, 3.9]])
    y = torch.tensor([1, 0, 1, 1])
    accuracy, robust = exact.robust_accuracy(model, x, y, 0.3, norm="Linf", bounds=BOX)
    assert robust.tolist() == [True, False, True, True] and accuracy == pytest.approx(0.75)
    assert exact.robust_accuracy_curve(model, x, y, [0.0, 0.3, 1.0, 8.0], bounds=BOX) == [
        1.0,
        0.75,
        0.5,
        0.0,
    ]


def test_the_box_limits_the_ball():
    # the other class is beyond the box edge: a point near the edge is robust at any radius
    model = affine((1.0, 0.0), -5.0)  # class 1 only where x > 5, outside the box
    x, y = torch.tensor([[3.9, 0.0]]), torch.tensor([0])
    assert math.isinf(exact.minimal_distance(model, x, y, bounds=BOX).item())
    assert exact.robust_accuracy(model, x, y, 8.0, bounds=BOX)[0] == 1.0


@pytest.mark.parametrize("seed", [4, 5, 9])
def test_regions_predict_what_the_model_predicts(seed):
    model = small_mlp(seed)
    boundary = exact.decision_boundary(model, BOX)
    points = torch.rand(20000, 2, generator=torch.Generator().manual_seed(seed)) * 8 - 4
    from_polygons = np.full(len(points), -1)
    # brute-force point-in-convex-polygon
    for poly, label in zip(boundary.polygons, boundary.labels):
        edge = np.roll(poly, -1, 0) - poly
        rel = points.double().numpy()[:, None] - poly[None]
        side = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
        inside = (side >= -1e-12).all(1) | (side <= 1e-12).all(1)
        from_polygons[inside] = label
    agree = from_polygons == model(points).argmax(1).numpy()
    assert agree.mean() > 0.9999
    areas = sum(polygon_area(p) for p in boundary.polygons)
    assert areas == pytest.approx(64.0, rel=1e-9)  # the polygons tile the box


@pytest.mark.parametrize("norm", ["L2", "Linf"])
def test_against_a_dense_grid(norm):
    # the grid distance is never below the exact one and exceeds it by at most the cell diagonal
    # (L2) / side (L-inf)
    model = small_mlp(14)
    x = torch.rand(60, 2, generator=torch.Generator().manual_seed(1)) * 6 - 3
    y = model(x).argmax(1)
    resolution = 801
    h = 8 / (resolution - 1)
    got = exact.minimal_distance(model, x, y, norm=norm, bounds=BOX)
    grid = exact.grid_minimal_distance(model, x, y, norm=norm, bounds=BOX, resolution=resolution)
    finite = torch.isfinite(got)
    assert torch.equal(finite, torch.isfinite(grid))
    gap = grid[finite] - got[finite]
    assert gap.min() >= -1e-6 and gap.max() <= (h * math.sqrt(2) if norm == "L2" else h) + 1e-9


def test_against_sampled_balls():
    # brute force robust accuracy: a point the exact method calls non-robust has an adversarial
    # point in its ball
    model = small_mlp(20)
    x = torch.rand(40, 2, generator=torch.Generator().manual_seed(2)) * 6 - 3
    y = model(x).argmax(1)
    d = exact.minimal_distance(model, x, y, norm="Linf", bounds=BOX)
    eps = float(d.median())
    offsets = torch.rand(40000, 2, generator=torch.Generator().manual_seed(3)) * 2 - 1
    for i in range(len(x)):
        inside = (x[i] + eps * offsets).clamp(*BOX)
        fooled = (model(inside).argmax(1) != y[i]).any().item()
        if d[i] > eps + 1e-6:
            assert not fooled  # no sample can find what does not exist
        elif d[i] < 0.9 * eps:
            assert fooled  # a clear violation is found by dense sampling


def test_robviz_models_are_read_exactly(spiral_models):
    data, models = spiral_models
    x, y = data.x_test, data.y_test
    for name, model in models.items():
        boundary = exact.decision_boundary(model, data.bounds)
        assert np.array_equal(boundary.predict(x), model(x).argmax(1).numpy()), name
        grid = exact.grid_minimal_distance(
            model, x[:40], y[:40], bounds=data.bounds, resolution=801
        )
        d = boundary.distance(x[:40], y[:40], "L2")
        assert ((grid - d) >= -1e-5).all() and (
            (grid - d) <= 8 / 800 * math.sqrt(2) + 1e-6
        ).all(), name


def test_rce_center_and_batchnorm_models_are_read():
    data = spirals(num_classes=3, n_per_class=30, seed=1)
    x = data.x_test
    for name in ("rce", "center", "lgm", "mmlda"):
        model = make_model(data, name, seed=1)
        assert np.array_equal(
            exact.decision_boundary(model, data.bounds).predict(x), model(x).argmax(1).numpy()
        )
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(2, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3)
    )
    net.train()
    net(torch.randn(64, 2) * 2)  # some running statistics
    net.eval()
    assert np.array_equal(
        exact.decision_boundary(net, data.bounds).predict(x), net(x).argmax(1).numpy()
    )


def test_segments_are_on_the_boundary():
    model = small_mlp(21)
    boundary = exact.decision_boundary(model, BOX)
    segments, sides = boundary.segments()
    assert len(segments) > 0 and segments.shape[1:] == (2, 2) and sides.shape == (len(segments), 2)
    assert (sides[:, 0] != sides[:, 1]).all()
    mid = torch.from_numpy((segments[:, 0] + segments[:, 1]) / 2).float()
    logits = model(mid)
    top2 = logits.topk(2, dim=1).values
    assert (top2[:, 0] - top2[:, 1]).abs().max() < 1e-4  # a tie between two classes


def test_clear_errors():
    model = small_mlp(0)
    x, y = torch.zeros(3, 2), torch.zeros(3, dtype=torch.long)
    with pytest.raises(NotImplementedError, match="not 2-D"):  # other inputs: L-inf only, by MILP
        exact.minimal_distance(model, torch.zeros(3, 4), y, norm="L2", bounds=BOX)
    with pytest.raises(ValueError, match="first layer takes 2 inputs"):  # the default: L-inf
        exact.minimal_distance(model, torch.zeros(3, 4), y, bounds=BOX)
    with pytest.raises(ValueError, match="first layer takes 2 inputs"):
        exact.robust_accuracy(model, torch.zeros(3, 4), y, 0.1, bounds=BOX)
    with pytest.raises(ValueError, match="2-D inputs"):
        exact.decision_boundary(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), BOX)
    with pytest.raises(ValueError, match=r"y must hold one integer class label per input"):
        exact.minimal_distance(model, x, torch.zeros(2, dtype=torch.long), bounds=BOX)
    with pytest.raises(ValueError, match="eps"):
        exact.robust_accuracy(model, x, y, -0.1, bounds=BOX)
    with pytest.raises(ValueError, match="exceeds"):
        exact.robust_accuracy(model, x, y, 9.0, norm="Linf", bounds=BOX)
    with pytest.raises(ValueError, match="norm"):
        exact.minimal_distance(model, x, y, norm="L1", bounds=BOX)
    with pytest.raises(ValueError, match="bounds"):
        exact.decision_boundary(model, (1.0, -1.0))
    with pytest.raises(ValueError, match="in the box"):
        exact.minimal_distance(model, torch.full((1, 2), 5.0), y[:1], bounds=BOX)
    with pytest.raises(TypeError, match="piecewise-affine"):
        exact.decision_boundary(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)), BOX)


def test_minimal_distance_default_norm_is_l2_on_the_plane():
    model = small_mlp(0)
    x = torch.tensor([[0.3, -0.2], [1.0, 1.5]])
    y = model(x).argmax(1)  # correctly classified: distances > 0, where the norms differ
    default = exact.minimal_distance(model, x, y, bounds=BOX)
    assert torch.equal(default, exact.minimal_distance(model, x, y, norm="L2", bounds=BOX))
    linf = exact.minimal_distance(model, x, y, norm="Linf", bounds=BOX)
    assert not torch.equal(default, linf)  # the two norms differ here, so the default is told apart

    # One spelling of norms across the package (checks.norm_name): 2.0 and math.inf, which the
    # attacks and AttackResult.perturbation_norm accept, were refused here.
    assert torch.equal(default, exact.minimal_distance(model, x, y, norm=2.0, bounds=BOX))
    assert torch.equal(linf, exact.minimal_distance(model, x, y, norm=math.inf, bounds=BOX))
