"""Every entry of robviz.exact refuses integer inputs the same way, naming x and the fix.

A robviz model refuses them ("must be floating-point ... x.float()", and "/ 255" for 8-bit
pixels); before, verify and margin_lower_bounds read them as floats while certified_robust,
relu_units and the plane's entries failed inside a plain nn.Linear with torch's "mat1 and mat2
must have the same dtype".
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
    "verify": lambda net, x, y: milp.verify(net, x, y, 0.5, bounds=(0, 4), progress=False),
    "minimal_linf_distance": lambda net, x, y: milp.minimal_linf_distance(
        net, x, y, bounds=(0, 4), progress=False
    ),
    "certified_robust": lambda net, x, y: certify.certified_robust(net, x, y, 0.5, bounds=(0, 4)),
    "margin_lower_bounds": lambda net, x, y: certify.margin_lower_bounds(
        net, x, y, 0.5, bounds=(0, 4)
    ),
    "unstable_relus": lambda net, x, y: certify.unstable_relus(net, x, 0.5, bounds=(0, 4)),
    "relu_units": lambda net, x, y: milp.relu_units(net, x[:1]),
    "robust_accuracy": lambda net, x, y: exact.robust_accuracy(net, x, y, 0.5, bounds=(0, 4)),
    "minimal_distance": lambda net, x, y: exact.minimal_distance(net, x, y, bounds=(0, 4)),
    "robust_accuracy_curve": lambda net, x, y: exact.robust_accuracy_curve(
        net, x, y, [0.5, 1.0], bounds=(0, 4)
    ),
    "grid_minimal_distance": lambda net, x, y: exact.grid_minimal_distance(
        net, x, y, bounds=(0, 4), resolution=50
    ),
}


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool])
@pytest.mark.parametrize("name", list(CALLS))
def test_integer_inputs_are_refused_naming_the_fix(name, dtype):
    net = small_net()
    x = torch.randint(0, 2, (10, 2), generator=torch.Generator().manual_seed(0)).to(dtype)
    y = torch.zeros(10, dtype=torch.long)
    hint = r" / 255" if dtype == torch.uint8 else ""
    with pytest.raises(
        TypeError, match=rf"^x must be floating-point, got {dtype}.*x\.float\(\){hint}"
    ):
        CALLS[name](net, x, y)
    CALLS[name](net, x.float(), y)  # the same points as floats are read
