"""The lint gate: ruff finds nothing in the package, the tests, the benchmarks and tasks.py.

Ruff runs pyflakes, pycodestyle and, for the package, the numpydoc docstring rules; settings in
pyproject.toml.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "robviz", "tests", "benchmarks", "tasks.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_is_laid_out_by_ruff_format():
    """The package, tests, benchmarks and tasks.py read as ``ruff format`` lays them out."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "robviz",
            "tests",
            "benchmarks",
            "tasks.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        "run `ruff format robviz tests benchmarks tasks.py`:\n" + done.stdout
    )


def _ruff_on(path: str, source: str) -> subprocess.CompletedProcess:
    """ruff on ``source`` as if it were ``path`` in the project (its per-file settings apply)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--stdin-filename",
            path,
            "-",
        ],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_docstring_rules_hold_for_the_package_only():
    undocumented = '"""A module."""\n\n\ndef area(r):\n    return 3.14 * r * r\n'
    found = _ruff_on("robviz/probe.py", undocumented)
    assert found.returncode == 1 and "D103" in found.stdout, found.stdout
    google = (
        '"""A module."""\n\n\ndef area(r):\n'
        '    """Returns the area.\n\n    Returns:\n        The area.\n    """\n'
        "    return 3.14 * r * r\n"
    )
    found = _ruff_on("robviz/probe.py", google)
    assert found.returncode == 1 and "D401" in found.stdout and "D407" in found.stdout, found.stdout
    assert _ruff_on("tests/probe.py", undocumented).returncode == 0
