"""Self-checks for lesson 9, "ResNets at scale"."""

from __future__ import annotations

from ..scale.recipes import get_recipe, lr_factor
from . import Mistake, exercise, expect_function, expect_number

_EPOCHS = (0, 1, 50, 99, 100, 101, 149, 150, 151, 199)


def _paper_lr(epoch: int) -> float:
    recipe = get_recipe("paper", "mmc")
    return recipe.lr * lr_factor(recipe, epoch, 1)  # one step per epoch: the schedule is per epoch


@exercise("9.1", "The paper recipe's learning rate")
def paper_learning_rate(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``paper_lr(epoch)`` (0-based) against the paper recipe's step schedule.

    On ten epochs around the milestones.

    Parameters
    ----------
    answer : callable
        Your function ``paper_lr(epoch)``: the 0-based epoch in, the learning rate out.
    seed : int, default 0
        0 is the visible check; another seed checks every epoch (the hidden tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    epochs = _EPOCHS if seed == 0 else range(200)
    return expect_function(
        answer,
        _paper_lr,
        [(epoch,) for epoch in epochs],
        mistakes=[
            Mistake(
                lambda e: 0.01 * 0.1 ** ((e > 100) + (e > 150)),
                "The decay starts with epoch 100 (0-based): `epoch >= 100`, not `epoch > 100`.",
            ),
            Mistake(
                lambda e: 0.1 ** ((e >= 100) + (e >= 150)),
                "That is the multiplier only: the recipe starts from lr = 0.01.",
            ),
            Mistake(
                lambda e: 0.01 * (1.0 if e < 100 else 0.1 if e < 150 else 0.001),
                '"x0.01 after epoch 150" is relative to the initial rate: 0.01 x 0.01 = 1e-4, not '
                "1e-5.",
            ),
            Mistake(
                lambda e: 0.01 * (0.1 if e >= 100 else 1.0),
                "There is a second decay, x0.1 again at epoch 150.",
            ),
        ],
        hint="lr(epoch) = 0.01 x 0.1^(number of milestones 100, 150 that epoch has reached).",
    )


@exercise("9.2", "Steps of the paper recipe")
def paper_steps(answer: object) -> tuple[bool, str]:
    """SGD steps of the paper recipe on CIFAR-10: 200 epochs x 50 000 images / batch 50.

    Parameters
    ----------
    answer : int
        Your number of SGD steps, a whole number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_number(
        answer,
        200 * 50_000 / 50,
        rtol=0,
        atol=0.5,
        mistakes=[
            (50_000 / 50, "That is one epoch: the recipe runs 200 of them."),
            (200 * 50_000, "That counts images, not steps: each step takes a batch of 50."),
            (
                200 * 60_000 / 50,
                "CIFAR-10 trains on its 50 000 training images only; the 10 000 test images are "
                "never trained on.",
            ),
            (200 * 50_000 / 128, "The paper recipe uses batch 50 (128 is the benchmark's batch)."),
        ],
        hint="steps = epochs x (training images / batch size).",
    )
