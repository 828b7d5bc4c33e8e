"""Lesson 8's self-checks: BPDA is checked forward and backward.

The masking question gives a hint per option.
"""

import pytest
import torch

from robviz import exercises


def bpda_round(x, step):
    rounded = torch.round(x / step) * step
    return x + (rounded - x).detach()


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, step):
        return torch.round(x / step) * step

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def test_bpda_solution_passes():
    assert exercises.check("8.1", bpda_round)


def test_bpda_as_a_custom_autograd_function_passes():
    assert exercises.check("8.1", _StraightThrough.apply)


@pytest.mark.parametrize(
    "wrong, keywords",
    [
        (lambda x, step: x + (torch.round(x) - x).detach(), ("The output", "ignores `step`")),
        (lambda x, step: x + (torch.round(x / step) - x).detach(), ("The output", "grid index")),
        (lambda x, step: x, ("The output", "must round")),
        (lambda x, step: torch.round(x / step) * step, ("gradient is 0", "plain rounding")),
        (lambda x, step: (torch.round(x / step) * step).detach(), ("gradient is 0",)),
        (lambda x, step: x.detach() + (torch.round(x / step) * step - x), ("minus the identity",)),
        (
            lambda x, step: x / step + (torch.round(x / step) * step - x / step).detach(),
            ("1 / step",),
        ),
    ],
)
def test_bpda_mistakes_get_their_hints(lenient, wrong, keywords):
    feedback = exercises.check("8.1", wrong)
    assert not feedback
    assert all(keyword in feedback.message for keyword in keywords), feedback.message


def test_bpda_reports_unfinished_and_wrong_types(lenient):
    assert not exercises.check("8.1", lambda x, step: ...).answered
    assert "Expected a function" in exercises.check("8.1", 3.0).message
    feedback = exercises.check("8.1", lambda x, step: bpda_round(x, step).sum())
    assert not feedback and "shape" in feedback.message
    doubled = exercises.check(
        "8.1", lambda x, step: 2 * x + (torch.round(x / step) * step - 2 * x).detach()
    )
    assert (
        not doubled
        and "output is right; the gradient" in doubled.message
        and "identity" in doubled.message
    )


def test_masking_evidence(lenient):
    assert exercises.check("8.2", "c")
    assert exercises.check("8.2", " C ")
    for option, keyword in [("a", "cost"), ("b", "*rising*"), ("d", "*above* 0")]:
        feedback = exercises.check("8.2", option)
        assert not feedback and keyword in feedback.message
    assert "not one of the options" in exercises.check("8.2", "e").message
