"""Lesson 2's self-checks: the right answers pass, each known mistake gets its own hint."""

import pytest
import torch
import torch.nn.functional as F

from robviz import exercises
from robviz.exercises.lesson02 import SCORE_EPS, SCORE_WEIGHTS


def _gradient(model, x, y, reduction="mean"):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction=reduction), x)
    return grad


def _fgsm(model, x, y, eps, bounds, *, sign=True, ascent=True, clip=True, reduction="mean"):
    grad = _gradient(model, x, y, reduction)
    step = eps * (grad.sign() if sign else grad)
    x_adv = x + step if ascent else x - step
    return x_adv.clamp(*bounds) if clip else x_adv


def _pgd(
    model, x, y, eps, alpha, steps, bounds, *, project=True, clip=True, sign=True, reduction="mean"
):
    x_adv = x.clone()
    for _ in range(steps):
        grad = _gradient(model, x_adv, y, reduction)
        x_adv = x_adv + alpha * (grad.sign() if sign else grad)
        if project:
            x_adv = x_adv.clamp(min=x - eps, max=x + eps)
        if clip:
            x_adv = x_adv.clamp(*bounds)
    return x_adv


def test_linear_score_change(lenient):
    assert exercises.check("2.1", SCORE_EPS * SCORE_WEIGHTS.abs().sum())
    for wrong, keyword in [
        (SCORE_EPS * SCORE_WEIGHTS.norm(), "L2"),
        (0.0, "cancel"),
        (SCORE_EPS, "all 64"),
        (SCORE_WEIGHTS.abs().sum(), "multiply by eps"),
        (8 * SCORE_WEIGHTS.abs().sum(), "not 8"),
    ]:
        feedback = exercises.check("2.1", wrong)
        assert not feedback and keyword in feedback.message
    feedback = exercises.check("2.1", 5.0)
    assert not feedback and "too large" in feedback.message


def test_fgsm_passes_with_either_reduction():
    assert exercises.check("2.2", _fgsm)
    assert exercises.check("2.2", lambda *args: _fgsm(*args, reduction="sum"))


@pytest.mark.parametrize(
    "options, keyword",
    [
        (dict(sign=False), "*sign*"),
        (dict(sign=False, reduction="sum"), "*sign*"),
        (dict(ascent=False), "descent"),
        (dict(clip=False), "bounds"),
        (dict(ascent=False, clip=False), "Two things"),
    ],
)
def test_fgsm_mistakes_get_their_hints(lenient, options, keyword):
    feedback = exercises.check("2.2", lambda *args: _fgsm(*args, **options))
    assert not feedback and keyword in feedback.message


def test_fgsm_that_clips_to_the_unit_interval_is_caught(lenient):
    """A function that ignores its ``bounds`` argument fails: one case has bounds (-1, 2)."""
    feedback = exercises.check("2.2", lambda m, x, y, e, b: _fgsm(m, x, y, e, (0.0, 1.0)))
    assert not feedback and "`bounds` argument" in feedback.message


def test_pgd_passes():
    assert exercises.check("2.3", _pgd)
    assert exercises.check("2.3", _pgd, seed=1)


def test_pgd_that_clips_to_the_unit_interval_is_caught(lenient):
    def unit_interval(model, x, y, eps, alpha, steps, bounds):
        return _pgd(model, x, y, eps, alpha, steps, (0.0, 1.0))

    for seed in (0, 1):
        feedback = exercises.check("2.3", unit_interval, seed=seed)
        assert not feedback and "`bounds` argument" in feedback.message


@pytest.mark.parametrize(
    "options, keyword",
    [
        (dict(project=False), "Project back"),
        (dict(clip=False), "data bounds"),
        (dict(sign=False), "*sign*"),
        (dict(sign=False, reduction="sum"), "*sign*"),
    ],
)
def test_pgd_mistakes_get_their_hints(lenient, options, keyword):
    feedback = exercises.check("2.3", lambda *args: _pgd(*args, **options))
    assert not feedback and keyword in feedback.message


def test_pgd_that_projects_around_the_iterate_is_caught(lenient):
    """Clamping to [x_adv - eps, x_adv + eps] is no projection at all.

    That interval is around the moving iterate.
    """

    def drifting(model, x, y, eps, alpha, steps, bounds):
        x_adv = x.clone()
        for _ in range(steps):
            moved = x_adv + alpha * _gradient(model, x_adv, y).sign()
            x_adv = moved.clamp(min=x_adv - eps, max=x_adv + eps).clamp(*bounds)
        return x_adv

    feedback = exercises.check("2.3", drifting)
    assert not feedback and "Project back" in feedback.message


def _worst_case(robust):
    return robust.all(dim=0).float().mean()


def test_worst_case_passes_on_the_visible_and_hidden_inputs():
    assert exercises.check("2.4", _worst_case)
    assert exercises.check("2.4", _worst_case, seed=1)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda robust: robust.any(dim=0).float().mean(), "best case"),
        (lambda robust: robust.float().mean(dim=1).min(), "strongest single attack"),
        (lambda robust: robust.float().mean(), "average attack"),
        (lambda robust: 100 * robust.all(dim=0).float().mean(), "percentage"),
        (lambda robust: robust.all(dim=0).sum(), "divide by the number of points"),
    ],
)
def test_worst_case_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("2.4", wrong)
    assert not feedback and keyword in feedback.message
