"""robviz.exact on degenerate networks: pruned neurons, zero weights, one logit.

The verdicts are checked against the plane's exact enumeration (an independent method), and the
undecided points against the reason they are given.
"""

import math
import numpy as np
import pytest
import torch
from torch import nn

from robviz import exact
from robviz.exact import milp


def pruned_net(seed=0):
    """A float64 2-8-3 ReLU network whose first hidden neuron is pruned (zero row, zero bias).

    Its pre-activation bounds are l = u = 0 over every ball: both "always active" and "always
    dead".
    """
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    with torch.no_grad():
        net[0].weight[0] = 0.0
        net[0].bias[0] = 0.0
    return net.eval()


def test_pruned_neuron_gives_the_planes_verdicts():
    net = pruned_net()
    x = torch.rand(40, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        y = net(x).argmax(1)
    _, plane = exact.robust_accuracy(net, x, y, 0.1, bounds=(0, 1))
    result = milp.verify(net, x, y, 0.1, bounds=(0, 1), progress=False)
    assert result.undecided == 0, result.decided_by
    assert torch.equal(result.robust, plane)
    assert not plane.all()  # some points are decided "not robust": the test can fail
    # every "not robust" verdict carries a witness that the model misclassifies
    broken = result.verdicts == milp.NOT_ROBUST
    with torch.no_grad():
        assert (net(result.witnesses[broken]).argmax(1) != y[broken]).all()


def test_pruned_neuron_gives_the_planes_distances():
    net = pruned_net()
    x = torch.rand(12, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        y = net(x).argmax(1)
    plane = exact.minimal_distance(net, x, y, norm="Linf", bounds=(0, 1))
    program = milp.minimal_linf_distance(net, x, y, bounds=(0, 1), progress=False)
    assert torch.isfinite(plane).all()
    torch.testing.assert_close(program, plane, atol=1e-7, rtol=0)


def zero_net():
    """A 4-4-3 network of zero weights: every logit is 0, the prediction class 0 everywhere."""
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))
    for p in net.parameters():
        nn.init.zeros_(p)
    return net.eval()


def test_zero_weights_are_a_tie_not_a_time_limit():
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    y = torch.zeros(3, dtype=torch.long)
    result = milp.verify(zero_net(), x, y, 0.1, bounds=(0, 1), progress=False)
    assert list(result.decided_by) == ["tie"] * 3
    assert result.undecided == 3
    assert (result.lower, result.upper) == (0.0, 1.0)
    with pytest.raises(ValueError, match="tie") as info:
        milp.minimal_linf_distance(zero_net(), x, y, bounds=(0, 1), progress=False)
    assert "raise time_limit" not in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda net, x, y: milp.verify(net, x, y, 0.1, bounds=(0, 1), progress=False),
        lambda net, x, y: exact.certified_robust(net, x, y, 0.1, bounds=(0, 1)),
        lambda net, x, y: milp.minimal_linf_distance(net, x, y, bounds=(0, 1), progress=False),
        lambda net, x, y: exact.robust_accuracy(net, x[:, 0, :2], y, 0.1, bounds=(0, 1)),
        lambda net, x, y: exact.decision_boundary(net, (0, 1)),
    ],
    ids=["verify", "certified_robust", "minimal_linf_distance", "plane", "decision_boundary"],
)
def test_one_logit_is_refused(call):
    # A binary classifier of one logit: argmax is class 0 everywhere, so every class-0 point
    # would read as robust.
    x = torch.rand(4, 1, 2, generator=torch.Generator().manual_seed(0))
    y = torch.zeros(4, dtype=torch.long)
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="L >= 2 classes"):
        call(net, x, y)


def test_one_logit_made_two_logits_is_read():
    # The remedy the error names: append the logits (0, z).
    one = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    two = nn.Linear(1, 2).double()
    with torch.no_grad():  # z = x_0 + x_1 / 5 - 0.6 on the unit square: both classes
        one[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]))
        one[0].bias.copy_(torch.tensor([-0.5, 0.5, 0.0]))
        one[2].weight.copy_(torch.tensor([[1.0, -1.0, 0.2]]))
        one[2].bias.fill_(-0.1)
        two.weight.copy_(torch.tensor([[0.0], [1.0]]))
        two.bias.zero_()
    net = nn.Sequential(one, two).eval()
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with torch.no_grad():
        y = (one(x)[:, 0] > 0).long()
    assert 0 < y.sum() < len(y)
    _, plane = exact.robust_accuracy(net, x, y, 0.05, bounds=(0, 1))
    assert torch.equal(milp.verify(net, x, y, 0.05, bounds=(0, 1), progress=False).robust, plane)
    assert np.isfinite(exact.minimal_distance(net, x, y, bounds=(0, 1)).numpy()).all()


