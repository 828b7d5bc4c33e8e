"""Lesson 10's self-checks: the inner maximization is checked against attacks.PGD.iterate.

Each slip gets a hint.
"""

import pytest
import torch
import torch.nn.functional as F

from robviz import exercises
from robviz.exercises.lesson10 import _pgd


def inner_max(model, x, y, eps, alpha, steps, bounds, start):
    x_adv = start.clone()
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y), x_adv)
        x_adv = x_adv.detach() + alpha * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(*bounds)
    return x_adv


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_inner_maximization_solution_passes(seed):
    assert exercises.check("10.1", inner_max, seed=seed)


@pytest.mark.parametrize(
    "slip, keyword",
    [
        (dict(sign=-1.0), "*descends*"),
        (dict(project=False), "eps-ball"),
        (dict(clip=False), "input box"),
        (dict(use_sign=False), "raw gradient"),
        (dict(from_x=True), "starts at the clean x"),
        (dict(around_start=True), "around `start`"),
    ],
)
def test_inner_maximization_slips_get_their_hints(lenient, slip, keyword):
    feedback = exercises.check("10.1", _pgd(**slip))
    assert not feedback and keyword in feedback.message, feedback.message


def test_inner_maximization_unfinished_and_wrong_types(lenient):
    assert not exercises.check("10.1", lambda *args: ...).answered
    assert "Expected a function" in exercises.check("10.1", 0.5).message
    assert not exercises.check("10.1", lambda model, x, y, *rest: x)  # no attack at all


def test_twice_the_radius(lenient):
    assert exercises.check("10.2", "b") and exercises.check("10.2", " B ")
    for option, keyword in [("a", "only fall"), ("c", "2 eps")]:
        feedback = exercises.check("10.2", option)
        assert not feedback and keyword in feedback.message
    assert "not one of the options" in exercises.check("10.2", "e").message
