"""The authors' training scripts as robviz recipes at CPU scale: epoch cost, clean and PGD accuracy.

    # mnist32 (the offline MNIST images), about 10 min of one core
    python benchmarks/authors_training.py
    # synthetic images, a minute
    python benchmarks/authors_training.py --quick

Each recipe trains a ResNet-8 (width 8) from the same seed for a few epochs with the recipe's own
optimizer, mixing, adversarial examples and loss weights; only the epochs (and the ensemble's depth)
are cut to fit a CPU:

* ``paper`` (SCE): the baseline, no mixing;
* ``mi-authors``: mixup as ``train_resnet_mixup.py`` mixes (a Beta(1, 1) weight per sample, two
  permutations);
* ``mi-iat-authors``: interpolated AT (PGD-10 at 8/255 against the predictions, 0.5 mixed
  adversarial + 0.5 mixed clean in one forward pass);
* ``adp-authors`` and ``adp-at-authors`` (ensembles of three): the ADP loss, and
  ``advtrain_cifar10.py``'s ADP(adv) + ADP(clean) with one radius per batch from U(0.01, 0.05).

Printed per recipe: seconds per epoch, its ratio to ``paper``'s (the price of the extra passes:
PGD-10 costs about 11 forward-backward passes a batch), the final training loss, clean test
accuracy, and the test accuracy under untargeted PGD-20 (step eps/8, one random start) at eps 0.03
and 8/255 against each model's adaptive objective. PGD bounds robustness from above; at this scale
the figures compare recipes, they are not the papers' numbers. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from robviz.attacks import PGD
from robviz.scale.cifar import to_float
from robviz.scale import load_data, load_trained, train

RECIPES = [
    ("paper", "sce"),
    ("mi-authors", "sce"),
    ("mi-iat-authors", "sce"),
    ("adp-authors", "adp"),
    ("adp-at-authors", "adp"),
]


def pgd_accuracy(model, x, y, eps: float) -> float:
    """Accuracy under untargeted PGD-20 (step eps/8, random start, the model's adaptive objective).

    Batches of 100; a point counts when it is classified correctly clean and attacked.
    """
    attack = PGD(model, eps=eps, alpha=eps / 8, steps=20, random_start=True, seed=0)
    correct = 0
    for i in range(0, len(x), 100):
        xb, yb = x[i : i + 100], y[i : i + 100]
        with torch.no_grad():
            clean = model(xb).argmax(1) == yb
        x_adv = attack(xb, yb)
        with torch.no_grad():
            correct += int((clean & (model(x_adv).argmax(1) == yb)).sum())
    return correct / len(x)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="synthetic images, 1 epoch")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    dataset, epochs = ("synthetic", 1) if args.quick else ("mnist32", 3)
    epochs = args.epochs or epochs
    train_size, test_size = (512, 256) if args.quick else (4000, 1000)
    torch.set_num_threads(1)
    data = load_data(dataset, train_size=train_size, test_size=test_size)
    x_test, y_test = to_float(data.x_test[:500]), data.y_test[:500]
    rows, base = [], None
    with tempfile.TemporaryDirectory() as folder:
        for recipe, objective in RECIPES:
            out = Path(folder) / recipe
            began = time.perf_counter()
            result = train(
                dict(
                    dataset=dataset,
                    arch="resnet8",
                    width=8,
                    objective=objective,
                    recipe=recipe,
                    epochs=epochs,
                    train_size=train_size,
                    test_size=test_size,
                    out=str(out),
                    progress=False,
                    threads=1,
                    seed=0,
                )
            )
            seconds = (time.perf_counter() - began) / epochs
            base = base or seconds
            model, _, _ = load_trained(out / "checkpoint.pt")
            robust = [pgd_accuracy(model, x_test, y_test, eps) for eps in (0.03, 8 / 255)]
            rows.append(
                dict(
                    recipe=recipe,
                    objective=objective,
                    seconds_per_epoch=round(seconds, 1),
                    ratio=round(seconds / base, 2),
                    train_loss=round(result["history"][-1]["train_loss"], 4),
                    clean=result["test_accuracy"],
                    pgd_003=robust[0],
                    pgd_8_255=robust[1],
                )
            )
            print(json.dumps(rows[-1]), flush=True)
    print(
        f"\n{dataset}, {train_size} training images, {epochs} epochs, ResNet-8 width 8 (ensembles: "
        "3 of them); "
        f"PGD-20 on the first {len(x_test)} test images"
    )
    print(
        f"{'recipe':<16}{'s/epoch':>9}{'x paper':>9}{'loss':>9}{'clean':>8}"
        f"{'PGD .03':>9}{'PGD 8/255':>11}"
    )
    for r in rows:
        print(
            f"{r['recipe']:<16}{r['seconds_per_epoch']:>9}{r['ratio']:>9}{r['train_loss']:>9}{r['clean']:>8.3f}"
            f"{r['pgd_003']:>9.3f}{r['pgd_8_255']:>11.3f}"
        )


if __name__ == "__main__":
    main()
