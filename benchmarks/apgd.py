"""APGD's cost per step vs the previous version, which ran one more forward pass to check success.

    python benchmarks/apgd.py

The previous implementation is reproduced here as a subclass (``PreviousAPGD``): same iterates, same
random starts, but success is checked with a separate ``model(x)`` after every gradient pass. Both
attacks must return the same adversarial inputs; the printed ratio is time(current) /
time(previous), the best of ``repeats`` runs, on the lesson-2 spiral models (a toy MLP, where a
forward pass is a large share of a step) and an 8x8-digit CNN. Nothing here asserts a time: these
are figures to read and compare.
"""

from __future__ import annotations

import time

import torch

from robviz.attacks import APGD
from robviz.data import digits, spirals
from robviz.models import make_model
from robviz.train import fit


class PreviousAPGD(APGD):
    """APGD as it was: the objective's gradient pass, then another forward pass to check success."""

    def _value_and_grad(self, x, labels):
        x = x.detach().requires_grad_(True)
        value = self._ascent(x, labels)
        (grad,) = torch.autograd.grad(value.sum(), x)
        with torch.no_grad():
            prediction = self.model(x).argmax(dim=1)
        return value.detach(), grad, prediction == labels if self.targeted else prediction != labels


def best_time(attack, x, y, repeats: int) -> tuple[float, torch.Tensor]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        x_adv = attack(x, y)
        times.append(time.perf_counter() - start)
    return min(times), x_adv


def main(repeats: int = 9) -> None:
    torch.set_num_threads(1)
    toy = spirals(num_classes=3, n_per_class=250, noise=0.2, seed=0)
    images = digits(seed=0)
    cases = []
    for name in ("sce", "mmc"):
        model = make_model(toy, name)
        fit(model, toy, steps=200, lr=0.01, progress=False, record_every=0)
        cases.append(
            (f"spirals {name.upper()} MLP", model, toy.x_test, toy.y_test, toy.bounds, 0.25)
        )
    cnn = make_model(images, "sce")
    fit(cnn, images, steps=100, batch_size=64, lr=0.003, progress=False, record_every=0)
    cases.append(
        ("digits SCE CNN", cnn, images.x_test[:200], images.y_test[:200], images.bounds, 8 / 255)
    )
    print(
        f"APGD, 100 steps, 1 thread, best of {repeats}: time(current) / time(previous, extra "
        "forward pass)"
    )
    print(f"{'model':<22}{'current s':>11}{'previous s':>12}{'ratio':>8}  same x_adv")
    for label, model, x, y, bounds, eps in cases:
        options = dict(eps=eps, steps=100, bounds=bounds, seed=0)
        now, x_now = best_time(APGD(model, **options), x, y, repeats)
        before, x_before = best_time(PreviousAPGD(model, **options), x, y, repeats)
        print(
            f"{label:<22}{now:>11.3f}{before:>12.3f}{now / before:>8.2f}  "
            f"{torch.equal(x_now, x_before)}"
        )


if __name__ == "__main__":
    main()
