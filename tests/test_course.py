"""Exercises and student versions: the checks give hints, the student notebooks hold no solution."""

import json
import re
from pathlib import Path

import pytest
import torch

from robviz import cli, exercises
from robviz.course import SOLUTION_TAG, is_solution, student_notebook, student_stub, write_student_versions

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK = re.compile(r"""exercises\.check\(\s*["']([0-9.]+)["']""")


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


def test_every_check_cell_names_a_registered_exercise_and_every_exercise_is_used():
    used = set()
    for path in NOTEBOOKS:
        for cell in _cells(path):
            if cell["cell_type"] == "code":
                used |= set(CHECK.findall(_source(cell)))
    assert used, "no lesson calls robviz.exercises.check"
    assert used <= set(exercises.registered()), f"unregistered: {used - set(exercises.registered())}"
    assert set(exercises.registered()) <= used, f"never checked in a lesson: {set(exercises.registered()) - used}"


def test_every_solution_cell_is_followed_by_its_check_cell():
    for path in NOTEBOOKS:
        cells = _cells(path)
        for index, cell in enumerate(cells):
            if is_solution(cell):
                following = next(c for c in cells[index + 1:] if c["cell_type"] == "code")
                assert CHECK.search(_source(following)), f"{path.name} cell {index}: no check after the solution"


def test_each_lesson_has_self_checked_exercises():
    for path in NOTEBOOKS:
        lesson = str(int(path.name[:2]))
        ids = {i for cell in _cells(path) for i in CHECK.findall(_source(cell))}
        assert ids, f"{path.name} has no self-checked exercise"
        assert all(i.split(".")[0] == lesson for i in ids), f"{path.name} checks another lesson's exercise: {ids}"


def test_student_versions_hold_no_solution(tmp_path):
    written = cli.student({"lessons": str(ROOT / "notebooks"), "out": str(tmp_path)})
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, student in zip(NOTEBOOKS, written):
        solutions = [c for c in _cells(original) if is_solution(c)]
        student_cells = _cells(student)
        assert len(student_cells) == len(_cells(original))
        assert not any(SOLUTION_TAG in c["metadata"].get("tags", []) for c in student_cells)
        text = "\n".join(_source(c) for c in student_cells)
        for solution in solutions:
            # Every line that does real work in a solution is gone (signatures and docstrings may stay).
            for line in _source(solution).splitlines():
                line = line.strip()
                if line and not line.startswith(("def ", "#", '"""', "import ", "from ")) and "=" in line:
                    assert line not in text, f"{student.name} still contains the solution line {line!r}"


def test_student_stub_keeps_signatures_and_checked_names_only():
    solution = '''import torch
helper = 3
def mmc(z, y, centers):
    """Docstring stays."""
    return 0.5 * (z - centers[y]).pow(2).sum(dim=1).mean()
answer = helper * 2
'''
    stub = student_stub(solution, {"mmc", "answer", "exercises"})
    assert 'def mmc(z, y, centers):\n    """Docstring stays."""\n    ...' in stub
    assert "answer = ..." in stub
    assert "helper" not in stub and "pow(2)" not in stub and "import" not in stub
    namespace = {}
    exec(stub, namespace)  # a stub is valid Python that defines the checked names
    assert namespace["answer"] is Ellipsis and namespace["mmc"](1, 2, 3) is None
    with pytest.raises(ValueError, match="defines none of the names"):
        student_stub("x = 1\n", {"y"})


def test_student_notebook_rejects_a_solution_without_check():
    notebook = {"cells": [{"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "a = 1",
                           "outputs": [], "execution_count": None}], "metadata": {}}
    with pytest.raises(ValueError, match="check cell"):
        student_notebook(notebook)


def test_write_student_versions_refuses_to_overwrite_the_lessons(tmp_path):
    with pytest.raises(ValueError, match="another folder"):
        write_student_versions(ROOT / "notebooks", ROOT / "notebooks")
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_student_versions(tmp_path, tmp_path / "out")


