"""The gradient-masking checks pass an undefended model and fail a model without gradients."""

import pytest
import torch
from torch import nn

from robviz import masking
from robviz.viz import masking as viz
from robviz.data import gaussian_mixture
from robviz.models import make_model


class Quantized(nn.Module):
    """The model on inputs rounded to a coarse grid: the same decisions, but zero gradients.

    The gradient is zero almost everywhere: the textbook case of gradient masking ("shattered
    gradients", Athalye et al. 2018).
    """

    def __init__(self, model, step=0.5):
        super().__init__()
        self.model, self.step = model, step

    def forward(self, x):
        return self.model(torch.round(x / self.step) * self.step)


@pytest.fixture(scope="module")
def toy(trained_blobs):
    data, model = trained_blobs(4)
    return data, model, data.x_test[:48], data.y_test[:48]


def test_accuracy_vs_eps_reaches_zero_on_an_undefended_model(toy):
    data, model, x, y = toy
    full = data.bounds[1] - data.bounds[0]
    curve = masking.accuracy_vs_eps(model, x, y, [0.0, 0.25, 0.5, 1.0, full], bounds=data.bounds)
    assert curve.accuracy[0] > 0.9 and curve.accuracy[-1] <= 0.02
    assert not curve.looks_masked and curve.verdict.startswith("no sign")


def test_accuracy_vs_eps_flags_a_masked_model(toy):
    data, model, x, y = toy
    # Radii up to the full input range, where the undefended model reaches 0% and is not flagged
    # (up to eps = 0.5 only it keeps 62.5% and is flagged too): the flag must tell them apart.
    radii = [0.0, 0.25, 0.5, 1.0, data.bounds[1] - data.bounds[0]]
    plain = masking.accuracy_vs_eps(model, x, y, radii, bounds=data.bounds)
    curve = masking.accuracy_vs_eps(Quantized(model), x, y, radii, bounds=data.bounds)
    assert not plain.looks_masked and plain.accuracy[-1] == 0.0
    assert curve.looks_masked and curve.verdict.startswith("masked")
    # zero gradients: a quarter of the inputs (measured 25%) survive even the full-range attack
    assert curve.accuracy[-1] >= 0.2 and f"{100 * curve.accuracy[-1]:.1f}%" in curve.verdict


def test_accuracy_vs_steps_never_rises(toy):
    data, model, x, y = toy
    curve = masking.accuracy_vs_steps(
        model, x, y, 0.5, steps_list=(1, 5, 20), restarts_list=(1, 2), bounds=data.bounds
    )
    grid = torch.tensor(curve.accuracy)
    assert grid.shape == (3, 2)
    assert (grid[:, 1] <= grid[:, 0] + 1e-9).all()  # a second restart never helps the defense
    assert not curve.looks_masked


def test_a_verdict_within_the_tolerance_never_says_the_accuracy_falls(toy):
    """More steps at a smaller radius: the accuracy rises, within a tolerance of 100 points."""
    from robviz.attacks import PGD

    data, model, x, y = toy

    def weaker(m, eps, steps, seed):
        return PGD(m, eps=eps / steps, steps=1, bounds=data.bounds, seed=seed)

    curve = masking.accuracy_vs_steps(
        model, x, y, 1.0, (1, 8), (1,), weaker, bounds=data.bounds, tolerance=1.0
    )
    (first,), (last,) = curve.accuracy
    assert last > first and not curve.looks_masked
    assert f"is {100 * first:.1f}% at 1 step(s) and {100 * last:.1f}% at 8 steps" in curve.verdict
    assert "falls" not in curve.verdict and "never rising by more than 100 points" in curve.verdict
    eps_curve = masking.accuracy_vs_eps(
        model,
        x,
        y,
        [0.0, 0.5],
        lambda m, e: weaker(m, e, 1, 0),
        bounds=data.bounds,
        floor=1.0,
        tolerance=1.0,
    )
    assert "monotonically" not in eps_curve.verdict and "never rises by more than 100" in (
        eps_curve.verdict
    )


def test_whitebox_vs_blackbox(toy):
    data, model, x, y = toy
    honest = masking.whitebox_vs_blackbox(
        model, x, y, 0.5, surrogate=model, bounds=data.bounds, spsa_steps=10, spsa_samples=32
    )
    assert set(honest.accuracy) == {"clean", "white-box PGD", "black-box SPSA", "transfer"}
    assert not honest.looks_masked
    masked = masking.whitebox_vs_blackbox(
        Quantized(model),
        x,
        y,
        0.5,
        surrogate=model,
        bounds=data.bounds,
        spsa_steps=10,
        spsa_samples=32,
    )
    assert masked.looks_masked, masked.accuracy
    assert masked.accuracy["transfer"] < masked.accuracy["white-box PGD"]


