"""The lint gate: ruff (pyflakes and pycodestyle, settings in pyproject.toml) finds nothing in the package, the
tests, the benchmarks and tasks.py."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "robviz", "tests", "benchmarks", "tasks.py"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
