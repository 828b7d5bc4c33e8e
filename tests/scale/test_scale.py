"""robviz.scale: adversarial training draws its examples with robviz.attacks.PGD.

One PGD in the package.
"""

import pytest
import torch

from robviz import scale
from robviz.attacks import PGD, paper_objective
from robviz.scale.cifar import to_float
from robviz.scale.recipes import get_recipe
from robviz.scale.resnet import make_cifar_model


@pytest.mark.parametrize("objective", ["sce", "mmc"])
@pytest.mark.parametrize("adversarial", ["untargeted", "targeted"])
def test_adversarial_training_gives_the_examples_of_the_attack(objective, adversarial):
    """For a fixed seed on one process, the training path's examples are PGD(seed=s).run's exactly.

    Bit for bit: the same random targets, the same random start, the same projected steps with the
    papers' objective.
    """
    torch.manual_seed(0)
    model = make_cifar_model("resnet8", objective, width=4)
    data = scale.synthetic_images(12, 1, seed=3)
    x, y = to_float(data.x_train), data.y_train
    recipe = get_recipe("fast", objective, adversarial=adversarial)
    attack = scale.training_attack(model, recipe)
    assert type(attack) is PGD and attack.targeted == (adversarial == "targeted")
    model.train()
    ours = scale.adversarial_examples(attack, x, y, torch.Generator().manual_seed(7))
    assert model.training  # the mode comes back
    reference = PGD(
        model,
        eps=recipe.at_eps,
        alpha=recipe.at_alpha,
        steps=recipe.at_steps,
        random_start=True,
        targeted=adversarial == "targeted",
        seed=7,
        loss=paper_objective(model),
    ).run(x, y)
    assert torch.equal(ours, reference.x_adv)
    assert (ours - x).abs().max() <= recipe.at_eps + 1e-6 and not torch.equal(ours, x)


def test_data_parallel_ranks_slice_one_global_draw():
    """Two ranks with one generator state get the halves of what one process draws for the batch.

    Data-parallel adversarial training starts from the starts of a single process.
    """
    torch.manual_seed(0)
    model = make_cifar_model("resnet8", "sce", width=4)
    x, y = to_float(scale.synthetic_images(8, 1).x_train), torch.arange(8) % 10
    attack = scale.training_attack(model, get_recipe("fast", "sce", adversarial="targeted"))
    attack.steps = 0  # the random start alone
    whole = scale.adversarial_examples(attack, x, y, torch.Generator().manual_seed(1))
    halves = [
        scale.adversarial_examples(
            attack,
            x[r * 4 : (r + 1) * 4],
            y[r * 4 : (r + 1) * 4],
            torch.Generator().manual_seed(1),
            rank=r,
            world=2,
        )
        for r in (0, 1)
    ]
    assert torch.equal(torch.cat(halves), whole)
    # not trivially: the start moved the inputs (up to eps), and rank 1 without its rank would
    # draw rank 0's start instead of the second half of the global draw
    assert not torch.equal(whole, x) and (whole - x).abs().max() <= attack.eps + 1e-6
    alone = scale.adversarial_examples(attack, x[4:], y[4:], torch.Generator().manual_seed(1))
    assert not torch.equal(alone, whole[4:])


def test_the_old_training_pgd_is_gone():
    import robviz.cli
    import robviz.scale.loop

    assert not hasattr(robviz.cli, "_pgd_examples") and not hasattr(
        robviz.scale.loop, "_pgd_examples"
    )


def test_random_radius_and_predicted_labels():
    """The ADP code's adversarial training: eps ~ U(0.01, 0.05) once per batch, the step eps / 10.

    The attack is aimed at the model's clean predictions.
    """
    torch.manual_seed(0)
    model = make_cifar_model(
        "resnet8", "sce", width=4
    ).eval()  # predictions as the attack sees them
    x = to_float(scale.synthetic_images(8, 1).x_train)
    y = (model.predict(x) + 1) % 10  # never the prediction
    recipe = get_recipe(
        "fast", "sce", adversarial="untargeted", at_eps=0.01, at_alpha=0.001, at_eps_max=0.05
    )
    attack = scale.training_attack(model, recipe)
    radii = []
    for seed in range(20):
        u = float(torch.rand((), generator=torch.Generator().manual_seed(seed)))
        x_adv = scale.adversarial_examples(
            attack, x, y, torch.Generator().manual_seed(seed), eps_max=0.05
        )
        eps = 0.01 + 0.04 * u
        assert (x_adv - x).abs().max() <= eps + 1e-6
        radii.append((x_adv - x).abs().max().item())
    assert min(radii) < 0.025 and max(radii) > 0.035 and (attack.eps, attack.alpha) == (0.01, 0.001)
    g = torch.Generator().manual_seed(3)
    predicted = scale.adversarial_examples(attack, x, y, g, labels="predicted")
    by_hand = scale.adversarial_examples(
        attack, x, model.predict(x), torch.Generator().manual_seed(3)
    )
    assert torch.equal(predicted, by_hand)
    assert not torch.equal(
        predicted, scale.adversarial_examples(attack, x, y, torch.Generator().manual_seed(3))
    )


def test_get_recipe_names_an_unknown_setting_and_the_closest_one():
    with pytest.raises(
        ValueError, match=r"unknown recipe setting\(s\) 'epoch' \(did you mean 'epochs'\?\)"
    ):
        get_recipe("fast", "sce", epoch=3)


def test_each_epoch_records_the_learning_rate_its_last_step_used(tmp_path):
    """The record held the next step's rate: 0.0 for the last epoch of a one-cycle run."""
    from robviz.scale import TINY, TrainRun, train
    from robviz.scale.recipes import lr_factor

    run = dict(TINY, train_size=64, test_size=32, epochs=2, threads=1, progress=False)
    results = train(dict(run, out=str(tmp_path)))
    recipe = TrainRun.from_dict(run).get_recipe()
    assert recipe.schedule == "onecycle"
    steps_per_epoch = 64 // recipe.batch_size
    for epoch, record in enumerate(results["history"], start=1):
        last = epoch * steps_per_epoch - 1
        assert record["lr"] == pytest.approx(recipe.lr * lr_factor(recipe, last, steps_per_epoch))
    assert results["history"][-1]["lr"] > 0