def test_whitebox_vs_blackbox_names_its_white_attack_and_searches_one_ball(toy):
    from robviz.attacks import APGD, CW, PGD

    data, model, x, y = toy
    box = dict(bounds=data.bounds, spsa_steps=2, spsa_samples=8)
    apgd = APGD(model, eps=0.5, steps=10, bounds=data.bounds)
    named = masking.whitebox_vs_blackbox(model, x, y, 0.5, white_attack=apgd, **box)
    assert set(named.accuracy) == {"clean", "white-box APGD", "black-box SPSA"}
    assert "white-box APGD" in named.verdict
    refused = {
        "radius 0.25": PGD(model, eps=0.25, bounds=data.bounds),
        r"\(L2\)": PGD(model, eps=0.5, norm="L2", bounds=data.bounds),
        "has bounds": PGD(model, eps=0.5, bounds=(-100.0, 100.0)),
        "no radius": CW(model, bounds=data.bounds),
    }
    for message, attack in refused.items():
        with pytest.raises(ValueError, match=message):
            masking.whitebox_vs_blackbox(model, x, y, 0.5, white_attack=attack, **box)


def test_loss_along_the_gradient_rises(toy):
    data, model, x, y = toy
    line = masking.loss_along_direction(model, x, y)
    assert line.loss.shape == (41, len(x)) and line.mean.shape == (41,)
    assert (
        line.mean[21] > line.mean[20] > line.mean[19]
    )  # near x: up along +sign(grad), down along -sign(grad)
    assert line.mean[-1] > 10 * line.mean[20]
    assert (line.slope >= 0).all() and not line.looks_masked
    masked = masking.loss_along_direction(
        Quantized(model), x, y, direction=masking.gradient_direction(model, x, y)
    )
    assert (
        masked.looks_masked
    )  # the loss still rises along the true direction, but its gradient is 0


def test_loss_along_direction_takes_any_labels_and_its_slope_is_the_gradients(toy):
    # The slope once had its own gradient pass that used y unchecked and where it was: int32 or
    # NumPy labels (which every other check accepts) failed inside cross_entropy, and CPU labels
    # would have met a GPU model's logits.
    _, model, x, y = toy
    line = masking.loss_along_direction(model, x, y)
    for labels in (y.int(), y.numpy(), y.tolist()):
        assert torch.equal(masking.loss_along_direction(model, x, labels).slope, line.slope)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(model(xg), y, reduction="sum"), xg
    )
    assert torch.allclose(line.slope, grad.abs().flatten(1).sum(1), rtol=1e-5)


def test_loss_landscape_2d_and_figures(toy):
    data, model, x, y = toy
    surface = masking.loss_landscape_2d(
        model, x[:8], y[:8], alphas=torch.linspace(-1, 1, 9), betas=torch.linspace(-1, 1, 7)
    )
    assert surface.loss.shape == (7, 9) and not surface.looks_masked
    assert surface.flat_fraction < 0.1
    d = masking.gradient_direction(model, x[:16], y[:16])
    rough = masking.loss_landscape_2d(Quantized(model), x[:16], y[:16], d1=d)
    assert rough.loss.shape == (21, 21) and rough.looks_masked and rough.flat_fraction > 0.4, (
        rough.flat_fraction
    )
    assert not masking.loss_landscape_2d(model, x[:16], y[:16], d1=d).looks_masked
    curve = masking.accuracy_vs_eps(model, x, y, [0.0, 0.5], bounds=data.bounds)
    figures = [
        viz.eps_curve_figure({"SCE": curve}),
        viz.steps_curve_figure(
            masking.accuracy_vs_steps(model, x, y, 0.5, (1, 5), (1,), bounds=data.bounds)
        ),
        viz.loss_line_figure({"SCE": masking.loss_along_direction(model, x, y)}, samples=3),
        viz.loss_surface_figure(surface),
        viz.loss_surface_figure(surface, kind="surface"),
    ]
    assert all(len(f.data) >= 1 for f in figures)
    with pytest.raises(ValueError, match="kind"):
        viz.loss_surface_figure(surface, kind="contour")


def test_default_attack_does_not_stall_where_cross_entropy_saturates():
    """The masking checks' default attack (margin loss) succeeds where cross-entropy saturates.

    A confident affine model: softmax is exactly one-hot in float32 almost everywhere, so
    cross-entropy's gradient underflows and CE-PGD stalls; the default attack must still reach 0 %
    at eps = the whole box, and the check must not call the model masked.
    """
    from robviz.attacks import PGD, cross_entropy_objective

    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    with torch.no_grad():
        model.weight.copy_(200 * torch.tensor([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]]))
        model.bias.zero_()
    x = torch.rand(60, 2) * 6 - 3
    y = model(x).argmax(1)
    bounds = (-4.0, 4.0)
    ce = PGD(
        model,
        eps=8.0,
        alpha=1.0,
        steps=20,
        random_start=True,
        bounds=bounds,
        loss=cross_entropy_objective,
    )
    assert (
        ce.run(x, y).prediction == y
    ).float().mean() > 0.1  # the failure the default attack avoids
    curve = masking.accuracy_vs_eps(model, x, y, [0.0, 8.0], bounds=bounds)
    assert curve.accuracy == [1.0, 0.0] and not curve.looks_masked


