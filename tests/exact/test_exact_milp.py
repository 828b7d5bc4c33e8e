"""Tests of robviz.exact beyond the plane: the MILP verdicts and the certified bounds.

The MILP verdicts (robviz.exact.verify) and the certified bounds (robviz.exact.certify) are checked
against closed forms, brute force over activation patterns, the 2-D enumeration and PGD.
"""

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from torch import nn

from robviz import exact
from robviz.attacks import PGD, margin_objective
from robviz.exact.certify import input_ball, network_layers
from robviz.models import Classifier, ToyMLP
from robviz.objectives import make_objective


def spread(model):
    """Re-draw ``model``'s Linear layers so that several classes are predicted on the unit cube.

    The layers are re-drawn in order (seeded by the caller): the first layer's hyperplanes through
    the cube's centre, wide weights.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, linear in enumerate(linears):
            linear.weight.normal_(std=2 * linear.in_features**-0.5)
            linear.bias.uniform_(-1.0, 1.0) if i else linear.bias.copy_(-linear.weight.sum(1) / 2)
    return model.double().eval()


def random_net(seed, in_shape=(1, 2, 3), hidden=(4, 4), classes=3):
    """A random float64 ReLU network on inputs of shape ``in_shape`` in [0, 1]."""
    torch.manual_seed(seed)
    sizes = [int(np.prod(in_shape)), *hidden, classes]
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return spread(nn.Sequential(*layers[:-1]))


def points(model, n, in_shape=(1, 2, 3), seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *in_shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        return x, model(x).argmax(1)


def brute_force_max_margin(model, x, y, eps):
    """The max over the ball of max_{k != y} (z_k - z_y), by enumerating every activation pattern.

    On the inputs where a pattern holds (a polytope) the network is affine, so one LP per pattern
    and class; the largest LP optimum is the exact maximum. Independent of the MILP encoding; for
    networks of a few hidden neurons only.
    """
    layers = network_layers(model, tuple(x.shape[1:]))
    x_low, x_high = input_ball(x, eps, (0.0, 1.0))
    hidden = sum(len(w) for w, _ in layers[:-1])
    best = np.full(len(x_low), -np.inf)
    for pattern in itertools.product([0.0, 1.0], repeat=hidden):
        m_w, m_b, rows, rhs, used = np.eye(x_low.shape[1]), np.zeros(x_low.shape[1]), [], [], 0
        for w, b in layers[:-1]:
            m_w, m_b = w @ m_w, w @ m_b + b
            mask = np.array(pattern[used : used + len(w)])
            used += len(w)
            sign = np.where(mask > 0, -1.0, 1.0)  # active: -v <= 0; inactive: v <= 0
            rows.append(sign[:, None] * m_w)
            rhs.append(-sign * m_b)
            m_w, m_b = m_w * mask[:, None], m_b * mask
        w, b = layers[-1]
        logits_w, logits_b = w @ m_w, w @ m_b + b
        first = np.array(pattern[: len(layers[0][0])]) > 0
        for i in range(len(x_low)):
            # The first layer's bounds over a box are exact: skip patterns that contradict a stable
            # neuron.
            centre, radius = (
                layers[0][0] @ (x_low[i] + x_high[i]) / 2 + layers[0][1],
                np.abs(layers[0][0]) @ (x_high[i] - x_low[i]) / 2,
            )
            if (first & (centre + radius < 0)).any() or (~first & (centre - radius > 0)).any():
                continue
            for k in range(len(w)):
                if k == y[i]:
                    continue
                c = logits_w[k] - logits_w[y[i]]
                result = linprog(
                    -c,
                    A_ub=np.vstack(rows),
                    b_ub=np.concatenate(rhs),
                    bounds=list(zip(x_low[i], x_high[i])),
                    method="highs",
                )
                if result.status == 2:  # the pattern holds nowhere in this ball
                    break
                if result.status == 0:
                    best[i] = max(best[i], -result.fun + logits_b[k] - logits_b[y[i]])
    return best


def check_witnesses(model, x, y, result, eps):
    bad = torch.from_numpy(result.verdicts == "not robust")
    witnesses = result.witnesses[bad]
    assert torch.isfinite(witnesses).all() and torch.isnan(result.witnesses[~bad]).all()
    assert ((witnesses - x[bad].double()).abs() <= eps + 1e-12).all()
    assert (witnesses >= 0).all() and (witnesses <= 1).all()
    with torch.no_grad():
        assert (model.double()(witnesses).argmax(1) != y[bad]).all()


def test_affine_classifier_matches_the_closed_form():
    """For logits (0, w . x + b) the exact L-inf radius is |w . x + b| / ||w||_1 (inside the box).

    The MILP and both certificates (exact for an affine model) flip exactly there.
    """
    torch.manual_seed(0)
    layer = nn.Linear(6, 2).double()
    with torch.no_grad():
        layer.weight[0] = 0.0
        layer.bias[0] = 0.0
        layer.bias[1] = -layer.weight[1].sum() / 2  # the boundary through the cube's centre
    model = nn.Sequential(nn.Flatten(), layer)
    x = 0.3 + 0.4 * torch.rand(12, 1, 2, 3, dtype=torch.float64)
    y = model(x).argmax(1).detach()
    w, b = layer.weight[1].detach(), layer.bias[1].detach()
    radius = ((x.flatten(1) @ w + b).abs() / w.abs().sum()).numpy()
    assert radius.max() < 0.3  # the nearest point of the other class lies inside the box
    for i in range(len(x)):
        below = exact.robust_accuracy(
            model, x[i : i + 1], y[i : i + 1], 0.999 * radius[i], bounds=(0, 1)
        )
        above = exact.robust_accuracy(
            model, x[i : i + 1], y[i : i + 1], 1.001 * radius[i], bounds=(0, 1)
        )
        assert list(below.verdicts) == ["robust"] and list(above.verdicts) == ["not robust"]
        check_witnesses(model, x[i : i + 1], y[i : i + 1], above, 1.001 * radius[i])
        distance = exact.minimal_distance(
            model, x[i : i + 1], y[i : i + 1], norm="Linf", bounds=(0, 1)
        )
        assert distance.item() == pytest.approx(radius[i], rel=1e-6)
        for method in ("ibp", "crown"):
            assert exact.certified_robust(
                model, x[i : i + 1], y[i : i + 1], 0.999 * radius[i], bounds=(0, 1), method=method
            ).item()


@pytest.mark.parametrize("seed", [0, 2, 3])  # seeds where the points get both verdicts
def test_agrees_with_brute_force_over_activation_patterns(seed):
    model = random_net(seed, hidden=(3, 3))
    x, y = points(model, 5, seed=seed)
    seen = set()
    for eps in (0.05, 0.15):
        result = exact.verify(model, x, y, eps, bounds=(0, 1))
        best = brute_force_max_margin(model, x, y, eps)
        clear = np.abs(best) > 1e-6  # a maximum at 0 is a tie, decided by floating point either way
        assert result.undecided == 0
        assert ((result.verdicts == "robust") == (best < 0))[clear].all()
        check_witnesses(model, x, y, result, eps)
        seen |= set(result.verdicts)
    assert seen == {"robust", "not robust"}  # both verdicts are tested


@pytest.mark.parametrize("objective", ["sce", "mmc", "rce"])
def test_robviz_heads_on_a_flattened_mlp(objective):
    """A Classifier with a Flatten -> ToyMLP body and a robviz head is verified through its head.

    Read through the head's decision rule, brute force agrees and every witness fools the Classifier
    itself.
    """
    torch.manual_seed(0)
    model = spread(
        Classifier(
            nn.Sequential(nn.Flatten(), ToyMLP(in_dim=6, feature_dim=3, hidden=3, depth=2)),
            make_objective(objective, 4, 3),
        )
    )
    x, y = points(model, 6, seed=3)
    y[0] = (y[0] + 1) % 4  # one point misclassified clean: its own witness
    result = exact.verify(model, x, y, 0.1, bounds=(0, 1))
    assert {"robust", "not robust"} <= set(result.verdicts[1:])  # both verdicts are tested
    assert result.verdicts[0] == "not robust" and result.decided_by[0] == "clean"
    assert torch.equal(result.witnesses[0], x[0])
    best = brute_force_max_margin(model, x, y, 0.1)
    clear = np.abs(best) > 1e-6
    assert ((result.verdicts == "robust") == (best < 0))[clear].all()
    check_witnesses(model, x, y, result, 0.1)


def test_minimal_distance_is_where_the_verdict_flips():
    model = random_net(2, in_shape=(1, 3, 3), hidden=(10, 10), classes=4)
    x, y = points(model, 3, in_shape=(1, 3, 3), seed=2)
    y[0] = (y[0] + 1) % 4
    distance = exact.minimal_distance(model, x, y, norm="Linf", bounds=(0, 1))
    assert distance[0] == 0 and (distance[1:] > 0).all() and torch.isfinite(distance).all()
    for i in range(1, len(x)):
        below = exact.verify(
            model, x[i : i + 1], y[i : i + 1], distance[i].item() * (1 - 1e-4), bounds=(0, 1)
        )
        above = exact.verify(
            model, x[i : i + 1], y[i : i + 1], distance[i].item() * (1 + 1e-4), bounds=(0, 1)
        )
        assert list(below.verdicts) == ["robust"] and list(above.verdicts) == ["not robust"]


def test_agrees_with_the_2d_enumeration():
    """On a 2-D network the MILP and the linear-region enumeration give the same verdicts.

    The MILP is called directly.
    """
    model = random_net(0, in_shape=(2,), hidden=(8, 8), classes=3)
    x, y = points(model, 60, in_shape=(2,), seed=1)
    for eps in (0.02, 0.08, 0.2):
        _, robust_2d = exact.robust_accuracy(model, x, y, eps, bounds=(0, 1))
        result = exact.verify(model, x, y, eps, bounds=(0, 1))
        assert result.undecided == 0
        assert torch.equal(result.robust, robust_2d)
        assert 0 < robust_2d.sum() < len(x)  # both verdicts occur
        check_witnesses(model, x, y, result, eps)


def test_certified_below_exact_below_attack_on_random_networks():
    """Over many random networks the certified, exact and attack verdicts are ordered.

    Every point IBP or CROWN certifies is proven robust, every proven point survives PGD, every
    point PGD fools is not robust; CROWN certifies at least as many points as IBP overall.
    """
    totals = {"ibp": 0, "crown": 0, "exact": 0, "pgd": 0}
    for seed in range(12):
        model = random_net(seed, in_shape=(1, 3, 3), hidden=(10, 10), classes=4)
        x, y = points(model, 10, in_shape=(1, 3, 3), seed=seed)
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
            for name, value in (
                ("ibp", ibp),
                ("crown", crown),
                ("exact", result.robust),
                ("pgd", pgd),
            ):
                totals[name] += int(value.sum())
    assert totals["ibp"] <= totals["crown"] <= totals["exact"] <= totals["pgd"]
    assert totals["crown"] < totals["pgd"]  # the sandwich is not trivially tight


def test_undecided_with_a_tiny_time_limit():
    model = random_net(0, in_shape=(1, 3, 3), hidden=(10, 10), classes=4)
    x, y = points(model, 10, in_shape=(1, 3, 3))
    full = exact.verify(model, x, y, 0.06, bounds=(0, 1))
    rushed = exact.verify(model, x, y, 0.06, bounds=(0, 1), time_limit=1e-9)
    assert full.undecided == 0 and rushed.undecided > 0
    assert set(rushed.decided_by[rushed.verdicts == "undecided"]) == {"time limit"}
    decided = (
        rushed.verdicts != "undecided"
    )  # what was decided before the limit agrees with the full run
    assert (rushed.verdicts[decided] == full.verdicts[decided]).all()
    assert rushed.lower <= full.lower <= rushed.upper and rushed.lower < rushed.upper
    with pytest.raises(ValueError, match="undecided"):
        _ = rushed.accuracy
    with pytest.raises(ValueError, match="undecided"):
        accuracy, robust = rushed
    accuracy, robust = full
    assert accuracy == full.lower == robust.double().mean().item()
    assert "undecided" in repr(rushed)
    # one point not robust in 2500 reads as such, never as a rounded 100 %
    nearly = exact.Verification(
        0.1,
        np.array(["robust"] * 2499 + ["not robust"]),
        torch.zeros(2500, 1),
        np.array(["crown"] * 2500),
        np.zeros(2500),
    )
    assert "robust accuracy in [99.96, 99.96] %" in repr(nearly)


def test_curve_and_clear_errors():
    model = random_net(1)
    x, y = points(model, 5)
    curve = exact.robust_accuracy_curve(model, x, y, [0.0, 0.05, 0.5], bounds=(0, 1))
    assert curve[0] == 1.0 and curve == sorted(curve, reverse=True)
    with pytest.raises(NotImplementedError, match="Linf"):
        exact.robust_accuracy(model, x, y, 0.1, norm="L2", bounds=(0, 1))
    with pytest.raises(NotImplementedError, match="Linf"):
        exact.minimal_distance(model, x, y, norm="L2", bounds=(0, 1))
    with pytest.raises(ValueError, match="time_limit"):
        exact.verify(model, x, y, 0.1, bounds=(0, 1), time_limit=0)
    with pytest.raises(ValueError, match="eps"):
        exact.verify(model, x, y, -0.1, bounds=(0, 1))
    with pytest.raises(ValueError, match="bounds"):
        exact.verify(model, x + 2, y, 0.1, bounds=(0, 1))
    with pytest.raises(ValueError, match="y must hold one integer class label per input"):
        exact.verify(model, x, y[:3], 0.1, bounds=(0, 1))
    with pytest.raises(ValueError, match="first layer takes 6 inputs"):
        exact.verify(model, torch.rand(2, 7, dtype=torch.float64), y[:2], 0.1, bounds=(0, 1))
    with pytest.raises(ValueError, match="method"):
        exact.certified_robust(model, x, y, 0.1, bounds=(0, 1), method="deeppoly")
    with pytest.raises(TypeError, match="piecewise-affine"):
        exact.verify(
            nn.Sequential(nn.MaxPool2d((1, 2)), nn.Flatten(), nn.Linear(3, 2)),
            x,
            y,
            0.1,
            bounds=(0, 1),
        )


def test_unstable_relus_are_the_straddling_neurons_and_crown_never_has_more():
    """The count is the neurons whose bounds straddle 0, recomputed here from interval_bounds.

    CROWN's bounds lie inside IBP's, so it never leaves more unstable; at eps = 0 no neuron of a
    generic network is unstable.
    """
    model = random_net(3, in_shape=(1, 3, 3), hidden=(10, 10), classes=4)
    x, _ = points(model, 8, in_shape=(1, 3, 3), seed=3)
    x_low, x_high = input_ball(x, 0.1, (0, 1))
    by_hand = sum(
        ((low < 0) & (high > 0)).sum(axis=1)
        for low, high in exact.interval_bounds(network_layers(model)[:-1], x_low, x_high)
    )
    ibp = exact.unstable_relus(model, x, 0.1, bounds=(0, 1), method="ibp")
    crown = exact.unstable_relus(model, x, 0.1, bounds=(0, 1), method="crown")
    assert ibp.shape == (8,) and (ibp == by_hand).all() and ibp.sum() > 0
    assert (crown <= ibp).all() and crown.sum() < ibp.sum()
    assert (exact.unstable_relus(model, x, 0.0, bounds=(0, 1)) == 0).all()
    assert (exact.unstable_relus(model, x, 1.0, bounds=(0, 1), method="ibp") <= 20).all()
    with pytest.raises(ValueError, match="method"):
        exact.unstable_relus(model, x, 0.1, bounds=(0, 1), method="deeppoly")
    with pytest.raises(ValueError, match="first layer"):
        exact.unstable_relus(model, torch.rand(2, 1, 2, 2, dtype=torch.float64), 0.1, bounds=(0, 1))


def test_relu_units_counts_modules_and_functional_calls():
    from robviz.scale.resnet import cifar_resnet

    assert (
        exact.relu_units(random_net(0, hidden=(4, 7)), torch.rand(1, 1, 2, 3, dtype=torch.float64))
        == 11
    )

    class Functional(nn.Module):
        def forward(self, x):
            return torch.relu(nn.functional.relu(x) - 1).sum(1)

    assert exact.relu_units(Functional(), torch.rand(1, 5)) == 10
    assert exact.relu_units(nn.Linear(3, 2), torch.rand(1, 3)) == 0
    # ResNet-20 on 32x32: the stem and 9 blocks of 2 ReLUs at 16x32x32, 32x16x16 and 64x8x8
    # activations
    assert (
        exact.relu_units(cifar_resnet(20, seed=0), torch.rand(1, 3, 32, 32))
        == 16 * 1024 * 7 + 6 * 8192 + 6 * 4096
    )
    with pytest.raises(ValueError, match="one input"):
        exact.relu_units(nn.Linear(3, 2), torch.rand(2, 3))


def test_the_exact_functions_refuse_labels_budgets_and_grids_that_do_no_work():
    from robviz.data import gaussian_mixture
    from robviz.models import make_model

    data = gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    model = make_model(data, "sce")
    x, y = data.x_test[:4], data.y_test[:4]
    message = "y must hold one integer class label per input"
    with pytest.raises(ValueError, match=message):
        exact.certified_robust(model, x, y[:1], 0.1, bounds=data.bounds)
    with pytest.raises(ValueError, match=message):
        exact.certified_robust(model, x, y.float(), 0.1, bounds=data.bounds)
    with pytest.raises(ValueError, match=message):
        exact.grid_minimal_distance(model, x, y[:1], bounds=data.bounds, resolution=20)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        exact.grid_minimal_distance(model, x, y, bounds=data.bounds, resolution=20, chunk=0)
    with pytest.raises(ValueError, match="resolution must be an integer >= 2"):
        exact.grid_minimal_distance(model, x, y, bounds=data.bounds, resolution=1)
    with pytest.raises(ValueError, match="time_limit must be"):
        exact.minimal_linf_distance(model, x, y, bounds=data.bounds, time_limit=0)
    boundary = exact.decision_boundary(model, data.bounds)
    assert boundary.check_eps(np.float32(0.25)) == pytest.approx(0.25)  # NumPy scalars count


def test_ascend_finds_the_corner_class_and_nothing_where_there_is_none():
    """The witness search climbs z_k - z_y to the class's corner; None where k is unreachable."""
    from robviz.exact.milp import _ascend

    # hidden a = relu(x) (identity, x >= 0), logits z = a: class 1 where x_2 >= x_1
    layers = [(np.eye(2), np.zeros(2)), (np.eye(2), np.zeros(2))]
    low, high = np.zeros(2), np.ones(2)
    found = _ascend(layers, np.array([0.9, 0.1]), low, high, label=0, k=1)
    assert found is not None and np.all((low <= found) & (found <= high))
    assert found[1] >= found[0]  # class 1 reached
    # on the box [0.6, 1] x [0, 0.5] every x_2 < x_1: no input of class 1
    assert (
        _ascend(layers, np.array([0.8, 0.2]), np.array([0.6, 0.0]), np.array([1.0, 0.5]), 0, 1)
        is None
    )
    # a ReLU that is always off: z_1 = relu(x_2 - 2) - 0.1 < 0 <= z_0 = relu(x_1) on [0, 1]^2
    dead = [(np.eye(2), np.array([0.0, -2.0])), (np.eye(2), np.array([0.0, -0.1]))]
    assert _ascend(dead, np.array([0.5, 0.5]), low, high, label=0, k=1) is None


