"""robviz.exact is free of units: rescaled networks and boxes give the same answers.

A ReLU network keeps its function when one layer is multiplied by s and the next divided by s,
and a problem keeps its answers (in units of the box) when inputs and box are scaled together;
every tolerance of the plane's enumeration must follow.
"""

import pytest
import torch
from torch import nn

from robviz import exact
from robviz.exact import milp


def three_class_net():
    """A float64 2-8-3 ReLU network with three classes and three boundary lines in [-1, 1]^2."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()


def rescaled(net, s):
    """``net`` with its first layer times s and its last layer's weights over s: one function."""
    out = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()
    out.load_state_dict(net.state_dict())
    with torch.no_grad():
        out[0].weight.mul_(s)
        out[0].bias.mul_(s)
        out[2].weight.div_(s)
    return out


def points(n=30):
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1


@pytest.mark.parametrize("s", [1e-6, 1e-9, 1e-12])
def test_the_plane_does_not_see_a_rescaling(s):
    net, x = three_class_net(), points()
    with torch.no_grad():
        y = net(x).argmax(1)
    reference = exact.decision_boundary(net, (-1, 1))
    assert (reference.regions, len(reference.segments()[0])) == (8, 3)
    boundary = exact.decision_boundary(rescaled(net, s), (-1, 1))
    # before: at s = 1e-9 one region of 8 and one boundary segment of 3, a distance 0.608 read
    # as 0.557 and a robust accuracy of 23/30 at eps 0.1 where the program proves 24/30
    assert boundary.regions == reference.regions
    torch.testing.assert_close(
        boundary.distance(x, y, "Linf"), reference.distance(x, y, "Linf"), rtol=1e-9, atol=0
    )
    _, plane = boundary.robust_accuracy(x, y, 0.1)
    program = milp.verify(rescaled(net, s), x, y, 0.1, bounds=(-1, 1), progress=False)
    assert torch.equal(plane, program.robust)
    assert 0 < int(plane.sum()) < len(plane)


@pytest.mark.parametrize("scale", [1e-30, 1e-12, 1e6])
def test_a_scaled_box_gives_the_distances_in_its_units(scale):
    # inputs and box times scale, the first layer over scale: distances times scale
    net, x = three_class_net(), points()
    with torch.no_grad():
        y = net(x).argmax(1)
    scaled = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()
    scaled.load_state_dict(net.state_dict())
    with torch.no_grad():
        scaled[0].weight.div_(scale)
    boundary = exact.decision_boundary(scaled, (-scale, scale))
    reference = exact.decision_boundary(net, (-1, 1)).distance(x, y, "Linf")
    # before: a box 1e-12 wide kept 1 of its 3 boundary segments (an absolute length floor of
    # 1e-12), a box 1e-30 wide none, so every distance read inf: robust at every radius
    assert len(boundary.segments()[0]) == 3
    torch.testing.assert_close(
        boundary.distance(x * scale, y, "Linf") / scale, reference, rtol=1e-9, atol=0
    )


def test_inputs_outside_a_small_box_are_refused():
    # the slack of "inside" was an absolute 1e-9: a whole box of width 1e-12, and more
    net = three_class_net()
    boundary = exact.decision_boundary(net, (0, 1e-12))
    outside = torch.tensor([[5e-10, 5e-13]], dtype=torch.float64)
    with pytest.raises(ValueError, match="every input must lie in the box"):
        boundary.distance(outside, torch.tensor([0]))
    with pytest.raises(ValueError, match="every input must lie in bounds"):
        exact.certified_robust(net, outside, torch.tensor([0]), 1e-13, bounds=(0, 1e-12))
    # a point within 1e-9 of the width still counts as inside (float rounding)
    edge = torch.tensor([[1e-12 * (1 + 1e-10), 5e-13]], dtype=torch.float64)
    exact.certified_robust(net, edge, torch.tensor([0]), 1e-13, bounds=(0, 1e-12))
