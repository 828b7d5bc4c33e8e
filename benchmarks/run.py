"""Print performance figures: per lesson, default-mode wall time and peak memory; per objective, toy training speed.

    python benchmarks/run.py              # everything
    python benchmarks/run.py --objectives # only the training speed
    python benchmarks/run.py --threads 1  # as on a one-core Binder

Lessons run in a fresh kernel through nbclient, one at a time; peak memory is the kernel's maximum resident set
size (ru_maxrss of the child processes). Nothing here asserts a time: these are figures to read and compare.
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
    print(f"\ntoy training speed (spirals, {len(data.x_train)} points, 2-D features, {torch.get_num_threads()} "
          f"threads, full batch and batch 64, no snapshots)")
    print(f"{'objective':<10}{'full batch steps/s':>20}{'batch 64 steps/s':>20}")
    for name in OBJECTIVES:
        rates = []
        for batch_size in (None, 64):
            model = make_model(data, name)
            fit(model, data, steps=20, batch_size=batch_size, record_every=0, progress=False)  # warm-up
            start = time.perf_counter()
            fit(model, data, steps=steps, batch_size=batch_size, record_every=0, progress=False)
            rates.append(steps / (time.perf_counter() - start))
        print(f"{name:<10}{rates[0]:>20.0f}{rates[1]:>20.0f}")


def _run_lesson(path: Path) -> tuple[float, float]:
    """Execute one notebook in a child process; return (seconds, peak MiB of the kernel)."""
    code = (
        "import sys, time, nbformat, resource\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], 4)\n"
        "t = time.perf_counter()\n"
        "NotebookClient(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "print(time.perf_counter() - t)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path), str(path.parent)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[-2]), float(out[-1])


def lessons() -> None:
    paths = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    print(f"\nlessons in default mode ({os.cpu_count()} CPUs visible)")
    print(f"{'lesson':<36}{'wall s':>10}{'peak MiB':>12}")
    for path in paths:
        seconds, peak = _run_lesson(path)
        print(f"{path.name:<36}{seconds:>10.1f}{peak:>12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objectives", action="store_true", help="only the per-objective training speed")
    parser.add_argument("--lessons", action="store_true", help="only the lessons")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (and OMP_NUM_THREADS)")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)
    both = not (args.objectives or args.lessons)
    if args.objectives or both:
        objective_speed()
    if args.lessons or both:
        lessons()
    print(f"\nbenchmark process peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
