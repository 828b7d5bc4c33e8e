"""Lesson 9's self-checks: the paper recipe's learning rate and step count."""

import pytest

from robviz import exercises


pytestmark = pytest.mark.usefixtures("lenient")


def test_paper_learning_rate_accepts_the_schedule_and_names_mistakes():
    assert exercises.check("9.1", lambda e: 0.01 * 0.1 ** ((e >= 100) + (e >= 150)))
    off_by_one = exercises.check("9.1", lambda e: 0.01 * 0.1 ** ((e > 100) + (e > 150)))
    assert not off_by_one and "epoch >= 100" in off_by_one.message
    factor_only = exercises.check("9.1", lambda e: 0.1 ** ((e >= 100) + (e >= 150)))
    assert not factor_only and "0.01" in factor_only.message
    one_decay = exercises.check("9.1", lambda e: 0.01 * (0.1 if e >= 100 else 1.0))
    assert not one_decay and "second decay" in one_decay.message
    constant = exercises.check("9.1", lambda e: 0.01)
    assert not constant and "milestones" in constant.message


def test_paper_steps():
    assert exercises.check("9.2", 200_000)
    assert "one epoch" in exercises.check("9.2", 1000).message
    assert "images, not steps" in exercises.check("9.2", 10_000_000).message
    assert "batch 50" in exercises.check("9.2", 200 * 50_000 / 128).message
    assert not exercises.check("9.2", 123)


def test_paper_learning_rate_relative_decay_mistake():
    too_low = exercises.check(
        "9.1", lambda e: 0.01 * (1.0 if e < 100 else 0.1 if e < 150 else 0.001)
    )
    assert not too_low and "relative to the initial rate" in too_low.message
