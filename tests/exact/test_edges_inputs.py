"""robviz.exact takes integer inputs as the points of the real box they are.

Pixel values 0..255 or grid points come as integer tensors; verify read them as floats while
certified_robust, relu_units and the plane's entries passed them on to the model, whose Linear
layer refused them ("mat1 and mat2 must have the same dtype").
"""

import pytest
import torch
from torch import nn

from robviz import exact
from robviz.exact import certify, milp


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3)).eval()


CALLS = {
    "verify": lambda net, x, y: milp.verify(
        net, x, y, 0.5, bounds=(0, 4), progress=False
    ).verdicts.tolist(),
    "certified_robust": lambda net, x, y: certify.certified_robust(
        net, x, y, 0.5, bounds=(0, 4)
    ).tolist(),
    "relu_units": lambda net, x, y: milp.relu_units(net, x[:1]),
    "robust_accuracy": lambda net, x, y: exact.robust_accuracy(net, x, y, 0.5, bounds=(0, 4))[
        1
    ].tolist(),
    "minimal_distance": lambda net, x, y: exact.minimal_distance(net, x, y, bounds=(0, 4)).tolist(),
    "robust_accuracy_curve": lambda net, x, y: exact.robust_accuracy_curve(
        net, x, y, [0.5, 1.0], bounds=(0, 4)
    ),
    "grid_minimal_distance": lambda net, x, y: exact.grid_minimal_distance(
        net, x, y, bounds=(0, 4), resolution=50
    ).tolist(),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_integer_inputs_are_read_as_their_float_values(name):
    net = small_net()
    x = torch.randint(0, 5, (10, 2), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = net(x.float()).argmax(1)
    assert CALLS[name](net, x, y) == CALLS[name](net, x.float(), y)
