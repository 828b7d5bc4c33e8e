"""A model with one output per input is refused, naming the model, by every entry that classifies.

Argmax over a single logit (a binary classifier's, shape (N, 1)) is class 0 for every input: before,
robust_accuracy gave such a model 100 % on label-0 points under every attack, and the attacks never
succeeded; an output of shape (N,) raised an IndexError from deep inside.
"""

import pytest
import torch
from test_edges import ATTACK_CLASSES, fast_attack

from robviz import exact, masking
from robviz.attacks import auto_attack, least_likely, robust_accuracy
from robviz.attacks.evaluate import clean_row
from robviz.detect import confidence, detection_pairs, non_max_entropy_score
from robviz.mixup_inference import MixupInference, mixing_effect

BOUNDS = (-3.0, 3.0)


class OneLogit(torch.nn.Module):
    """A linear binary classifier on 2-D inputs with one output, (N, 1) or flattened to (N,)."""

    def __init__(self, flat=False):
        super().__init__()
        self.linear, self.flat = torch.nn.Linear(2, 1), flat

    def forward(self, x):
        z = self.linear(x)
        return z[:, 0] if self.flat else z


def points():
    torch.manual_seed(0)
    return torch.rand(6, 2) * 2 - 1, torch.zeros(6, dtype=torch.long)  # label 0: argmax's class


REFUSED = r"model must return class logits of shape \(N, L\) with L >= 2"


@pytest.mark.parametrize("flat", [False, True], ids=["(N,1)", "(N,)"])
@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_every_attack_refuses_a_single_logit_model(name, flat):
    x, y = points()
    attack = fast_attack(name, OneLogit(flat), BOUNDS)
    with pytest.raises(ValueError, match=REFUSED):
        attack.run(x, y)


ENTRIES = {
    "robust_accuracy": lambda m, x, y: robust_accuracy(m, x, y, bounds=BOUNDS, progress=False),
    "clean_row": lambda m, x, y: clean_row(m, x, y, "m"),
    "least_likely": lambda m, x, y: least_likely(m, x),
    "auto_attack": lambda m, x, y: auto_attack(
        m, x, y, 0.1, bounds=BOUNDS, steps=2, progress=False
    ),
    "confidence": lambda m, x, y: confidence(m, x),
    "non_max_entropy_score": lambda m, x, y: non_max_entropy_score(m, x),
    "accuracy_vs_eps": lambda m, x, y: masking.accuracy_vs_eps(m, x, y, [0.1], bounds=BOUNDS),
    "gradient_direction": lambda m, x, y: masking.gradient_direction(m, x, y),
    "loss_along_direction": lambda m, x, y: masking.loss_along_direction(m, x, y),
    "MixupInference": lambda m, x, y: MixupInference(m, x, torch.tensor([0, 1] * 3)),
    "mixing_effect": lambda m, x, y: mixing_effect(m, x, x, y, x, torch.tensor([0, 1] * 3)),
}


@pytest.mark.parametrize("flat", [False, True], ids=["(N,1)", "(N,)"])
@pytest.mark.parametrize("entry", ENTRIES)
def test_every_entry_that_classifies_refuses_a_single_logit_model(entry, flat):
    x, y = points()
    with pytest.raises(ValueError, match=REFUSED):
        ENTRIES[entry](OneLogit(flat), x, y)


EXACT = {
    "robust_accuracy": lambda m, x, y: exact.robust_accuracy(m, x, y, 0.1, bounds=BOUNDS),
    "minimal_distance": lambda m, x, y: exact.minimal_distance(m, x, y, bounds=BOUNDS),
    "grid_minimal_distance": lambda m, x, y: exact.grid_minimal_distance(
        m, x, y, bounds=BOUNDS, resolution=20
    ),
}


@pytest.mark.parametrize("entry", EXACT)
def test_exact_refuses_a_single_logit_network(entry):
    # a network robviz.exact reads (a stack of layers) with one output per input
    x, y = points()
    with pytest.raises(ValueError, match=REFUSED):
        EXACT[entry](torch.nn.Sequential(torch.nn.Linear(2, 1)), x, y)


def test_the_grid_refuses_an_output_without_a_class_axis():
    x, y = points()
    with pytest.raises(ValueError, match=REFUSED):
        EXACT["grid_minimal_distance"](OneLogit(flat=True), x, y)


def test_detection_pairs_refuse_a_single_logit_model():
    x, y = points()
    two = torch.nn.Linear(2, 2)
    result = fast_attack("PGD", two, BOUNDS).run(x, y)
    with pytest.raises(ValueError, match=REFUSED):
        detection_pairs(OneLogit(), x, y, result)


def test_two_logits_built_from_one_are_accepted_and_agree_with_the_sign():
    # the error's advice: [0, z] has softmax (1 - sigmoid(z), sigmoid(z)), argmax 1 where z > 0
    one = OneLogit()

    class Two(torch.nn.Module):
        def forward(self, x):
            z = one(x)
            return torch.cat([torch.zeros_like(z), z], dim=1)

    x, _ = points()
    y = (one(x)[:, 0] > 0).long()
    table = robust_accuracy(Two(), x, y, bounds=BOUNDS, progress=False)
    assert table.get("clean") == 1.0


def test_least_likely_runs_a_model_left_in_train_mode_in_eval_mode():
    # before: each call updated the BatchNorm statistics and drew dropout, another target each time
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3)
    ).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(16, 2)
    first = least_likely(model, x)
    assert torch.equal(first, least_likely(model, x)) and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(first, model.eval()(x).argmin(dim=1))
