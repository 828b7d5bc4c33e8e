"""Lesson 7's self-checks: the solution passes, each known mistake gets its own hint."""

import pytest
import torch

from robviz import exercises


def mi_predict(model, x, partners, lam):
    mixed = lam * x[:, None] + (1 - lam) * partners
    probs = model(mixed.flatten(0, 1)).softmax(dim=1)
    return probs.reshape(len(x), -1, probs.shape[1]).mean(dim=1)


def test_mi_prediction_solution_passes():
    assert exercises.check("7.1", mi_predict)


def test_mi_prediction_written_with_a_loop_passes():
    def looped(model, x, partners, lam):
        return torch.stack(
            [
                model(lam * x + (1 - lam) * partners[:, k]).softmax(dim=1)
                for k in range(partners.shape[1])
            ]
        ).mean(dim=0)

    assert exercises.check("7.1", looped)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda m, x, p, lam: mi_predict(m, x, p, 1 - lam), "weighs the *input*"),
        (
            lambda m, x, p, lam: m(lam * x[:, None] + (1 - lam) * p).mean(dim=1).softmax(dim=1),
            "not the logits",
        ),
        (
            lambda m, x, p, lam: (
                m(lam * x[:, None] + (1 - lam) * p).log_softmax(dim=-1).mean(dim=1).exp()
            ),
            "geometric mean",
        ),
        (
            lambda m, x, p, lam: m(lam * x + (1 - lam) * p.mean(dim=1)).softmax(dim=1),
            "mean of the partners",
        ),
        (lambda m, x, p, lam: mi_predict(m, x, p, lam).log(), "log only"),
    ],
)
def test_mi_prediction_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("7.1", wrong)
    assert not feedback and keyword in feedback.message


def test_mi_prediction_other_errors_get_the_general_hint(lenient):
    no_softmax = exercises.check(
        "7.1", lambda m, x, p, lam: m(lam * x[:, None] + (1 - lam) * p).mean(dim=1)
    )
    assert not no_softmax and "softmax of each" in no_softmax.message
    unfinished = exercises.check("7.1", lambda m, x, p, lam: ...)
    assert not unfinished.answered


def test_perturbation_after_mixing(lenient):
    assert exercises.check("7.2", 0.6 * 0.5)
    assert exercises.check("7.2", torch.tensor(0.3))
    for value, keyword in [
        (0.2, "partner's weight"),
        (0.5, "does shrink"),
        (0.25, "lambda = 0.5"),
        (0.5 / 0.6, "does not divide"),
    ]:
        feedback = exercises.check("7.2", value)
        assert not feedback and keyword in feedback.message
    assert "too small" in exercises.check("7.2", 0.01).message


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv(exercises.STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="Exercise 7.2"):
        exercises.check("7.2", 0.2)
