"""robviz against the code a user would otherwise write or install.

PGD against torchattacks' PGD, ``fit`` against a minimal training loop.

    python benchmarks/peers.py

Both sides run in this one process, on one thread, in interleaved pairs (ours, theirs, ours, theirs,
...), so a busy machine slows both alike; the printed ratio is the median over the pairs of
time(theirs) / time(ours): 1.00 means as fast, above 1 faster. The goals, printed beside each ratio:
PGD.run >= 1.00x torchattacks (run() also computes the predictions and success the peer leaves to
the caller), fit >= 0.95x the minimal loop (fit also checks the loss for NaN and records the mean
loss). PGD's outputs are compared with the peer's (a difference is printed). Nothing here asserts a
time.
"""

from __future__ import annotations

import statistics
import time

import torch

from robviz.attacks import PGD
from robviz.data import digits, spirals
from robviz.models import make_model
from robviz.train import fit

PAIRS = 15


def interleaved(ours, theirs, pairs: int = PAIRS) -> float:
    """Median over ``pairs`` of time(theirs) / time(ours), the two run alternately."""
    ratios = []
    for _ in range(pairs):
        start = time.perf_counter()
        ours()
        mid = time.perf_counter()
        theirs()
        end = time.perf_counter()
        ratios.append((end - mid) / (mid - start))
    return statistics.median(ratios)


def pgd_against_torchattacks() -> None:
    try:
        import torchattacks
    except ImportError:
        print(
            "torchattacks is not importable: python3 tasks.py test installs it into .venv-test; "
            "run with PYTHONPATH=.venv-test/lib/python3.X/site-packages. PGD comparison skipped"
        )
        return
    print(
        f"PGD.run against torchattacks.PGD (L-inf, no random start; median of {PAIRS} interleaved "
        "pairs; "
        "ratio = theirs / ours, goal >= 1.00). PGD.run also checks its inputs and returns the "
        "predictions at x_adv (one more forward pass); '+pred' times theirs followed by that "
        "forward pass: the same outputs; 'loop' compares PGD.iterate, the inner loop alone"
    )
    print(
        f"{'model':<28}{'N':>6}{'steps':>7}{'ours ms':>10}{'theirs ms':>11}{'ratio':>8}{'+pred':>8}"
        f"{'loop':>8}"
    )
    torch.manual_seed(0)
    toy = spirals(num_classes=3, n_per_class=200)
    toy_model = make_model(toy, "sce")
    fit(toy_model, toy, steps=300, progress=False, record_every=0)
    images = digits()
    cnn = make_model(images, "sce", feature_dim=16)
    fit(cnn, images, steps=60, batch_size=128, progress=False, record_every=0)
    cases = [("toy MLP, spirals", toy_model, toy, 0.3), ("CNN, 8x8 digits", cnn, images, 8 / 255)]
    for name, model, data, eps in cases:
        model.eval()
        x, y = data.x_test[:256], data.y_test[:256]
        low, high = data.bounds
        for steps in (10, 50):
            ours = PGD(
                model, eps=eps, alpha=eps / 4, steps=steps, random_start=False, bounds=(low, high)
            )
            theirs = torchattacks.PGD(
                model, eps=eps, alpha=eps / 4, steps=steps, random_start=False
            )
            theirs.set_model_training_mode(model_training=False)
            # torchattacks clips to [0, 1]: a toy box needs its inputs scaled
            if (low, high) != (
                0.0,
                1.0,
            ):
                scale = high - low
                wrapped = torch.nn.Sequential()
                wrapped.forward = lambda u, m=model: m(u * scale + low)
                theirs = torchattacks.PGD(
                    wrapped, eps=eps / scale, alpha=eps / 4 / scale, steps=steps, random_start=False
                )
                u = (x - low) / scale
                run_theirs = lambda t=theirs, u=u: t(u, y)  # noqa: E731
                predict = wrapped
                same = torch.allclose(ours(x, y), run_theirs() * scale + low, atol=1e-5)
            else:
                run_theirs = lambda t=theirs: t(x, y)  # noqa: E731
                predict = model
                same = torch.allclose(ours(x, y), run_theirs(), atol=1e-6)
            run_ours = lambda a=ours: a.run(x, y)  # noqa: E731
            ratio = interleaved(run_ours, run_theirs)

            def run_theirs_and_predict(run=run_theirs, predict=predict):
                adv = run()
                with torch.no_grad():
                    return adv, predict(adv).argmax(dim=1)

            same_outputs = interleaved(run_ours, run_theirs_and_predict)
            # the inner loop alone: what both sides do, without run()'s checks and predictions
            loop = interleaved(lambda a=ours: a.iterate(x, x.clone(), y), run_theirs)
            t_ours = min(_time(run_ours) for _ in range(3))
            t_theirs = min(_time(run_theirs) for _ in range(3))
            print(
                f"{name:<28}{len(x):>6}{steps:>7}{1e3 * t_ours:>10.1f}{1e3 * t_theirs:>11.1f}"
                f"{ratio:>8.2f}"
                f"{same_outputs:>8.2f}"
                f"{loop:>8.2f}" + ("" if same else "   OUTPUTS DIFFER")
            )


def _time(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def fit_against_a_minimal_loop(steps: int = 600) -> None:
    print(
        f"\nfit against a minimal loop (spirals, {steps} Adam steps, no snapshots; median of "
        f"{PAIRS} interleaved "
        "pairs; ratio = loop / fit, goal >= 0.95)"
    )
    print(f"{'objective':<10}{'batch':>7}{'fit ms':>9}{'loop ms':>9}{'ratio':>8}")
    data = spirals(num_classes=3, n_per_class=250)
    n = len(data.x_train)

    def loop(name: str, batch: int):
        model = make_model(data, name)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        generator = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        order, cursor = torch.randperm(n, generator=generator), 0
        for _ in range(steps):
            if cursor + batch > n:
                order, cursor = torch.randperm(n, generator=generator), 0
            index = order[cursor : cursor + batch]
            cursor += batch
            loss = model.loss(data.x_train[index], data.y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return model

    def ours(name: str, batch: int):
        model = make_model(data, name)
        fit(model, data, steps=steps, batch_size=batch, lr=0.01, record_every=0, progress=False)
        return model

    for name in ("sce", "mmc", "rce"):
        for batch in (64, n):
            ratio = interleaved(lambda: ours(name, batch), lambda: loop(name, batch))
            t_fit = min(_time(lambda: ours(name, batch)) for _ in range(3))
            t_loop = min(_time(lambda: loop(name, batch)) for _ in range(3))
            print(f"{name:<10}{batch:>7}{1e3 * t_fit:>9.0f}{1e3 * t_loop:>9.0f}{ratio:>8.2f}")


def main() -> None:
    torch.set_num_threads(1)
    pgd_against_torchattacks()
    fit_against_a_minimal_loop()


if __name__ == "__main__":
    main()
