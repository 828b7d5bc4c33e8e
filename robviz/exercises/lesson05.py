"""Self-checks for lesson 5, "Reverse cross-entropy and the detection of adversarial examples"."""

from __future__ import annotations

import numpy as np
import torch

from ..detect import non_max_entropy, roc_auc
from . import Mistake, exercise, expect_choice, expect_function, expect_number


def _entropy(p: torch.Tensor) -> torch.Tensor:
    # xlogy: 0 log 0 = 0, so the known mistakes are recognized on rows with zeros too
    return -torch.special.xlogy(p, p).sum(dim=1)


def _without_max(p: torch.Tensor) -> torch.Tensor:
    return p.scatter(1, p.argmax(dim=1, keepdim=True), 0.0)


@exercise("5.1", "Write the non-maximal entropy")
def write_non_max_entropy(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``non_me(probabilities)`` against robviz.detect.non_max_entropy.

    On softmax outputs of random logits, from flat to confident, with L = 3, 5 and 10 classes, and
    on rows with probabilities of exactly 0.

    Parameters
    ----------
    answer : callable
        Your function ``non_me(probabilities)``: probabilities (N, L) in, the non-maximal entropy
        (N,) out.
    seed : int, default 0
        0 is the visible check; another seed draws other logits and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    generator = torch.Generator().manual_seed(5 + 100 * seed)
    inputs = []
    for n, classes, scale in [(8, 3, 1.0), (12, 5, 3.0), (6, 10, 6.0), (1, 4, 2.0)] + [
        (5, 6 + seed, 4.0)
    ] * (seed > 0):
        logits = torch.randn(n, classes, generator=generator, dtype=torch.float64) * scale
        inputs.append((torch.softmax(logits, dim=1),))
    # Probabilities of exactly 0, as a confident float32 softmax gives (the lesson's own RCE
    # model): 0 log 0 = 0, never NaN.
    inputs.append(
        (torch.tensor([[0.9, 0.1, 0.0, 0.0], [0.5, 0.3, 0.2, 0.0]], dtype=torch.float64),)
    )
    return expect_function(
        answer,
        non_max_entropy,
        inputs,
        mistakes=[
            Mistake(
                _entropy,
                "That is the entropy of the whole prediction. Non-ME leaves out the predicted "
                "class "
                "ŷ = argmax F: it measures how evenly the *other* classes share the rest.",
            ),
            Mistake(
                lambda p: _entropy(_without_max(p).clamp_min(1e-300)),
                "Renormalize the non-maximal probabilities, "
                "F̂_i = F_i / Σ_{j≠ŷ} F_j, before the entropy: otherwise a confident prediction "
                "scores near 0 "
                "however evenly the rest is spread.",
            ),
            Mistake(
                lambda p: -non_max_entropy(p),
                "Wrong sign: an entropy is −Σ p log p, which is ≥ 0 (log p ≤ 0).",
            ),
            Mistake(
                lambda p: _entropy(p / (1 - p.max(dim=1, keepdim=True).values)),
                "Set the predicted class's entry to 0 (or drop it) *before* the entropy: "
                "renormalizing all L entries by "
                "1 − max F leaves a term for the predicted class in the sum.",
            ),
        ],
        hint="Zero the entry of argmax F in each row, divide the row by its new sum, then −Σ p log "
        "p over the "
        "remaining entries (0 log 0 = 0).",
    )


_CLEAN = np.array([0.9, 0.8, 0.5])
_ADVERSARIAL = np.array([0.5, 0.3, 0.2, 0.85])


@exercise("5.2", "The AUC by counting pairs")
def auc_by_counting(answer: object) -> tuple[bool, str]:
    """Check the AUC of clean scores (0.9, 0.8, 0.5) against adversarial (0.5, 0.3, 0.2, 0.85).

    Clean = positive, higher = more normal, ties counted 1/2.

    Parameters
    ----------
    answer : float
        Your AUC, a number between 0 and 1.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    expected = roc_auc(_CLEAN, _ADVERSARIAL)
    above = (_CLEAN[:, None] > _ADVERSARIAL[None, :]).mean()
    ties = (_CLEAN[:, None] == _ADVERSARIAL[None, :]).mean()
    # Pair counts step by 1/24 (a tie counts 1/2), so 0.01 tells every count apart and accepts
    # 19/24 rounded to two places (0.79) or one (0.8).
    return expect_number(
        answer,
        expected,
        rtol=0.0,
        atol=0.01,
        mistakes=[
            (
                1 - expected,
                "Orientation reversed: the AUC here is the probability that a *clean* image scores "
                "higher "
                "than an adversarial one (clean = positive, higher = more normal).",
            ),
            (above, "Almost: a tie (0.5 against 0.5) counts one half, not zero."),
            (above + ties, "Almost: a tie (0.5 against 0.5) counts one half, not one."),
            (
                1 - above - ties,
                "Orientation reversed, and a tie counts one half: count pairs where the clean "
                "score "
                "is higher.",
            ),
        ],
        hint="Count the 3 x 4 = 12 (clean, adversarial) pairs where the clean score is higher (a "
        "tie counts 1/2) "
        "and divide by 12.",
    )


@exercise("5.3", "What an AUC near 0 says")
def auc_near_zero(answer: object) -> tuple[bool, str]:
    """Check the meaning of RCE's confidence AUC ≈ 0 on C&W-hc (section 6).

    Parameters
    ----------
    answer : str
        Your choice, the letter of one option: ``"a"``, ``"b"``, ``"c"`` or ``"d"``.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_choice(
        answer,
        "b",
        {
            "a": "A useless detector has an AUC of 0.5 (chance). An AUC near 0 is a perfect "
            "ordering, upside down.",
            "c": "The AUC uses only pairs where the attack succeeded, and too few pairs leave the "
            "cell empty, not 0.",
            "d": "C&W-hc did fail on most of RCE's images (the success rates are printed with the "
            "attacks), but a failed attack contributes no pair at all: the AUC is computed on the "
            "pairs where it succeeded, and says how their scores compare with the clean ones.",
        },
        why="C&W-hc pushes the wrong class to a margin of 10, so its adversarial examples are "
        "*more* confident than "
        "the clean images: the confidence ordering is reversed, and the attacker chose that.",
    )
