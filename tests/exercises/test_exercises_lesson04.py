"""Lesson 4's self-checks: the right answers pass, the known mistakes get their own hints."""

import math

import pytest
import torch

from robviz import exercises


def mmlda_logits(z, centers):
    return -0.5 * torch.cdist(z, centers).pow(2)


def test_mmlda_logits_pass():
    assert exercises.check("4.1", mmlda_logits)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda z, c: -torch.cdist(z, c).pow(2), "factor 1/2"),
        (lambda z, c: 0.5 * torch.cdist(z, c).pow(2), "Wrong sign"),
        (lambda z, c: -0.5 * torch.cdist(z, c), "Square the distance"),
        (lambda z, c: z @ c.T, "linear logits"),
    ],
)
def test_mmlda_logits_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("4.1", wrong)
    assert not feedback and keyword in feedback.message


def test_mmlda_logits_unknown_error_gets_the_general_hint(lenient):
    feedback = exercises.check("4.1", lambda z, c: -0.5 * torch.cdist(z, c).pow(2) + 1.0)
    assert not feedback and "cdist" in feedback.message


def test_density_orders_pass():
    assert exercises.check("4.2", 31 * math.log10(4))


@pytest.mark.parametrize("rounded", [18.66, 18.7])
def test_density_orders_rounded_pass(rounded):
    # "how many orders of magnitude": the answer rounded to one or two decimals is right
    assert exercises.check("4.2", rounded)


def test_density_orders_tolerance_is_not_loose(lenient):
    feedback = exercises.check("4.2", 18.55)
    assert not feedback and "too small" in feedback.message


def test_density_orders_ratio_instead_of_its_log(lenient):
    feedback = exercises.check("4.2", 4.0**31)
    assert not feedback and "log10" in feedback.message


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (31.5 * math.log10(4), "printed exponent"),
        (32 * math.log10(4), "whole ball"),
        (31 * math.log(4), "natural log"),
        (-31 * math.log10(4), "Wrong direction"),
    ],
)
def test_density_orders_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("4.2", wrong)
    assert not feedback and keyword in feedback.message


def test_density_orders_other_number_fails(lenient):
    feedback = exercises.check("4.2", 10.0)
    assert not feedback and "too small" in feedback.message
