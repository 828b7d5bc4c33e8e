"""Tests of robviz.attacks.evaluate: the talk's battery and the robust-accuracy table."""

import math

import pytest
import torch
from test_edges import ATTACK_CLASSES, fast_attack, trained

from robviz.attacks import (
    CW,
    PGD,
    TALK_EPS,
    DeepFool,
    RobustnessTable,
    robust_accuracy,
    talk_battery,
)


@pytest.fixture(scope="module")
def toy(trained_blobs):
    return trained_blobs(3)


def test_talk_battery_has_the_papers_settings():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    battery = talk_battery(model, "images")
    assert list(battery) == ["PGD10-tar", "PGD10-un", "PGD50-tar", "PGD50-un"]
    for name, attack in battery.items():
        assert isinstance(attack, PGD) and attack.random_start and attack.norm == "Linf"
        assert math.isclose(attack.eps, 8 / 255) and math.isclose(attack.alpha, 2 / 255)
        assert attack.steps == int(name[3:5]) and attack.targeted == name.endswith("tar")
        assert attack.bounds == (0.0, 1.0)
    assert TALK_EPS["images"] == (8 / 255, 16 / 255)
    with pytest.raises(ValueError, match="bounds=data.bounds"):
        talk_battery(model, "toy")
    with pytest.raises(ValueError, match="kind must be one of"):
        talk_battery(model, "audio")
    # the paper's protocol: the MMC loss on MMC models, although every attack's default there is the
    # margin
    from robviz.data import gaussian_mixture
    from robviz.models import make_model

    data = gaussian_mixture(num_classes=3, n_per_class=10)
    mmc = make_model(data, "mmc")
    assert all(
        a.loss.__name__ == "mmc_objective" for a in talk_battery(mmc, "toy", data.bounds).values()
    )
    assert PGD(mmc, bounds=data.bounds).loss.__name__ == "margin_objective"


def test_robust_accuracy_fills_the_talks_table(toy):
    data, model = toy
    x, y = data.x_test, data.y_test
    table = robust_accuracy(model, x, y, bounds=data.bounds, progress=False)
    assert len(table) == 1 + 2 * 4
    assert table.columns == ["clean"] + [
        f"PGD{s}-{m} {e:g}" for e in TALK_EPS["toy"] for s in (10, 50) for m in ("tar", "un")
    ]
    clean = table.get("clean")
    assert clean == (model(x).argmax(1) == y).float().mean().item()
    for row in table.rows[1:]:
        assert 0 <= row["accuracy"] <= clean and row["n"] == len(x)
    # a wider radius never helps the model (up to the randomness of the start)
    assert table.get("PGD50-un", 0.5) <= table.get("PGD50-un", 0.25) + 0.05
    assert table.get("PGD50-un", 0.5) < clean  # the undefended model loses points at 0.5
    # the untargeted column is the accuracy under the same attack run by hand
    again = PGD(model, eps=0.25, alpha=0.0625, steps=10, bounds=data.bounds).run(x, y)
    correct = model(x).argmax(1) == y
    assert table.get("PGD10-un", 0.25) == (correct & (again.prediction == y)).float().mean().item()
    text = table.to_markdown()
    assert text.splitlines()[0].startswith("| model | clean | PGD10-tar 0.25 |")
    assert text.splitlines()[2].startswith(f"| sce | {100 * clean:.1f} |")
    assert repr(table) == text and table._repr_markdown_() == text
    models, columns, values = table.pivot()
    assert (
        models == ["sce"]
        and columns == table.columns
        and values[0][0] == pytest.approx(100 * clean)
    )


def test_robust_accuracy_with_own_attacks_and_radii(toy):
    data, model = toy
    x, y = data.x_test[:30], data.y_test[:30]
    attacks = {
        "PGD": PGD(model, eps=0.1, bounds=data.bounds),
        "DeepFool": DeepFool(model, bounds=data.bounds),
        "CW": CW(model, steps=30, binary_steps=3, bounds=data.bounds),
    }
    table = robust_accuracy(
        model, x, y, attacks, eps_list=[0.25, 0.5, 1.0], name="SCE", progress=False
    )
    assert table.columns == ["clean", "PGD 0.25", "DeepFool", "CW", "PGD 0.5", "PGD 1"]
    assert table.get("DeepFool") == 0.0  # minimal-perturbation attacks always succeed...
    assert 0 < table.get("DeepFool", value="distance") < 3  # ...and report how far they had to go
    own = robust_accuracy(model, x, y, {"PGD": attacks["PGD"]}, name="SCE", progress=False)
    assert own.columns == ["clean", "PGD 0.1"]  # without eps_list, each attack's own radius
    both = table + robust_accuracy(
        model, x, y, {"PGD": attacks["PGD"]}, eps_list=[0.5], name="other", progress=False
    )
    assert both.models == ["SCE", "other"]
    with pytest.raises(ValueError, match="several models"):
        both.get("clean")
    assert both.get("PGD", 0.5, model="other") == both.get("PGD", 0.5, model="SCE")
    assert "| other |" in both.to_markdown() and "distance" not in both.to_markdown()
    with pytest.raises(KeyError, match="no row"):
        table.get("PGD", 0.75)


def test_robust_accuracy_infers_images_and_formats_fractions_of_255():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x, y = torch.rand(12, 1, 4, 4), torch.randint(0, 3, (12,))
    table = robust_accuracy(model, x, y, progress=False)
    assert "PGD10-tar 8/255" in table.columns and "PGD50-un 16/255" in table.columns
    assert isinstance(table, RobustnessTable) and table.models == ["Sequential"]
    assert repr(RobustnessTable()) == "RobustnessTable(rows=[])"


# ------------------------------------------- an attack built on another model: judged by the model


def _surrogate(data, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, data.num_classes)
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_an_attack_on_another_model_is_judged_by_the_model_of_the_row(name):
    # The row read the surrogate's predictions: robust_accuracy(mmc, x, y, {"PGD": PGD(sce)}) gave
    # MMC's clean accuracy combined with SCE's robustness, a number of neither model, before
    data, model = trained(3, torch.float32)
    model.eval()
    surrogate = _surrogate(data, seed=1)
    x, y = data.x_test[:30], data.y_test[:30]
    attack = fast_attack(name, surrogate, data.bounds)
    x_adv = fast_attack(name, surrogate, data.bounds).run(x, y).x_adv  # seeded: the same examples
    with torch.no_grad():
        expected = (model(x).argmax(1) == y) & (model(x_adv).argmax(1) == y)
    table = robust_accuracy(model, x, y, {name: attack}, progress=False)
    row = table.rows[1]
    assert torch.equal(row["robust"], expected)
    assert row["accuracy"] == pytest.approx(expected.float().mean().item())


def test_an_attack_on_the_model_itself_keeps_its_own_predictions(toy):
    data, model = toy
    x, y = data.x_test[:20], data.y_test[:20]
    attack = PGD(model, eps=0.5, steps=3, bounds=data.bounds)
    result = PGD(model, eps=0.5, steps=3, bounds=data.bounds).run(x, y)
    table = robust_accuracy(model, x, y, {"PGD": attack}, progress=False)
    correct = table.rows[0]["robust"]
    assert torch.equal(table.rows[1]["robust"], correct & (result.prediction == y))