def test_minimal_distance_default_norm_is_linf_beyond_the_plane():
    """The default norm works on every input: off the plane, L-inf, the only one solved there.

    It once was L2, which raised NotImplementedError for every input that is not 2-D.
    """
    model = random_net(2, in_shape=(1, 3, 3), hidden=(10, 10), classes=4)
    x, y = points(model, 2, in_shape=(1, 3, 3), seed=2)
    default = exact.minimal_distance(model, x, y, bounds=(0, 1))
    assert torch.equal(default, exact.minimal_distance(model, x, y, norm="Linf", bounds=(0, 1)))
    assert (default > 0).all() and torch.isfinite(default).all()


def test_the_programs_show_a_progress_bar_over_the_points_unless_told_not_to(capsys):
    model = random_net(3, in_shape=(1, 3, 3), hidden=(6, 6), classes=3)
    x, y = points(model, 3, in_shape=(1, 3, 3), seed=1)
    calls = {
        "exact verification (MILP)": lambda **k: (
            exact.robust_accuracy(model, x, y, 0.05, bounds=(0, 1), **k).robust
        ),
        "exact distance (MILP)": lambda **k: exact.minimal_distance(
            model, x, y, bounds=(0, 1), **k
        ),
    }
    for label, call in calls.items():
        quiet = call(progress=False)
        assert "MILP" not in capsys.readouterr().err
        shown = call()
        err = capsys.readouterr().err
        assert label in err and "0/3 " in err, err  # one bar over the three points
        if label == "exact distance (MILP)":  # and no bar per point of its inner verifications
            assert "verification" not in err
        assert torch.equal(torch.as_tensor(quiet), torch.as_tensor(shown))
    exact.robust_accuracy_curve(model, x, y, [0.0, 0.05], bounds=(0, 1), progress=False)
    assert "MILP" not in capsys.readouterr().err
