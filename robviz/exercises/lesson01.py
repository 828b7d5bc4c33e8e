"""Self-checks for lesson 1, "SCE vs MMC vs RCE in a 2-D feature space"."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..objectives import rce_loss
from . import Mistake, exercise, expect_choice, expect_function


@exercise("1.1", "Why RCE loses a class with 4 classes in 2-D")
def where_three_linear_functions_agree(answer: object) -> tuple[bool, str]:
    """Where three generic affine functions of a 2-D feature z are equal: at a point.

    Parameters
    ----------
    answer : str
        Your choice: ``"a point"``, ``"a line"``, ``"everywhere"`` or ``"nowhere"``.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_choice(
        answer,
        "a point",
        {
            "a line": "One equation h_i(z) = h_j(z) holds on a line. Equal *three* logits needs "
            "two such equations, "
            "h_1 = h_2 and h_2 = h_3: two lines in a plane, which meet in one point.",
            "everywhere": "Only if the three weight vectors and biases were identical, and then "
            "the head could not "
            "tell those classes apart at all. Count the equations: h_1 = h_2 and h_2 = h_3.",
            "nowhere": "Two non-parallel lines in a plane always meet. Write h_1 = h_2 and h_2 = "
            "h_3 as two linear "
            "equations in the two coordinates of z.",
        },
        why="Two equations (h_1 = h_2, h_2 = h_3) in two unknowns: one point. RCE wants the three "
        "non-true logits "
        "equal on all the features of a class; with 4 classes in 2-D that can hold only near a "
        "single point, so "
        "at least one class cannot be fitted. With d >= L - 1 feature dimensions the set is a line "
        "or more.",
    )


def _cross_entropy(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(h, y)


def _reverse_without_normalization(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    reverse = 1.0 - F.one_hot(y, h.shape[1]).to(h.dtype)
    return -(reverse * F.log_softmax(h, dim=1)).sum(dim=1).mean()


def _reverse_averaged_over_classes(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # `.mean(dim=1)` divides by all L classes, the true one included
    reverse = 1.0 - F.one_hot(y, h.shape[1]).to(h.dtype)
    return -(reverse * F.log_softmax(h, dim=1)).mean(dim=1).mean()


def _complement_of_true_class(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -torch.log1p(-F.softmax(h, dim=1).gather(1, y[:, None])).mean()


def _reverse_summed_over_batch(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return rce_loss(h, y) * len(h)


def _reverse_on_negated_logits(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return rce_loss(-h, y)


@exercise("1.2", "Write the RCE loss")
def write_rce_loss(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``rce(h, y)`` against robviz.objectives.rce_loss on random logits.

    The logits have 3 to 10 classes.

    Parameters
    ----------
    answer : callable
        Your function ``rce(h, y)``: logits h (N, L) and integer labels y (N,) in, the loss (a
        scalar tensor) out.
    seed : int, default 0
        0 is the visible check; another seed draws other logits and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    generator = torch.Generator().manual_seed(1 + 100 * seed)
    inputs = []
    for n, classes in [(6, 3), (8, 4), (5, 10)] + [(2 + seed, 6 + seed)] * (seed > 0):
        h = torch.randn(n, classes, generator=generator, dtype=torch.float64) * 2
        y = torch.randint(0, classes, (n,), generator=generator)
        inputs.append((h, y))
    return expect_function(
        answer,
        rce_loss,
        inputs,
        mistakes=[
            Mistake(
                _cross_entropy,
                "That is the ordinary cross-entropy with the one-hot label. RCE uses the "
                "*reverse* label R_y = (1 - onehot_y) / (L - 1): every class except y.",
            ),
            Mistake(
                _reverse_without_normalization,
                "The reverse label must be a probability vector: divide "
                "1 - onehot_y by L - 1, so that its entries sum to 1.",
            ),
            Mistake(
                _reverse_averaged_over_classes,
                "You divide by L (a mean over all L classes); the reverse label spreads its mass "
                "over the L - 1 classes other than y: divide 1 - onehot_y by L - 1, then *sum* "
                "over the classes.",
            ),
            Mistake(
                _complement_of_true_class,
                "That is -log(1 - softmax(h)_y), which only pushes the true class down. RCE "
                "matches the whole reverse label: -1/(L-1) times the sum of log softmax(h)_k "
                "over the classes k != y.",
            ),
            Mistake(
                _reverse_summed_over_batch,
                "Average over the batch (`.mean()`), don't sum: the loss must not "
                "grow with the batch size.",
            ),
            Mistake(
                _reverse_on_negated_logits,
                "Train on softmax(h) itself: the logits are negated only for the "
                "*prediction*, after training.",
            ),
        ],
        hint="Build R_y = (1 - one_hot(y, L)) / (L - 1), take -(R_y * log_softmax(h)).sum(dim=1) "
        "per sample and "
        "average over the batch.",
    )
