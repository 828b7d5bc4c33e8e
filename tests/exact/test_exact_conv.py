"""Tests of robviz.exact on conv bodies, read as dense affine maps of the flattened image.

Each layer's matrix is checked against the torch layer itself; the verdicts on small conv networks
against brute force over activation patterns, against the same network rebuilt as an MLP from the
matrices, against the model's own forward pass (every witness) and against PGD.
"""

import numpy as np
import pytest
import torch
from torch import nn

from robviz import exact
from robviz.attacks import PGD, margin_objective
from robviz.exact.certify import network_layers
from robviz.exact import linear_regions
from robviz.exact.linear_regions import MAX_DENSE_ENTRIES, affine_pieces
from robviz.exact.milp import MAX_MILP_RELUS
from robviz.models import Classifier, SmallCNN
from robviz.objectives import make_objective
from test_exact_milp import brute_force_max_margin, check_witnesses, points


def batchnorm(channels, seed=0, kind=nn.BatchNorm2d):
    """A BatchNorm with random running statistics and affine parameters, in train mode."""
    torch.manual_seed(seed)
    layer = kind(channels)
    with torch.no_grad():
        layer.running_mean.normal_()
        layer.running_var.uniform_(0.5, 2.0)
        layer.weight.normal_()
        layer.bias.normal_()
    return layer


LAYERS = [
    ((2, 5, 6), lambda: nn.Conv2d(2, 3, 3)),
    ((2, 5, 6), lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1)),
    ((2, 7, 7), lambda: nn.Conv2d(2, 4, 3, padding=2, dilation=2, groups=2)),
    ((4, 5, 5), lambda: nn.Conv2d(4, 2, (2, 3), stride=(2, 1), padding=(0, 1), bias=False)),
    ((2, 5, 5), lambda: nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular")),
    ((3, 9), lambda: nn.Conv1d(3, 2, 4, stride=2)),
    ((2, 6, 6), lambda: nn.AvgPool2d(2)),
    ((2, 5, 5), lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)),
    ((3, 5, 7), lambda: nn.AdaptiveAvgPool2d(1)),
    ((3, 5, 7), lambda: nn.AdaptiveAvgPool2d((2, 3))),
    ((3, 4, 5), lambda: batchnorm(3)),
    ((3, 5), lambda: batchnorm(3, kind=nn.BatchNorm1d)),
    ((2, 3, 4, 4), lambda: nn.Conv3d(2, 2, 2, stride=(1, 2, 2))),
    ((2, 5, 5), lambda: nn.Sequential(nn.Conv2d(2, 3, 3), batchnorm(3, seed=1), nn.Flatten())),
]


@pytest.mark.parametrize("shape, build", LAYERS)
def test_each_layer_is_its_dense_matrix(shape, build):
    """On random inputs, W x + b (flattened, float64) equals the layer's output to rounding."""
    torch.manual_seed(0)
    layer = build().double()
    steps = affine_pieces(nn.Sequential(layer), shape)
    assert len(steps) == 1
    w, b = steps[0][1]
    x = torch.randn(6, *shape, dtype=torch.float64)
    with torch.no_grad():
        expected = layer.eval()(x).reshape(6, -1).numpy()
    assert w.shape == (expected.shape[1], int(np.prod(shape)))
    assert np.allclose(x.reshape(6, -1).numpy() @ w.T + b, expected, rtol=0, atol=1e-12)


def conv_net(seed, shape=(1, 5, 5), channels=2, classes=3):
    """A random float64 conv network: Conv2d(stride 2) -> ReLU -> Flatten -> Linear.

    The conv's bias centres its pre-activations on the unit cube's centre, so that several classes
    are predicted there.
    """
    torch.manual_seed(seed)
    conv = nn.Conv2d(shape[0], channels, 3, stride=2)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten())
    with torch.no_grad():
        features = model(torch.zeros(1, *shape)).shape[1]
        conv.weight.normal_(std=2 * (shape[0] * 9) ** -0.5)
        conv.bias.copy_(-conv.weight.sum((1, 2, 3)) / 2)
        head = nn.Linear(features, classes)
        head.weight.normal_(std=2 * features**-0.5)
        head.bias.uniform_(-1.0, 1.0)
    return nn.Sequential(model, head).double().eval()


