"""CIFAR ResNets: sizes of the paper, both block versions, every objective, the ADP ensemble."""

import pytest
import torch

from robviz.models import Classifier
from robviz.scale.resnet import (
    ARCHITECTURES,
    ADPEnsemble,
    CifarResNet,
    adp_loss,
    cifar_adp_ensemble,
    cifar_resnet,
    make_cifar_model,
)


@pytest.mark.parametrize(
    "depth, millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)]
)
def test_parameter_counts_match_the_paper(depth, millions):
    # He et al. 2016, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters.
    body = CifarResNet(depth)
    assert abs(sum(p.numel() for p in body.parameters()) / 1e6 / millions - 1) < 0.03


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_has_its_depth_in_weighted_layers(arch):
    """depth = the 3x3 convolutions on the main path + the classifier layer.

    The 1x1 shortcuts do not count.
    """
    model = make_cifar_model(arch, "sce", width=4)
    convs = [
        m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    ]
    assert len(convs) + 1 == ARCHITECTURES[arch] == int(arch.removeprefix("resnet"))


@pytest.mark.parametrize(
    "objective, feature_dim",
    [("sce", 16), ("center", 16), ("rce", 16), ("lgm", 16), ("mmlda", 256), ("mmc", 256)],
)
@pytest.mark.parametrize("version", [1, 2])
def test_every_objective_follows_the_model_contract(objective, feature_dim, version):
    model = cifar_resnet(8, 10, objective, version=version, width=4, seed=0)
    assert isinstance(model, Classifier)
    x, y = torch.rand(3, 3, 32, 32), torch.tensor([0, 1, 2])
    assert model(x).shape == (3, 10)
    assert model.features(x).shape == (3, feature_dim)
    assert (model.body.linear is not None) == (objective in ("mmc", "mmlda"))
    loss = model.loss(x, y)
    loss.backward()
    assert torch.isfinite(loss)


def test_feature_layer_is_optional_and_seeded():
    a = cifar_resnet(8, objective="sce", feature_dim=32, width=4, seed=3)
    b = cifar_resnet(8, objective="sce", feature_dim=32, width=4, seed=3)
    assert a.features(torch.zeros(1, 3, 32, 32)).shape == (1, 32)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="depth"):
        CifarResNet(21)
    with pytest.raises(ValueError, match="version"):
        CifarResNet(20, version=3)
    with pytest.raises(ValueError, match="arch"):
        make_cifar_model("resnet18")


def test_adp_ensemble_of_three():
    model = make_cifar_model("resnet8", "adp", width=4)
    assert isinstance(model, ADPEnsemble) and len(model.members) == 3
    x, y = torch.rand(5, 3, 32, 32), torch.arange(5)
    logits = model.member_logits(x)
    assert logits.shape == (3, 5, 10)
    mean = logits.softmax(-1).mean(0)
    assert torch.allclose(model(x).exp(), mean, atol=1e-5)  # prediction = mean of member softmax
    assert model.features(x).shape == (5, 48)
    model.loss(x, y).backward()
    assert cifar_adp_ensemble(8, width=4, members=2).objective.name == "adp"


def test_adp_loss_terms():
    torch.manual_seed(0)
    logits, y = torch.randn(3, 6, 10), torch.randint(0, 10, (6,))
    ce = sum(torch.nn.functional.cross_entropy(logits[k], y) for k in range(3))
    assert torch.allclose(adp_loss(logits, y, alpha=0.0, beta=0.0), ce)  # the baseline: plain CE
    # identical members: the rows of M coincide, det -> eps^..., the diversity term is strongly
    # penalized
    same = logits[:1].expand(3, -1, -1)
    assert adp_loss(same, y, alpha=0.0, beta=0.5) > adp_loss(logits, y, alpha=0.0, beta=0.5) + 5


@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 16, 10), (5, 7, 4)])
def test_adp_loss_computes_through_the_ensemble_regularizer(shape):
    """One ADP term: the ResNet ensemble's loss is sum_k CE + robviz.ensemble.adp_regularizer.

    It equals the formula the ResNet module used to write out itself (mask, L2-normalize, log det
    with 1e-6 I).
    """
    from robviz.ensemble import adp_regularizer

    K, N, L = shape
    generator = torch.Generator().manual_seed(sum(shape))
    logits, y = (
        3 * torch.randn(shape, generator=generator),
        torch.randint(0, L, (N,), generator=generator),
    )
    for alpha, beta in ((2.0, 0.5), (0.0, 0.0), (1.0, 2.0)):
        ce = sum(torch.nn.functional.cross_entropy(logits[k], y) for k in range(K))
        through = ce + adp_regularizer(logits.softmax(-1), y, alpha, beta)
        probs = logits.softmax(-1)
        mean = probs.mean(0)
        entropy = -(mean * (mean + 1e-20).log()).sum(1)
        keep = torch.ones_like(mean, dtype=torch.bool).scatter(1, y[:, None], False)
        m = probs.permute(1, 0, 2)[keep[:, None, :].expand(-1, K, -1)].view(-1, K, L - 1)
        m = m / m.norm(dim=2, keepdim=True)
        log_det = torch.logdet(m @ m.transpose(1, 2) + 1e-6 * torch.eye(K))
        written_out = ce - alpha * entropy.mean() - beta * log_det.mean()
        assert adp_loss(logits, y, alpha, beta).item() == pytest.approx(
            through.item(), rel=1e-6, abs=1e-6
        )
        assert adp_loss(logits, y, alpha, beta).item() == pytest.approx(
            written_out.item(), rel=1e-5, abs=1e-5
        )