def test_gradient_direction_refuses_labels_that_do_not_label_the_inputs():
    data = gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    model = make_model(data, "sce")
    with pytest.raises(ValueError, match="y must hold one integer class label per input"):
        masking.gradient_direction(model, data.x_test[:4], data.y_test[:1])


def test_the_whole_range_radius_gets_a_panel_of_its_own_when_it_would_squeeze_the_curve():
    wide = masking.EpsCurve(
        [0.0, 0.25, 0.5, 1.0, 2.0, 8.0], [0.9, 0.7, 0.5, 0.2, 0.1, 0.0], False, ""
    )
    masked = masking.EpsCurve(
        [0.0, 0.25, 0.5, 1.0, 2.0, 8.0], [0.9, 0.8, 0.8, 0.8, 0.8, 0.6], True, ""
    )
    fig = viz.eps_curve_figure({"SCE": wide, "rounded SCE": masked})
    assert fig.layout.xaxis2.domain[0] > 0.8  # a narrow second panel...
    near = [t for t in fig.data if t.xaxis == "x"]
    far = [t for t in fig.data if t.xaxis == "x2"]
    assert [list(t.x) for t in near] == [[0.0, 0.25, 0.5, 1.0, 2.0]] * 2
    assert [(list(t.x), list(t.y)) for t in far] == [([8.0], [0.0]), ([8.0], [60.0])]
    assert list(fig.layout.xaxis2.tickvals) == [8.0]  # ...holding the whole range alone
    # one legend entry per model, the far point in its group
    assert [t.name for t in fig.data if t.showlegend is not False] == [
        "SCE",
        "rounded SCE (masked?)",
    ]
    assert {t.legendgroup for t in far} == {t.legendgroup for t in near}
    # the same ε per pixel in both panels: 1/6 of the main span over 0.14 / 0.86 of its width
    low, high = fig.layout.xaxis2.range
    assert high - low == pytest.approx(2.0 / 6)
    # radii evenly spread (the last gap no longer than the span before it): one axis
    even = masking.EpsCurve([0.0, 0.1, 0.2, 0.4], [0.9, 0.6, 0.3, 0.0], False, "")
    fig = viz.eps_curve_figure({"SCE": even})
    assert "xaxis2" not in fig.layout.to_plotly_json()
    assert len(fig.data) == 1 and list(fig.data[0].x) == [0.0, 0.1, 0.2, 0.4]
    assert fig.layout.xaxis.title.text == "radius ε (L∞)"


def test_spsa_sees_a_rounded_model_only_with_a_radius_beyond_its_step(toy):
    data, model, x, y = toy
    box = dict(bounds=data.bounds, spsa_steps=10, spsa_samples=32)
    rounded = Quantized(model, step=0.5)
    small = masking.whitebox_vs_blackbox(rounded, x, y, 0.5, **box)
    assert small.spsa_delta == 0.01  # the default: min(0.01, eps / 2)
    wide = masking.whitebox_vs_blackbox(rounded, x, y, 0.5, spsa_delta=1.0, **box)
    assert wide.spsa_delta == 1.0
    # finite differences across the rounding step see the loss change that gradients cannot
    assert wide.accuracy["black-box SPSA"] < small.accuracy["black-box SPSA"] - 0.05, (
        wide.accuracy,
        small.accuracy,
    )
    with pytest.raises(ValueError, match="spsa_delta must be"):
        masking.whitebox_vs_blackbox(model, x, y, 0.5, spsa_delta=0.0, **box)


def test_an_attack_built_on_another_model_is_judged_by_the_model_studied(toy):
    # A white attack or a factory's attack on a surrogate carries the surrogate's predictions: the
    # curves and the white-vs-black comparison read them as the model's, before.
    from robviz.attacks import PGD

    data, model, x, y = toy
    surrogate = make_model(data, "sce", seed=3)  # untrained: its predictions are not the model's
    attack = PGD(surrogate, eps=0.5, steps=5, bounds=data.bounds)
    x_adv = attack.run(x, y).x_adv
    with torch.no_grad():
        expected = ((model(x).argmax(1) == y) & (model(x_adv).argmax(1) == y)).float().mean()
    with torch.no_grad():
        own = ((model(x).argmax(1) == y) & (surrogate(x_adv).argmax(1) == y)).float().mean()
    assert expected.item() != pytest.approx(own.item())  # the two readings differ here
    box = dict(bounds=data.bounds, spsa_steps=2, spsa_samples=8)
    compared = masking.whitebox_vs_blackbox(model, x, y, 0.5, white_attack=attack, **box)
    assert compared.accuracy["white-box PGD"] == pytest.approx(expected.item())
    curve = masking.accuracy_vs_eps(
        model, x, y, [0.5], lambda m, e: attack.with_eps(e), bounds=data.bounds
    )
    assert curve.accuracy == [pytest.approx(expected.item())]