def as_mlp(model, shape):
    """The same network as Flatten -> Linear -> ReLU -> ... from its dense matrices."""
    modules: list[nn.Module] = [nn.Flatten()]
    for w, b in network_layers(model, shape):
        linear = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        modules += [linear, nn.ReLU()]
    return nn.Sequential(*modules[:-1]).eval()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tiny_conv_net_agrees_with_brute_force_and_its_mlp(seed):
    """A 1x5x5 conv net with 8 ReLUs: the verdicts are brute force's, and the equivalent MLP's."""
    shape = (1, 5, 5)
    model = conv_net(seed, shape)
    mlp = as_mlp(model, shape)
    x, y = points(model, 6, in_shape=shape, seed=seed)
    with torch.no_grad():
        assert torch.allclose(model(x), mlp(x), rtol=0, atol=1e-12)
    seen = set()
    for eps in (0.03, 0.1):
        result = exact.verify(model, x, y, eps, bounds=(0, 1))
        assert result.undecided == 0 and result.witnesses.shape == x.shape
        assert list(result.verdicts) == list(exact.verify(mlp, x, y, eps, bounds=(0, 1)).verdicts)
        best = brute_force_max_margin(model, x, y, eps)
        clear = np.abs(best) > 1e-6  # a maximum at 0 is a tie, decided by floating point either way
        assert ((result.verdicts == "robust") == (best < 0))[clear].all()
        check_witnesses(model, x, y, result, eps)
        seen |= set(result.verdicts)
    assert seen == {"robust", "not robust"}  # both verdicts are tested
    distance = exact.minimal_distance(model, x[:3], y[:3], norm="Linf", bounds=(0, 1))
    assert torch.isfinite(distance).all() and (distance > 0).all()
    for i in range(3):  # the verdict flips at the distance
        d = distance[i].item()
        below = exact.verify(model, x[i : i + 1], y[i : i + 1], d * (1 - 1e-4), bounds=(0, 1))
        above = exact.verify(model, x[i : i + 1], y[i : i + 1], d * (1 + 1e-4), bounds=(0, 1))
        assert list(below.verdicts) == ["robust"] and list(above.verdicts) == ["not robust"]


def spread_layers(model):
    """Re-draw the Conv2d and Linear layers of ``model`` so that several classes are predicted.

    Wide weights, and the first layer's zero sets through the unit cube's centre (as ``spread``).
    """
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.weight.normal_(std=2 * layer.weight[0].numel() ** -0.5)
            inputs = tuple(range(1, layer.weight.dim()))
            layer.bias.uniform_(-1.0, 1.0) if i else layer.bias.copy_(-layer.weight.sum(inputs) / 2)
    return model.double().eval()


