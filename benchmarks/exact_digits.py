"""Exact robust accuracy on the 8x8 digits beside certified bounds and attacks.

The order is certified <= exact <= attack.

    # SCE and MMC, 150 test digits, 4 radii: 3.5 min, 0.5 GB, one core
    python benchmarks/exact_digits.py
    python benchmarks/exact_digits.py --points 50 --time-limit 20

The model: ``Classifier(nn.Sequential(nn.Flatten(), ToyMLP(in_dim=64, feature_dim=10, hidden=32,
depth=2)), head)`` with robviz's ``sce`` and ``mmc`` heads (built from seed 0), trained by ``fit``
for 3000 Adam steps, lr 0.003, batch 64, seed 0, on :func:`robviz.data.digits` (split seed 0). On
the first ``--points`` test digits, per L-inf radius eps (balls intersected with [0, 1]): interval
bound propagation and CROWN (certified, lower bounds), the exact value
(:func:`robviz.exact.robust_accuracy`, one MILP per point and class, HiGHS, ``--time-limit`` seconds
a point; undecided points are counted in their own column), PGD-50 on the default objective and on
the margin loss, and ``auto_attack`` with 50 steps (upper bounds). Times are wall-clock seconds per
point of the exact verification on one thread. The run checks what must hold and says so: every
witness is in its ball and misclassified, no certified point is beaten by an attack, no attack beats
an exactly robust point. Nothing else is asserted: these are figures to read.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from torch import nn

from robviz import exact
from robviz.attacks import PGD, auto_attack, margin_objective
from robviz.data import digits
from robviz.models import Classifier, ToyMLP
from robviz.objectives import make_objective
from robviz.runtime import inference
from robviz.train import fit

EPS = [0.05, 16 / 255, 0.1, 0.2]


def digits_mlp(data, objective: str) -> Classifier:
    torch.manual_seed(0)
    body = nn.Sequential(nn.Flatten(), ToyMLP(in_dim=64, feature_dim=10, hidden=32, depth=2))
    model = Classifier(body, make_objective(objective, data.num_classes, 10))
    fit(model, data, steps=3000, lr=0.003, batch_size=64, seed=0, record_every=0, progress=False)
    return model.eval()


def attacked(model, x, y, x_adv) -> torch.Tensor:
    """(N,) bool: correct clean and under the attack."""
    return (inference(model, x).argmax(1) == y) & (inference(model, x_adv).argmax(1) == y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=150)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--objectives", nargs="+", default=["sce", "mmc"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = digits(seed=0)
    x, y = data.x_test[: args.points], data.y_test[: args.points]
    header = (
        "| model | eps | IBP | CROWN | exact | undecided | PGD-50 | PGD-50 margin | auto_attack | "
        "median s | max s | decided by |"
    )
    rows = [header, "|---" * (header.count("|") - 1) + "|"]
    for objective in args.objectives:
        start = time.perf_counter()
        model = digits_mlp(data, objective)
        clean = (inference(model, data.x_test).argmax(1) == data.y_test).float().mean().item()
        print(
            f"{objective}: trained in {time.perf_counter() - start:.0f} s, clean test accuracy "
            f"{100 * clean:.1f} %",
            flush=True,
        )
        for eps in EPS:
            ibp = exact.certified_robust(model, x, y, eps, bounds=(0, 1), method="ibp")
            crown = exact.certified_robust(model, x, y, eps, bounds=(0, 1), method="crown")
            result = exact.robust_accuracy(
                model, x, y, eps, bounds=(0, 1), time_limit=args.time_limit
            )
            pgd = attacked(
                model, x, y, PGD(model, eps=eps, alpha=eps / 4, steps=50, bounds=(0, 1))(x, y)
            )
            pgd_margin = attacked(
                model,
                x,
                y,
                PGD(model, eps=eps, alpha=eps / 4, steps=50, bounds=(0, 1), loss=margin_objective)(
                    x, y
                ),
            )
            auto = auto_attack(
                model, x, y, eps, bounds=(0, 1), steps=50, progress=False
            ).robust.cpu()
            # What must hold, checked here on every run.
            bad = result.verdicts == "not robust"
            witnesses = result.witnesses[torch.from_numpy(bad)]
            inside = bool(
                ((witnesses - x[torch.from_numpy(bad)].double()).abs() <= eps + 1e-12).all()
            )
            model64 = copy.deepcopy(model).double()
            wrong = bool(
                (inference(model64, witnesses).argmax(1).cpu() != y[torch.from_numpy(bad)]).all()
            )
            upper = torch.from_numpy(result.verdicts != "not robust")
            lowers = {"IBP": ibp, "CROWN": crown, "exact": result.robust}
            uppers = {
                "exact upper": upper,
                "PGD-50": pgd,
                "PGD-50 margin": pgd_margin,
                "auto_attack": auto,
            }
            broken = [
                f"{a} {int((lowers[a] & ~uppers[b]).sum())} points above {b}"
                for a in lowers
                for b in uppers
                if (lowers[a] & ~uppers[b]).any()
            ]
            how = dict(zip(*np.unique(result.decided_by, return_counts=True)))
            exact_text = (
                f"{100 * result.lower:.1f}"
                if not result.undecided
                else f"[{100 * result.lower:.1f}, {100 * result.upper:.1f}]"
            )
            rows.append(
                f"| {objective} | {eps:.4g} | {100 * ibp.float().mean():.1f} | "
                f"{100 * crown.float().mean():.1f} | {exact_text} | {result.undecided} | "
                f"{100 * pgd.float().mean():.1f} | {100 * pgd_margin.float().mean():.1f} | "
                f"{100 * auto.float().mean():.1f} | {np.median(result.seconds):.3f} | "
                f"{result.seconds.max():.2f} | {', '.join(f'{k} {v}' for k, v in how.items())} |"
            )
            print(
                rows[-1],
                f"witnesses in ball and misclassified: {inside and wrong}; sandwich "
                f"certified <= exact <= attack: {'; '.join(broken) or 'holds'}",
                flush=True,
            )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