def test_check_gives_specific_hints_and_raises_in_strict_mode(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    feedback = exercises.check("0.2", lambda z, y, c: (z - c[y]).pow(2).sum(dim=1).mean())
    assert not feedback and "factor 1/2" in feedback.message
    feedback = exercises.check("0.2", lambda z, y, c: 0.5 * (z - c[y]).pow(2).sum())
    assert not feedback and "mean" in feedback.message
    assert exercises.check("0.2", lambda z, y, c: 0.5 * (z - c[y]).pow(2).sum(dim=1).mean())
    unanswered = exercises.check("0.1", ...)
    assert not unanswered and not unanswered.answered and "..." in unanswered.message
    assert "Your turn" in unanswered._repr_html_()
    monkeypatch.setenv(exercises.STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="Exercise 0.1"):
        exercises.check("0.1", 3.0)
    with pytest.raises(KeyError, match="no self-check"):
        exercises.check("99.9", 1.0)


def test_function_checks_report_errors_and_shapes(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    raises = exercises.check("0.2", lambda z, y, c: 1 / 0)
    assert "ZeroDivisionError" in raises.message
    shape = exercises.check("0.2", lambda z, y, c: 0.5 * (z - c[y]).pow(2).sum(dim=1))
    assert "shape" in shape.message
    assert "Expected a function" in exercises.check("0.2", 3.0).message
    assert "Expected a number" in exercises.check("0.1", "forty").message


def test_expect_helpers():
    assert exercises.expect_number(torch.tensor(2.0), 2.0)[0]
    ok, message = exercises.expect_number(4.0, 2.0, mistakes=[(4.0, "doubled")])
    assert not ok and "doubled" in message
    assert exercises.expect_choice("A point", "a point", {"a line": "no"})[0]
    ok, message = exercises.expect_choice("a line", "a point", {"a line": "think of two lines"})
    assert not ok and message == "think of two lines"
    assert "not one of the options" in exercises.expect_choice("a plane", "a point", {"a line": "no"})[1]


def test_lab_versions_leave_exercises_unanswered_and_fold_the_solutions(tmp_path):
    from robviz.course import SOLUTION_SUMMARY, lab_notebook, write_lab_versions

    written = write_lab_versions(ROOT / "notebooks", tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, lab in zip(NOTEBOOKS, written):
        cells = _cells(lab)
        code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
        folded = [_source(c) for c in cells if c["cell_type"] == "markdown" and SOLUTION_SUMMARY in _source(c)]
        solutions = [_source(c) for c in _cells(original) if is_solution(c)]
        assert len(folded) == len(solutions), lab.name
        for solution, shown in zip(solutions, folded):
            assert solution.rstrip() in shown  # on demand, in markdown: Run All never runs it
            for line in solution.splitlines():
                line = line.strip()
                if line and not line.startswith(("def ", "#", '"""', "import ", "from ")) and "=" in line:
                    assert line not in code, f"{lab.name} runs the solution line {line!r}"
        # each folded solution follows its exercise's check cell
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "markdown" and SOLUTION_SUMMARY in _source(cell):
                previous = next(c for c in reversed(cells[:index]) if c["cell_type"] == "code")
                assert CHECK.search(_source(previous)), f"{lab.name}: a solution not after its check cell"
        ids = [c.get("id") for c in cells]
        assert all(ids) == any(ids) and len(set(filter(None, ids))) == len(list(filter(None, ids)))
    # The student's work is kept: a second build writes nothing over it.
    written[0].write_text(written[0].read_text().replace("your solution here", "my own answer"))
    assert write_lab_versions(ROOT / "notebooks", tmp_path) == []
    assert "my own answer" in written[0].read_text()
    assert lab_notebook(json.loads(NOTEBOOKS[0].read_text()))["cells"]


def test_tasks_lab_opens_the_student_lessons_at_the_repository_root(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    calls = []
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    monkeypatch.setattr(tasks, "build_lessons", lambda: calls.append("build"))
    monkeypatch.setattr(tasks.subprocess, "call", lambda command, cwd: calls.append((command, cwd)) or 0)
    monkeypatch.setattr(tasks, "first_notebook",
                        lambda folder=None: (folder or ROOT / "notebooks") / "00_start_here.ipynb")
    assert tasks.cmd_lab([]) == 0
    assert calls[0] == "build"
    command, cwd = calls[1]
    assert cwd == tasks.ROOT and f"--ServerApp.root_dir={tasks.ROOT}" in command
    assert "lessons/00_start_here.ipynb" in command
    calls.clear()
    assert tasks.cmd_lab(["--solutions", "--port=9999"]) == 0
    command, _ = calls[0]  # instructors: no student build, the solved lessons
    assert "notebooks/00_start_here.ipynb" in command and "--port=9999" in command and "--solutions" not in command
