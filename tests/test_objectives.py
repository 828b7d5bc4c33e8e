import math

import pytest
import torch

from robviz.centers import mm_centers
from robviz.objectives import (OBJECTIVES, MMC, RCE, center_loss, lgm_loss, make_objective, mmc_loss, mmlda_loss,
                               rce_loss, sce_loss, squared_distances)

# One sample, three classes, 2-D features: small enough to compute every loss by hand.
Z = torch.tensor([[1.0, 2.0]])
Y = torch.tensor([0])
MU = torch.tensor([[1.0, 1.0], [0.0, 0.0], [-2.0, 2.0]])  # squared distances to z: 1, 5, 9


def test_squared_distances():
    assert squared_distances(Z, MU).tolist() == [[1.0, 5.0, 9.0]]


def test_sce_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(1) + 1))
    assert sce_loss(h, Y).item() == pytest.approx(expected, abs=1e-6)


def test_mmc_loss_by_hand():
    assert mmc_loss(Z, Y, MU).item() == pytest.approx(0.5 * 1.0)
    assert mmc_loss(Z, torch.tensor([2]), MU, factor=1.0).item() == pytest.approx(9.0)  # the code's convention
    # Averaged over the batch.
    assert mmc_loss(Z.repeat(2, 1), torch.tensor([0, 1]), MU).item() == pytest.approx(0.5 * (1 + 5) / 2)


def test_mmlda_loss_by_hand():
    logits = [-0.5, -2.5, -4.5]  # -1/2 * (1, 5, 9)
    expected = -logits[0] + math.log(sum(math.exp(v) for v in logits))
    assert mmlda_loss(Z, Y, MU).item() == pytest.approx(expected, abs=1e-6)


def test_rce_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    p = torch.softmax(h, dim=1)[0]
    expected = -0.5 * (math.log(p[1]) + math.log(p[2]))  # reverse label (0, 1/2, 1/2)
    assert rce_loss(h, Y).item() == pytest.approx(expected, abs=1e-6)


def test_center_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    expected = sce_loss(h, Y).item() + 0.1 * 0.5 * 1.0
    assert center_loss(h, Z, Y, MU, weight=0.1).item() == pytest.approx(expected, abs=1e-6)


def test_lgm_loss_by_hand():
    d = [0.5, 2.5, 4.5]
    margin, weight = 0.1, 0.1
    logits = [-d[0] * (1 + margin), -d[1], -d[2]]
    expected = -logits[0] + math.log(sum(math.exp(v) for v in logits)) + weight * d[0]
    assert lgm_loss(Z, Y, MU, margin, weight).item() == pytest.approx(expected, abs=1e-6)


def test_mmc_head_uses_fixed_mm_centers_and_predicts_nearest():
    head = MMC(num_classes=4, feature_dim=3)
    assert torch.allclose(head.centers, mm_centers(4, 3))
    assert not any(p.requires_grad for p in head.parameters())  # the centers are never trained
    z = head.centers + 0.1
    assert head.output(head(z)).argmax(1).tolist() == [0, 1, 2, 3]


def test_rce_predicts_argmin_of_softmax():
    head = RCE(num_classes=5, feature_dim=4)
    z = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    h = head(z)
    assert torch.equal(head.output(h), -h)
    assert torch.equal(head.output(h).argmax(1), torch.softmax(h, 1).argmin(1))


def test_rce_loss_is_minimal_at_the_reverse_label():
    # softmax(h) = R_y exactly is the minimizer: log-probabilities log(1/(L-1)) on the other classes.
    L = 4
    h = torch.tensor([[-30.0, 0.0, 0.0, 0.0]])
    assert rce_loss(h, torch.tensor([0])).item() == pytest.approx(math.log(L - 1), abs=1e-4)
    assert rce_loss(torch.zeros(1, L), torch.tensor([0])).item() > math.log(L - 1)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_gives_a_finite_differentiable_loss(name):
    head = make_objective(name, num_classes=3, feature_dim=2)
    z = torch.randn(8, 2, requires_grad=True)
    y = torch.randint(0, 3, (8,))
    h = head(z)
    assert h.shape == (8, 3)
    loss = head.loss(z, h, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_registry_is_case_insensitive_and_lists_valid_names():
    assert isinstance(make_objective("MMC", 3, 2), MMC)
    with pytest.raises(ValueError, match="unknown objective 'softmax'.*sce.*mmc.*rce"):
        make_objective("softmax", 3, 2)


def test_objectives_reject_bad_sizes():
    with pytest.raises(ValueError, match="num_classes"):
        make_objective("sce", 1, 2)
    with pytest.raises(ValueError, match="feature_dim"):
        make_objective("sce", 3, 0)
