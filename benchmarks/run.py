"""Print performance figures: per lesson, wall time and peak memory; per objective, training speed.

Wall time is that of the default mode; training speed is that of the toy models.

    python benchmarks/run.py              # everything
    python benchmarks/run.py --objectives # only the training speed
    python benchmarks/run.py --fit        # fit vs a minimal loop (peers.py; goal >= 0.95x)
    python benchmarks/run.py --one-core   # as on a one-core Binder: every process pinned to CPU 0
    # the lessons' full mode (ROBVIZ_FULL=1)
    python benchmarks/run.py --lessons --full [--only 05 07]

Lessons run in a fresh kernel through nbclient, one at a time; peak memory is the kernel's maximum
resident set size (ru_maxrss of the child processes). "first figure" is the time from starting the
kernel to the first plotly figure a lesson shows: the start-to-first-figure path of a student who
opens the lesson and runs all cells. Nothing here asserts a time: these are figures to read and
compare.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def objective_speed(steps: int = 300) -> None:
    import torch

    from robviz.data import spirals
    from robviz.models import make_model
    from robviz.objectives import OBJECTIVES
    from robviz.train import fit

    data = spirals(num_classes=3, n_per_class=250)
    print(
        f"\ntoy training speed (spirals, {len(data.x_train)} points, 2-D features, "
        f"{torch.get_num_threads()} "
        f"threads, full batch and batch 64, no snapshots)"
    )
    print(f"{'objective':<10}{'full batch steps/s':>20}{'batch 64 steps/s':>20}")
    for name in OBJECTIVES:
        rates = []
        for batch_size in (None, 64):
            model = make_model(data, name)
            fit(
                model, data, steps=20, batch_size=batch_size, record_every=0, progress=False
            )  # warm-up
            start = time.perf_counter()
            fit(model, data, steps=steps, batch_size=batch_size, record_every=0, progress=False)
            rates.append(steps / (time.perf_counter() - start))
        print(f"{name:<10}{rates[0]:>20.0f}{rates[1]:>20.0f}")


_LESSON_RUNNER = """
import resource, sys, time
import nbformat
from nbclient import NotebookClient

PLOTLY = "application/vnd.plotly.v1+json"
nb = nbformat.read(sys.argv[1], 4)
start, first = time.perf_counter(), []

def executed(cell, cell_index, execute_reply):
    if not first and any(PLOTLY in output.get("data", {}) for output in cell.get("outputs", [])):
        first.append(time.perf_counter() - start)

NotebookClient(nb, timeout=1200, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}},
               on_cell_executed=executed).execute()
print(time.perf_counter() - start, first[0] if first else float("nan"),
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def _run_lesson(path: Path, one_core: bool, full: bool = False) -> tuple[float, float, float]:
    """Execute one notebook in a child process; return (seconds, seconds to first figure, peak MiB).

    The peak MiB is the kernel's. With ``one_core`` the child, and so its kernel, may only run on
    CPU 0; ``full`` sets ROBVIZ_FULL=1.
    """
    pin = (lambda: os.sched_setaffinity(0, {0})) if one_core else None
    env = {k: v for k, v in os.environ.items() if k != "ROBVIZ_FULL"}
    if full:
        env["ROBVIZ_FULL"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _LESSON_RUNNER, str(path), str(path.parent)],
        capture_output=True,
        text=True,
        preexec_fn=pin,
        env=env,
    )
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip(" -")]
        reason = next(
            (line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "?"
        )
        print(f"{path.name:<36} failed: {reason}", flush=True)
        return float("nan"), float("nan"), float("nan")
    out = done.stdout.split()
    return float(out[-3]), float(out[-2]), float(out[-1])


def lessons(one_core: bool = False, full: bool = False, only=None) -> None:
    import torch

    paths = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in only)]
    where = "pinned to one core" if one_core else f"{os.cpu_count()} CPUs visible"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"\nlessons in {'full' if full else 'default'} mode ({where}, {device})")
    print(f"{'lesson':<36}{'wall s':>10}{'first figure s':>16}{'peak MiB':>12}")
    for path in paths:
        seconds, first, peak = _run_lesson(path, one_core, full)
        print(f"{path.name:<36}{seconds:>10.1f}{first:>16.1f}{peak:>12.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--objectives", action="store_true", help="only the per-objective training speed"
    )
    parser.add_argument("--lessons", action="store_true", help="only the lessons")
    parser.add_argument(
        "--fit", action="store_true", help="only fit against a minimal hand-written loop"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (and OMP_NUM_THREADS)"
    )
    parser.add_argument(
        "--one-core", action="store_true", help="pin everything to CPU 0, as on a one-core Binder"
    )
    parser.add_argument(
        "--full", action="store_true", help="run the lessons in full mode (ROBVIZ_FULL=1)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="only the lessons whose names start with these"
    )
    args = parser.parse_args()
    if args.one_core:
        os.sched_setaffinity(0, {0})
        args.threads = args.threads or 1
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)
    both = not (args.objectives or args.lessons or args.fit)
    if args.fit or both:
        from peers import (
            fit_against_a_minimal_loop,
        )  # this folder: the one comparison with a minimal loop

        fit_against_a_minimal_loop()
    if args.objectives or both:
        objective_speed()
    if args.lessons or both:
        lessons(args.one_core, args.full, args.only)
    print(
        "\nbenchmark process peak memory: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