def overflowing_net(scale, dtype):
    """A 2-4-3 ReLU network whose weights times ``scale`` overflow ``dtype`` on [0, 1]^2."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3)).to(dtype)
    with torch.no_grad():
        net[0].weight.mul_(scale)
        net[0].bias.mul_(scale)
        net[2].weight.mul_(scale)
    return net.eval()


def test_a_model_with_infinite_logits_is_never_certified():
    # float32 logits of 1e40 are inf (finite in the float64 reading the bounds are computed in);
    # argmax read the inf logits as the label and 3 of 8 points were "certified"
    net = overflowing_net(1e20, torch.float32)
    x = torch.rand(8, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        finite = torch.isfinite(net(x)).all(dim=1)
        y = net.double()(x.double()).argmax(1)
    net.float()
    assert (~finite).sum() >= 6
    certified = exact.certified_robust(net, x, y, 1e-3, bounds=(0, 1))
    assert not (certified & ~finite).any()
    assert certified[finite].all()  # the finite ones still are: the test can fail


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_nan_logits_are_no_class_for_verify():
    # float64 logits inf - inf = NaN: argmax read them as class 0, a correct class-0 prediction
    net = overflowing_net(1e160, torch.float64)
    x = torch.rand(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        assert torch.isnan(net(x)).any(dim=1).all()
    y = torch.zeros(5, dtype=torch.long)
    result = milp.verify(net, x, y, 0.1, bounds=(0, 1), progress=False)
    assert list(result.verdicts) == [milp.NOT_ROBUST] * 5
    assert list(result.decided_by) == ["clean"] * 5
    torch.testing.assert_close(result.witnesses, x)


class Residual(nn.Sequential):
    """x + f(x): a Sequential whose forward is its own."""

    def forward(self, x):
        return x + super().forward(x)


class Scaled(nn.Linear):
    def forward(self, x):
        return 10 * super().forward(x)


class AlwaysOnDropout(nn.Dropout):
    """Monte-Carlo dropout: random in eval mode too."""

    def forward(self, x):
        return nn.functional.dropout(x, self.p, training=True)


class Plain(nn.Linear):
    """A subclass that keeps Linear's forward (as torch's NonDynamicallyQuantizableLinear)."""


@pytest.mark.parametrize(
    "body",
    [
        lambda: [nn.Linear(2, 4), nn.ReLU(), Residual(nn.Linear(4, 4), nn.ReLU())],
        lambda: [Scaled(2, 4), nn.ReLU()],
        lambda: [nn.Linear(2, 4), AlwaysOnDropout(0.5), nn.ReLU()],
    ],
    ids=["residual Sequential", "scaled Linear", "always-on Dropout"],
)
def test_a_subclass_with_its_own_forward_is_refused(body):
    # read as its base class, its logits differed from the model's by up to 2.9 (scaled Linear)
    torch.manual_seed(0)
    net = nn.Sequential(*body(), nn.Linear(4, 3)).double().eval()
    with pytest.raises(TypeError, match="with a forward of its own"):
        exact.decision_boundary(net, (0, 1))
    x = torch.rand(3, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="with a forward of its own"):
        exact.certified_robust(net, x, torch.zeros(3, dtype=torch.long), 0.1, bounds=(0, 1))


def test_a_subclass_keeping_the_forward_is_read():
    torch.manual_seed(0)
    net = nn.Sequential(Plain(2, 4), nn.ReLU(), nn.Linear(4, 3)).double().eval()
    x = torch.rand(20, 2, dtype=torch.float64)
    with torch.no_grad():
        expected = net(x).argmax(1).numpy()
    np.testing.assert_array_equal(exact.decision_boundary(net, (0, 1)).predict(x), expected)


def test_the_grid_reads_non_finite_logits_as_no_class():
    # logits (0, 0) left of x_0 = 0.5 and NaN right of it: before, the NaN half read as class 0
    class HalfNaN(nn.Module):
        def forward(self, x):
            logits = torch.zeros(len(x), 2, dtype=x.dtype)
            logits[x[:, 0] > 0.5] = math.nan
            return logits

    x = torch.tensor([[0.2, 0.5], [0.7, 0.5]])
    y = torch.zeros(2, dtype=torch.long)
    distance = exact.grid_minimal_distance(HalfNaN(), x, y, bounds=(0, 1), resolution=101)
    assert distance[1] == 0.0  # a NaN prediction is not correct
    assert abs(distance[0].item() - 0.31) < 0.011  # the nearest NaN node, x_0 = 0.51
