import pytest
import torch

from robviz.data import digits, gaussian_mixture
from robviz.models import SmallCNN, ToyMLP, make_model


def test_model_contract_on_toy_data():
    data = gaussian_mixture(num_classes=3, n_per_class=20)
    model = make_model(data, "rce")
    x = data.x_test[:7]
    assert model.features(x).shape == (7, 2)
    assert model(x).shape == (7, 3)
    z = model.features(x)
    assert torch.equal(
        model(x), -model.raw_logits(z)
    )  # RCE: output logits are the negated head logits


def test_small_cnn_on_digits():
    data = digits()
    model = make_model(data, "mmc", feature_dim=16)
    assert model.features(data.x_test[:5]).shape == (5, 16)
    assert model(data.x_test[:5]).shape == (5, 10)


def test_same_seed_same_weights():
    data = gaussian_mixture(n_per_class=10)
    a, b = make_model(data, "sce", seed=1), make_model(data, "sce", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    # and the seed matters: a constant initialization would pass the check above
    c = make_model(data, "sce", seed=2)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_wrong_input_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match=r"ToyMLP expects inputs of shape \(N, 2\)"):
        ToyMLP()(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="SmallCNN expects images"):
        SmallCNN()(torch.zeros(4, 8, 8))
    for size in ("in_dim", "hidden", "depth", "feature_dim"):
        with pytest.raises(ValueError, match=f"^{size} must be an integer >= 1, got 0"):
            ToyMLP(**{size: 0})


def test_make_mlp_builds_the_seeded_relu_network_exact_reads():
    from robviz.exact.certify import network_layers
    from robviz.models import make_mlp

    data = digits()
    model = make_mlp(data, "mmc", width=16)
    assert model(data.x_test[:5]).shape == (5, 10) and model.features(data.x_test[:5]).shape == (
        5,
        10,
    )
    same, other = make_mlp(data, "mmc", width=16), make_mlp(data, "mmc", width=16, seed=1)
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values())
    )
    assert not torch.equal(model.body[1].net[0].weight, other.body[1].net[0].weight)
    # the affine MMC head folds into the last layer: three affine maps, ReLUs between them
    assert [w.shape for w, _ in network_layers(model)] == [(16, 64), (16, 16), (10, 16)]
    with pytest.warns(DeprecationWarning, match="width"):  # the old keyword, for one release
        old = make_mlp(data, "mmc", hidden=16)
    assert all(
        torch.equal(a, b) for a, b in zip(old.state_dict().values(), same.state_dict().values())
    )


def test_make_model_width_sets_the_body_width():
    toy = gaussian_mixture(n_per_class=5)
    assert make_model(toy, "sce", width=16).body.net[0].out_features == 16
    assert make_model(toy, "sce").body.net[0].out_features == 64
    images = digits()
    assert make_model(images, "sce", width=8).body.conv[0].out_channels == 8
    assert make_model(images, "sce").body.conv[0].out_channels == 32
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        make_model(toy, "sce", width=0)


def test_half_the_width_costs_about_a_quarter_of_the_multiply_adds():
    """Lesson 5's MNIST network (width 16) against the digits' (width 32), on 28x28 images."""

    def multiply_adds(width):
        body, total = SmallCNN(feature_dim=10, width=width), 0

        def count(module, _, output):
            nonlocal total
            total += output.numel() * module.weight[0].numel()  # one per weight and output value

        for conv in body.conv:
            if isinstance(conv, torch.nn.Conv2d):
                conv.register_forward_hook(count)
        body(torch.zeros(1, 1, 28, 28))
        return total

    assert 0.2 < multiply_adds(16) / multiply_adds(32) < 0.3


def test_every_predict_gives_minus_1_for_non_finite_logits():
    """Argmax of NaN logits is class 0: a broken input would count as a correct class-0 answer."""
    from robviz.ensemble import Ensemble
    from robviz.mixup_inference import MixupModel

    data = gaussian_mixture(num_classes=3)
    model = make_model(data, "sce")
    x = data.x_test[:4].clone()
    x[2, 0] = float("nan")
    for predictor in (
        model,
        Ensemble([model, make_model(data, "sce", seed=1)]),
        MixupModel(model),
    ):
        classes = predictor.predict(x)
        assert classes.dtype == torch.int64 and classes[2] == -1
        assert torch.equal(classes[[0, 1, 3]], predictor(x[[0, 1, 3]]).argmax(dim=1))
