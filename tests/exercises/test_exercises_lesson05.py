"""Lesson 5's self-checks: the right answers pass, the known mistakes get their own hints."""

import pytest
import torch

from robviz import exercises


def _without_max(p):
    return p.scatter(1, p.argmax(dim=1, keepdim=True), 0.0)


def _entropy(p):
    return -(p * torch.log(p.where(p > 0, torch.ones_like(p)))).sum(dim=1)


def non_me(p):
    rest = _without_max(p)
    return _entropy(rest / rest.sum(dim=1, keepdim=True))


def non_me_by_dropping_the_column(p):
    keep = torch.ones_like(p, dtype=torch.bool).scatter(1, p.argmax(dim=1, keepdim=True), False)
    rest = p[keep].reshape(len(p), -1)
    rest = rest / rest.sum(dim=1, keepdim=True)
    return -torch.special.xlogy(rest, rest).sum(dim=1)


def non_me_without_zero_log_zero(p):
    rest = _without_max(p)
    rest = rest / rest.sum(dim=1, keepdim=True)
    return -(rest * rest.log()).sum(dim=1)  # NaN where a probability is exactly 0


@pytest.mark.parametrize("answer", [non_me, non_me_by_dropping_the_column])
def test_non_me_passes(answer):
    assert exercises.check("5.1", answer)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (_entropy, "whole prediction"),
        (lambda p: _entropy(_without_max(p)), "Renormalize"),
        (lambda p: -non_me(p), "Wrong sign"),
        (lambda p: _entropy(p / (1 - p.max(dim=1, keepdim=True).values)), "before* the entropy"),
    ],
)
def test_non_me_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("5.1", wrong)
    assert not feedback and keyword in feedback.message


def test_non_me_nan_at_zero_probabilities_fails(lenient):
    # a confident float32 softmax has probabilities of exactly 0: 0 log 0 must be 0, not NaN
    feedback = exercises.check("5.1", non_me_without_zero_log_zero)
    assert not feedback and "0 log 0 = 0" in feedback.message


def test_non_me_unknown_error_gets_the_general_hint(lenient):
    feedback = exercises.check("5.1", lambda p: 2 * non_me(p))
    assert not feedback and "argmax" in feedback.message


def test_auc_passes():
    assert exercises.check("5.2", 9.5 / 12)


@pytest.mark.parametrize("rounded", [0.79, 0.792, 0.8])
def test_auc_rounded_passes(rounded):
    # 19/24 rounded to two or one decimals is right
    assert exercises.check("5.2", rounded)


def test_auc_tolerance_is_not_loose(lenient):
    # one pair in 12 (1/24 with ties) changes the AUC by far more than the tolerance
    feedback = exercises.check("5.2", 0.78)
    assert not feedback and "too small" in feedback.message


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (2.5 / 12, "Orientation reversed"),
        (9 / 12, "not zero"),
        (10 / 12, "not one"),
        (2 / 12, "Orientation reversed, and a tie"),
    ],
)
def test_auc_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("5.2", wrong)
    assert not feedback and keyword in feedback.message


def test_auc_other_number_fails(lenient):
    feedback = exercises.check("5.2", 0.5)
    assert not feedback and "12" in feedback.message


def test_auc_near_zero_choice():
    assert exercises.check("5.3", "b")
    assert exercises.check("5.3", " B ")
    # options as students write them: "(b)" was "not one of the options"
    for written in ("(b)", "b)", "B.", "[b]"):
        assert exercises.check("5.3", written), written


def test_a_bracketed_wrong_option_still_gets_its_hint(lenient):
    feedback = exercises.check("5.3", "(a)")
    assert not feedback and "chance" in feedback.message


@pytest.mark.parametrize(
    "wrong, keyword", [("a", "chance"), ("c", "empty"), ("d", "pairs where it succeeded")]
)
def test_auc_near_zero_wrong_options_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("5.3", wrong)
    assert not feedback and keyword in feedback.message


def test_auc_near_zero_unknown_option(lenient):
    feedback = exercises.check("5.3", "e")
    assert not feedback and "not one of the options" in feedback.message
