"""robust_accuracy and RobustnessTable refuse, before any attack runs, what cannot make a table."""

import math

import numpy as np
import pytest
import torch

from robviz.attacks import PGD, RobustnessTable, robust_accuracy

BOUNDS = (-3.0, 3.0)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x, y = torch.rand(8, 2) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return model, x, y


class Counting(PGD):
    """PGD that counts its runs: a refused call must run none."""

    runs = 0

    def run(self, *args, **kwargs):
        Counting.runs += 1
        return super().run(*args, **kwargs)


def attacks_of(model):
    Counting.runs = 0
    return {"PGD": Counting(model, eps=0.1, steps=2, bounds=BOUNDS)}


@pytest.mark.parametrize(
    "eps_list, match",
    [
        ([0.25, 0.25], r"eps_list repeats the radius 0.25"),
        ([0.25, 0.25 + 1e-12], r"eps_list repeats the radius 0.25"),  # one column, "PGD 0.25"
        ([8 / 255, 16 / 255, 8 / 255], r"eps_list repeats the radius 8/255"),
        ([0.25, math.nan], r"eps_list must be a finite number >= 0, got nan"),
        ([-0.1], r"eps_list must be a finite number >= 0"),
        ([], r"eps_list is empty"),
    ],
)
def test_radii_that_cannot_make_one_column_each_are_refused_before_any_attack(
    setup, eps_list, match
):
    # before, a repeated radius ran every attack twice, then failed on "give each model its own
    # name"
    model, x, y = setup
    attacks = attacks_of(model)
    with pytest.raises(ValueError, match=match):
        robust_accuracy(model, x, y, attacks, eps_list=eps_list, progress=False)
    assert Counting.runs == 0


@pytest.mark.parametrize("eps_list", [0.25, "0.25", torch.tensor(0.25)])
def test_a_single_radius_is_refused_as_not_a_sequence(setup, eps_list):
    model, x, y = setup
    with pytest.raises(TypeError, match=r"eps_list must be a sequence of radii, e.g. \[8/255"):
        robust_accuracy(model, x, y, attacks_of(model), eps_list=eps_list, progress=False)


def test_radii_as_arrays_and_tensors_make_the_same_table(setup):
    model, x, y = setup
    tables = [
        robust_accuracy(model, x, y, attacks_of(model), eps_list=radii, progress=False)
        for radii in ([0.25, 0.5], np.array([0.25, 0.5]), torch.tensor([0.25, 0.5]))
    ]
    assert all(t.columns == ["clean", "PGD 0.25", "PGD 0.5"] for t in tables)
    assert len({tuple(r["accuracy"] for r in t.rows) for t in tables}) == 1


@pytest.mark.parametrize(
    "attacks, error, match",
    [
        (lambda m: [PGD(m, bounds=BOUNDS)], TypeError, "attacks must be a mapping"),
        (lambda m: {"f": lambda x, y: x}, TypeError, r"attacks\['f'\] must be a robviz Attack"),
        (lambda m: {"clean": PGD(m, bounds=BOUNDS)}, ValueError, "other than 'clean'"),
        (lambda m: {"": PGD(m, bounds=BOUNDS)}, ValueError, "non-empty strings"),
        (lambda m: {3: PGD(m, bounds=BOUNDS)}, ValueError, "non-empty strings"),
    ],
)
def test_attacks_that_cannot_label_a_column_are_refused(setup, attacks, error, match):
    model, x, y = setup
    with pytest.raises(error, match=match):
        robust_accuracy(model, x, y, attacks(model), progress=False)


def test_an_unknown_kind_is_refused_even_with_own_attacks(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="unknown kind 'audio'"):
        robust_accuracy(model, x, y, attacks_of(model), kind="audio", progress=False)


def test_the_table_refuses_bad_digits_labels_and_operands(setup):
    model, x, y = setup
    table = robust_accuracy(model, x, y, attacks_of(model), eps_list=[0.25], progress=False)
    for digits in (-1, 2.5, "2"):
        with pytest.raises(ValueError, match="digits must be an integer >= 0"):
            table.to_markdown(digits=digits)
    assert table.to_markdown(digits=np.int64(0)).splitlines()[2].count("|") == 4
    for label in ("", "  ", 3, None):
        # before, "" made a column "0.25" and 3 a column "3 0.25"
        with pytest.raises(ValueError, match="label must be a non-empty string"):
            table.with_worst_case(label=label)
    with pytest.raises(TypeError, match="unsupported operand"):
        table + 3
    assert (RobustnessTable() + table).rows == table.rows
