"""Lesson 11's self-checks: interval bounds through one layer, and the certificate question.

The interval bounds are checked against robviz.exact.interval_bounds, with a hint per slip; the
question is whether a certificate can exceed the exact value.
"""

import numpy as np
import pytest

from robviz import exact, exercises
from robviz.exercises.lesson11 import (
    _corners,
    _inputs,
    _no_relu,
    _reference,
    _relu_first,
    _sorted_corners,
    _swapped,
)


def interval_layer(w, b, low, high):
    centre, radius = (high + low) / 2, (high - low) / 2
    centre, radius = centre @ w.T + b, radius @ w.abs().T
    return (centre - radius).clamp(min=0), (centre + radius).clamp(min=0)


def test_the_reference_is_robviz_interval_bounds_then_a_relu():
    for w, b, low, high in _inputs(0):
        [(lo, hi)] = exact.interval_bounds([(w.numpy(), b.numpy())], low.numpy(), high.numpy())
        assert np.allclose(
            _reference(w, b, low, high).numpy(), [np.maximum(lo, 0), np.maximum(hi, 0)]
        )


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_interval_layer_solution_passes(seed):
    assert exercises.check("11.1", interval_layer, seed=seed)


@pytest.mark.parametrize(
    "slip, keyword",
    [
        (_corners, "corners"),
        (_no_relu, "stops before the ReLU"),
        (_relu_first, "before the layer"),
        (_sorted_corners, "smaller and the larger"),
        (_swapped, "wrong order"),
    ],
)
def test_interval_layer_slips_get_their_hints(lenient, slip, keyword):
    feedback = exercises.check("11.1", lambda w, b, low, high: tuple(slip(w, b, low, high)))
    assert not feedback and keyword in feedback.message, feedback.message


def test_a_radius_through_w_is_the_corners_slip(lenient):
    def signed_radius(w, b, low, high):
        centre, radius = (high + low) / 2, (high - low) / 2
        centre, radius = centre @ w.T + b, radius @ w.T
        return (centre - radius).clamp(min=0), (centre + radius).clamp(min=0)

    for seed in (None, 1, 2):
        feedback = exercises.check("11.1", signed_radius, seed=seed)
        assert not feedback and "radius through W" in feedback.message


def test_interval_layer_unfinished_and_wrong_types(lenient):
    assert not exercises.check("11.1", lambda *args: ...).answered
    assert "Expected a function" in exercises.check("11.1", 0.5).message
    assert "pair" in exercises.check("11.1", lambda w, b, low, high: low).message
    numpy_answer = exercises.check(
        "11.1", lambda *args: tuple(t.numpy() for t in interval_layer(*args))
    )
    assert numpy_answer  # NumPy arrays are fine
    assert not exercises.check("11.1", lambda w, b, low, high: (low, high))  # no layer at all


def test_certified_above_exact(lenient):
    assert exercises.check("11.2", "c") and exercises.check("11.2", " C ")
    for option, keyword in [("a", "relaxation"), ("b", "undecided")]:
        feedback = exercises.check("11.2", option)
        assert not feedback and keyword in feedback.message
    assert "not one of the options" in exercises.check("11.2", "e").message
