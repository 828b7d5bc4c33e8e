"""The type gate: mypy (pyproject.toml's [tool.mypy]: the package, Python 3.10) reports no error."""

import subprocess
import sys
from pathlib import Path

from tool_support import require

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing():
    require("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