def test_certified_below_exact_below_attack_on_random_conv_nets():
    """IBP and CROWN certify only proven points, PGD fools only points with a witness."""
    totals = {"ibp": 0, "crown": 0, "exact": 0, "pgd": 0}
    shape = (1, 6, 6)
    for seed in range(6):
        torch.manual_seed(seed)
        model = spread_layers(
            nn.Sequential(
                nn.Conv2d(1, 3, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(3, 3, 2),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(12, 4),
            )
        )
        x, y = points(model, 8, in_shape=shape, seed=seed)
        for eps in (0.02, 0.06):
            ibp = exact.certified_robust(model, x, y, eps, bounds=(0, 1), method="ibp")
            crown = exact.certified_robust(model, x, y, eps, bounds=(0, 1), method="crown")
            result = exact.verify(model, x, y, eps, bounds=(0, 1))
            assert result.undecided == 0
            x_adv = PGD(
                model, eps=eps, alpha=eps / 4, steps=20, bounds=(0, 1), loss=margin_objective
            )(x, y)
            with torch.no_grad():
                pgd = model(x_adv).argmax(1) == y
            assert (ibp <= result.robust).all() and (crown <= result.robust).all()
            assert (result.robust <= pgd).all()
            check_witnesses(model, x, y, result, eps)
            for name, value in (("ibp", ibp), ("crown", crown), ("exact", result.robust)):
                totals[name] += int(value.sum())
            totals["pgd"] += int(pgd.sum())
    assert totals["ibp"] <= totals["crown"] <= totals["exact"] <= totals["pgd"]
    assert totals["crown"] < totals["pgd"]  # the sandwich is not trivially tight


def test_crown_in_chunks_of_points_gives_the_same_bounds(monkeypatch):
    """Points taken two at a time (a small CROWN_CHUNK_ENTRIES) get the one-pass bounds.

    The same to rounding: a batched product may sum in another order.
    """
    from robviz.exact import certify

    model = conv_net(0, (1, 5, 5))
    x, _ = points(model, 7, in_shape=(1, 5, 5))
    layers = network_layers(model, (1, 5, 5))
    x_low, x_high = certify.input_ball(x, 0.1, (0, 1))
    whole = certify.crown_bounds(layers, x_low, x_high)
    monkeypatch.setattr(certify, "CROWN_CHUNK_ENTRIES", 2 * 25**2)  # 2 points at a time
    chunked = certify.crown_bounds(layers, x_low, x_high)
    assert len(chunked) == len(whole) == 2
    for (low, high), (low2, high2) in zip(whole, chunked):
        assert low.shape == low2.shape == (7, len(low[0])) and (low < high).any()
        assert np.allclose(low, low2, rtol=0, atol=1e-12)
        assert np.allclose(high, high2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("objective, seed", [("sce", 0), ("mmc", 1)])  # both verdicts at 0.05
def test_small_cnn_classifier_through_every_entry_point(objective, seed):
    """A SmallCNN body with a robviz head on (N, 1, 6, 6) images, through the public functions."""
    torch.manual_seed(seed)
    shape, eps = (1, 6, 6), 0.05
    model = Classifier(SmallCNN(1, feature_dim=3, width=2), make_objective(objective, 4, 3))
    spread_layers(model.body)
    model = model.double().eval()
    x, y = points(model, 6, in_shape=shape, seed=1)
    y[0] = (y[0] + 1) % 4  # misclassified clean: its own witness
    relus = 2 * 36 + 4 * 9 + 4 * 4  # conv(2) at 6x6, conv(4) at 3x3 and at 2x2
    assert exact.relu_units(model, x[:1]) == relus
    assert sum(len(w) for w, _ in network_layers(model, shape)[:-1]) == relus
    result = exact.robust_accuracy(model, x, y, eps, bounds=(0, 1))
    assert isinstance(result, exact.Verification) and result.undecided == 0
    assert result.verdicts[0] == "not robust" and result.decided_by[0] == "clean"
    assert {"robust", "not robust"} <= set(result.verdicts[1:])
    check_witnesses(model, x, y, result, eps)
    mlp_verdicts = exact.verify(as_mlp(model, shape), x, y, eps, bounds=(0, 1)).verdicts
    assert list(result.verdicts) == list(mlp_verdicts)
    ibp = exact.certified_robust(model, x, y, eps, bounds=(0, 1), method="ibp")
    crown = exact.certified_robust(model, x, y, eps, bounds=(0, 1))
    assert (ibp <= crown).all() and (crown <= result.robust).all()
    x_adv = PGD(model, eps=eps, alpha=eps / 4, steps=20, bounds=(0, 1), loss=margin_objective)(x, y)
    with torch.no_grad():
        assert (result.robust <= (model(x_adv).argmax(1) == y)).all()
    unstable = exact.unstable_relus(model, x, eps, bounds=(0, 1))
    assert unstable.shape == (6,) and (unstable <= relus).all() and unstable.sum() > 0
    curve = exact.robust_accuracy_curve(model, x, y, [0.0, eps], bounds=(0, 1))
    assert curve == [5 / 6, result.accuracy]


def test_clear_errors_for_conv_bodies(monkeypatch):
    x = torch.rand(2, 1, 6, 6, dtype=torch.float64)
    y = torch.zeros(2, dtype=torch.long)
    pooled = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    with pytest.raises(TypeError, match="MaxPool2d, which is neither an affine map nor a ReLU"):
        exact.verify(nn.Sequential(pooled, nn.Linear(8, 2)), x, y, 0.1, bounds=(0, 1))
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(32, 2))
    with pytest.raises(ValueError, match="input_shape"):
        affine_pieces(conv)
    with pytest.raises(TypeError, match="Flatten before it"):
        affine_pieces(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2)), (1, 6, 6))
    with pytest.raises(ValueError, match="Conv2d cannot take inputs of shape"):
        exact.verify(conv, torch.rand(2, 3, 6, 6), y, 0.1, bounds=(0, 1))
    with pytest.raises(ValueError, match="rank 3"):
        affine_pieces(conv, (36,))
    with pytest.raises(ValueError, match="Linear layer takes 32 inputs, its input has 50"):
        exact.verify(conv, torch.rand(2, 1, 7, 7), y, 0.1, bounds=(0, 1))
    # a 32-channel conv on a 28x28 image is a 25088 x 784 matrix: refused before it is built
    big = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.Flatten(), nn.Linear(25088, 2))
    built = []
    monkeypatch.setattr(linear_regions.np, "empty", lambda *a, **k: built.append(a))
    with pytest.raises(ValueError, match=f"25088 x 784 .* limit of {MAX_DENSE_ENTRIES:,}"):
        exact.certified_robust(big, torch.rand(1, 1, 28, 28), y[:1], 0.1, bounds=(0, 1))
    monkeypatch.undo()
    assert built == []  # no dense matrix was allocated
    wide = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2304, 2))
    with pytest.raises(ValueError, match=f"2304 hidden ReLUs.*{MAX_MILP_RELUS}.*certified"):
        exact.verify(wide, torch.rand(1, 1, 24, 24), y[:1], 0.1, bounds=(0, 1))
    stats_free = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(TypeError, match="BatchNorm2d"):
        affine_pieces(stats_free, (1, 6, 6))
