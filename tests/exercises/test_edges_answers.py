"""Self-checks at the edges of what a student may hand in.

Functions that change their inputs in place, return something that is not numbers or NaN, print,
and seeds that are not integers.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from robviz import exercises
from robviz.exercises import lesson02, lesson10, lesson11


def _check(exercise_id: str, answer: object, **kw: object) -> exercises.Feedback:
    feedback = exercises.check(exercise_id, answer, strict=False, **kw)
    assert feedback is not None
    return feedback


def test_a_function_that_changes_x_in_place_fails_with_a_hint():
    # the values are right; the caller's x is overwritten
    def fgsm(model, x, y, eps, bounds):
        out = lesson02._fgsm_reference(model, x, y, eps, bounds)
        x.copy_(out)
        return x

    feedback = _check("2.2", fgsm)
    assert not feedback.passed
    assert "changes its argument `x` in place" in feedback.message


def test_a_function_that_changes_its_input_after_computing_is_caught_and_the_reference_unharmed():
    # the right output, then the input zeroed: the reference still runs on the inputs as drawn
    def fgsm(model, x, y, eps, bounds):
        out = lesson02._fgsm_reference(model, x, y, eps, bounds)
        x.zero_()
        return out

    feedback = _check("2.2", fgsm)
    assert not feedback.passed and "`x` in place" in feedback.message


def test_inner_maximization_that_overwrites_x_is_no_longer_correct():
    # it used to pass: the check ran the function on clones and never looked at them again
    def inner_max(model, x, y, eps, alpha, steps, bounds, start):
        out = lesson10._with_robviz(model, x, y, eps, alpha, steps, bounds, start)
        x.copy_(out)
        return out

    feedback = _check("10.1", inner_max)
    assert not feedback.passed
    assert "changes its argument `x` in place" in feedback.message


def test_inner_maximization_that_changes_the_model_is_no_longer_correct():
    def inner_max(model, x, y, eps, alpha, steps, bounds, start):
        out = lesson10._with_robviz(model, x, y, eps, alpha, steps, bounds, start)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(0.5)
        return out

    feedback = _check("10.1", inner_max)
    assert not feedback.passed
    assert "changes the weights of `model`" in feedback.message


def test_interval_layer_that_overwrites_low_is_no_longer_correct():
    def interval_layer(w, b, low, high):
        bounds = lesson11._reference(w, b, low, high)
        low.zero_()
        return bounds[0], bounds[1]

    feedback = _check("11.1", interval_layer)
    assert not feedback.passed
    assert "changes its argument `low` in place" in feedback.message


def test_right_functions_still_pass_on_copies():
    assert _check("2.2", lesson02._fgsm_reference).passed
    assert _check("10.1", lesson10._with_robviz).passed


@pytest.mark.parametrize(
    "output, words",
    [
        ([[1.0, 2.0], [3.0]], "value of type list, not an array of numbers"),
        (np.array(["a", "b"]), "value of type ndarray, not an array of numbers"),
        ("0.5", "value of type str"),
        (torch.tensor(0.5 + 1j), "complex tensor"),
    ],
)
def test_an_output_that_is_not_numbers_gets_feedback_not_a_traceback(output, words):
    feedback = _check("2.4", lambda robust: output)
    assert not feedback.passed and words in feedback.message


@pytest.mark.parametrize("output", ["abc", [[1.0, 2.0], [3.0]], {}])
def test_simplex_centers_that_are_not_numbers_get_feedback_not_a_traceback(output):
    feedback = _check("3.2", lambda L, d, C: output)
    assert not feedback.passed
    assert "Your function returns a value of type" in feedback.message
    assert "(for L=3, d=2)" in feedback.message


def test_a_nan_output_is_named_as_nan():
    feedback = _check("2.4", lambda robust: float("nan"))
    assert not feedback.passed
    assert "NaN or inf at 1 of 1 entries" in feedback.message
    assert "by up to nan" not in feedback.message


def test_a_function_that_prints_prints_once_per_input_not_once_per_known_mistake():
    calls = []

    def noisy(robust):
        calls.append(1)
        print("debug")
        return 0.3  # wrong, and none of the known mistakes

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        feedback = _check("2.4", noisy)
    assert not feedback.passed
    # the first input already fails; the mistakes are matched silently
    assert out.getvalue().count("debug") == 1
    assert len(calls) > 1


@pytest.mark.parametrize("seed", [1.5, True, -1, "1"])
def test_a_seed_that_is_not_a_non_negative_integer_is_refused_naming_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        exercises.check("2.4", lambda robust: 0.5, seed=seed, strict=False)


def test_numpy_integer_seeds_are_seeds():
    right = lambda robust: robust.all(dim=0).double().mean().item()  # noqa: E731
    assert _check("2.4", right, seed=np.int64(1)).passed


@pytest.mark.parametrize("wrong", ["one step less", "one step more", "step of eps"])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_pgd_with_another_number_of_steps_or_step_size_is_wrong_on_every_seed(wrong, seed):
    # seed 2's cases all reach the same corner of the ball after 3 steps: they alone passed these
    def pgd(model, x, y, eps, alpha, steps, bounds):
        if wrong == "step of eps":
            alpha = eps
        else:
            steps += -1 if wrong == "one step less" else 1
        return lesson02._pgd_reference(model, x, y, eps, alpha, steps, bounds)

    assert not _check("2.3", pgd, seed=seed).passed
    assert _check("2.3", lesson02._pgd_reference, seed=seed).passed


def test_a_choice_answered_with_an_array_of_several_options_is_not_a_traceback():
    feedback = _check("1.1", np.array(["a point", "a line"]))
    assert not feedback.passed and "is not one of the options" in feedback.message


def test_a_number_past_floats_range_is_not_a_traceback():
    feedback = _check("3.1", 10**400)
    assert not feedback.passed and "Expected a number" in feedback.message


def test_a_function_where_a_number_is_asked_for_is_told_to_call_it():
    feedback = _check("3.1", lambda: 9)
    assert not feedback.passed and "got a function" in feedback.message


def test_a_function_that_raises_is_shown_the_line_of_its_own_code_that_raised():
    def worst_case(robust):
        share = robust.all(dim=0).double().mean()
        return share[3]  # a 0-d tensor has no index 3

    feedback = _check("2.4", worst_case)
    assert not feedback.passed
    assert "Your function raised IndexError" in feedback.message
    # the student's line, not one of torch's or robviz's
    line = worst_case.__code__.co_firstlineno + 2
    assert feedback.message.endswith(
        f"(line {line}: `return share[3]  # a 0-d tensor has no index 3`)"
    )


def test_an_error_inside_torch_points_at_the_students_call():
    def worst_case(robust):
        return robust.double() @ torch.ones(robust.shape[0] + 1)

    feedback = _check("2.4", worst_case)
    assert "RuntimeError" in feedback.message
    assert "`return robust.double() @ torch.ones(robust.shape[0] + 1)`" in feedback.message
