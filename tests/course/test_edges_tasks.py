"""``tasks.py`` at the edges of what an instructor types: unknown commands, worker counts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tasks():
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value", ["abc", "2.5", "-1", "four"])
def test_a_worker_count_that_is_not_whole_exits_before_installing_anything(
    tasks, monkeypatch, value
):
    # int("abc") was a traceback, raised after the test tools and chromium were installed
    installed = []
    monkeypatch.setattr(tasks, "ensure_test_tools", lambda: installed.append("tools"))
    monkeypatch.setattr(tasks, "ensure_chromium", lambda: installed.append("chromium"))
    monkeypatch.setattr(tasks.subprocess, "call", lambda *a, **k: installed.append("pytest") or 0)
    monkeypatch.setenv("ROBVIZ_TEST_WORKERS", value)
    with pytest.raises(SystemExit, match=f"ROBVIZ_TEST_WORKERS must be a whole number.*{value!r}"):
        tasks.main(["test", "--quick"])
    assert installed == []


@pytest.mark.parametrize("value, workers", [("3", 3), (" 2 ", 2), ("0", 0)])
def test_a_whole_worker_count_is_taken(tasks, monkeypatch, value, workers):
    monkeypatch.setenv("ROBVIZ_TEST_WORKERS", value)
    assert tasks.test_workers() == workers


@pytest.mark.parametrize("argv", [["tset"], ["--quick"], ["Lab"]])
def test_an_unknown_command_prints_the_usage_and_exits_2(argv):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tasks.py"), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"unknown command {argv[0]!r}" in done.stdout
    assert "python3 tasks.py lab" in done.stdout
