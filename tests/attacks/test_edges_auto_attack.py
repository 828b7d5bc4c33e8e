"""auto_attack checks its settings at entry, also when no point is left for a stage to attack."""

import pytest
import torch

from robviz.attacks import auto_attack

BOUNDS = (-3.0, 3.0)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5))
    x = torch.rand(10, 2) * 2 - 1
    wrong = (model(x).argmax(1) + 1) % 5  # every point misclassified: no stage runs
    return model.eval(), x, wrong


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(eps=-1.0), "eps must be a finite number >= 0"),
        (dict(steps=0), "steps must be an integer >= 1"),
        (dict(restarts=0), "restarts must be an integer >= 1"),
        (dict(bounds=(3.0, -3.0)), "bounds must be finite with low < high"),
        (dict(targets=0), r"targets must be an integer >= 1 or None"),
        (dict(targets=2.0), r"targets must be an integer >= 1 or None"),
        (dict(loss="margin"), "loss must be 'ce', 'dlr', 'auto' or a callable"),
        (dict(bounds=(-0.5, 0.5)), "inputs lie outside bounds"),
    ],
)
def test_settings_are_refused_although_no_point_is_left_to_attack(setup, settings, match):
    # before: a clean accuracy of 0 ran no stage, and every one of these gave a result
    model, x, wrong = setup
    kwargs = dict(eps=0.1, bounds=BOUNDS, steps=2, restarts=1, progress=False) | settings
    with pytest.raises(ValueError, match=match):
        auto_attack(model, x, wrong, **kwargs)


def test_valid_settings_with_nothing_to_attack_report_zero(setup):
    model, x, wrong = setup
    result = auto_attack(model, x, wrong, 0.1, bounds=BOUNDS, steps=2, restarts=1, progress=False)
    assert result.log == {"clean": 0.0, "APGD-CE": 0.0, "APGD-T (DLR)": 0.0}
    assert torch.equal(result.x_adv, x)
