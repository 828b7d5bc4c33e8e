"""Course delivery: student versions of the lessons (solutions removed).

A lesson's exercise is three cells: the exercise text (markdown), a solution cell tagged ``solution``, and an
untagged check cell that calls :func:`robviz.exercises.check` with the names the solution defines::

    def mmc(z, y, centers):                 # tagged "solution"
        return 0.5 * (z - centers[y]).pow(2).sum(dim=1).mean()

    exercises.check("0.2", mmc)             # untagged: stays in the student version

:func:`student_notebook` replaces every solution cell by a stub that keeps only what the check cell needs: the
signatures of the functions it defines (body ``...``) and ``name = ...`` for the values it assigns. The check then
answers "your turn" until the student fills them in. ``robviz student`` writes the student versions of a folder.

:func:`lab_notebook` is the version ``python3 tasks.py lab`` opens: the student version plus, after each check
cell, the solution in a folded markdown cell ("Show a solution"). Markdown never runs, so Run All leaves every
exercise unanswered, and a student who is stuck unfolds the answer.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import tempfile
from pathlib import Path

__all__ = ["SOLUTION_TAG", "is_solution", "student_stub", "student_notebook", "write_student_versions",
           "lab_notebook", "write_lab_versions"]

SOLUTION_TAG = "solution"
_STUB_HEADER = "# Exercise: your solution here (replace every `...`)."


def is_solution(cell: dict) -> bool:
    """True for a code cell tagged ``solution``."""
    return cell.get("cell_type") == "code" and SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _names_used(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def _assigned_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return []
    names = []
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.append(node.id)
    return names


def student_stub(solution: str, used: set[str]) -> str:
    """The student's version of a solution cell: function signatures (with docstrings) and assignments of the
    names in ``used`` (those the check cell reads), every body and value replaced by ``...``.

    Raises:
        ValueError: when the solution defines none of the names in ``used`` (the check would have nothing to read).
    """
    tree = ast.parse(solution)
    lines = solution.splitlines()
    stub, seen = [_STUB_HEADER], set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in used:
            header_end = statement.body[0].lineno - 1
            docstring = ast.get_docstring(statement, clean=False) is not None
            body_start = statement.body[0].end_lineno if docstring else header_end
            indent = " " * statement.body[0].col_offset
            stub += lines[statement.lineno - 1:body_start] + [f"{indent}...  # your code here", ""]
            seen.add(statement.name)
        else:
            for name in _assigned_names(statement):
                if name in used and name not in seen:
                    stub.append(f"{name} = ...  # your answer here")
                    seen.add(name)
    if len(stub) == 1:
        raise ValueError("a solution cell defines none of the names its check cell uses; the student stub "
                         f"would be empty. Names used by the check cell: {sorted(used)}")
    return "\n".join(stub).rstrip() + "\n"


def student_notebook(notebook: dict) -> dict:
    """A copy of ``notebook`` (nbformat 4 JSON as a dict) with every solution cell replaced by its stub and all
    outputs cleared.

    Raises:
        ValueError: when a solution cell is not followed by a code cell (its check).
    """
    student = copy.deepcopy(notebook)
    cells = student["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if not is_solution(cell):
            continue
        following = next((c for c in cells[index + 1:] if c.get("cell_type") == "code"), None)
        if following is None or is_solution(following):
            raise ValueError(f"solution cell {index} must be followed by an untagged check cell")
        cell["source"] = student_stub(_source(cell), _names_used(_source(following)))
        tags = [tag for tag in cell["metadata"].get("tags", []) if tag != SOLUTION_TAG]
        cell["metadata"] = {"tags": tags + ["exercise"]}
    student.get("metadata", {}).pop("widgets", None)
    return student


def _write_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def write_student_versions(source: str | Path, out: str | Path) -> list[Path]:
    """Write the student version of every ``*.ipynb`` in folder ``source`` to folder ``out``.

    Returns:
        The written paths, sorted.
    """
    source, out = Path(source), Path(out)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source}")
    if out.resolve() == source.resolve():
        raise ValueError("the student versions must go to another folder than the lessons")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = out / path.name
        _write_atomic(target, json.dumps(student_notebook(notebook), indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    return written


SOLUTION_SUMMARY = "Show a solution"


def _solution_cell(solution: str) -> dict:
    """A markdown cell holding ``solution`` folded: <details> shows only its summary until clicked."""
    text = (f"<details><summary>{SOLUTION_SUMMARY}</summary>\n\n```python\n{solution.rstrip()}\n```\n\n"
            "</details>\n")
    return {"cell_type": "markdown", "metadata": {"tags": ["solution-on-demand"]}, "source": text}


def lab_notebook(notebook: dict) -> dict:
    """The student version of ``notebook`` (:func:`student_notebook`) with each solution available on demand: a
    folded markdown cell after each exercise's check cell. Run All runs no solution."""
    student = student_notebook(notebook)
    cells, out = notebook["cells"], []
    pending = []
    for original, cell in zip(cells, student["cells"]):
        out.append(cell)
        if is_solution(original):
            pending.append(_source(original))
        elif cell.get("cell_type") == "code" and pending:  # the check cell: the solutions of its exercise follow
            out += [_solution_cell(solution) for solution in pending]
            pending = []
    student["cells"] = out
    if any("id" in cell for cell in cells):
        for index, cell in enumerate(out):
            cell.setdefault("id", f"solution-{index}")
    return student


def write_lab_versions(source: str | Path, out: str | Path) -> list[Path]:
    """Write :func:`lab_notebook` of every ``*.ipynb`` in ``source`` to ``out``, leaving the notebooks already
    there untouched (they hold the student's work; delete one to get a fresh copy).

    Returns:
        The paths written now, sorted.
    """
    source, out = Path(source), Path(out)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source}")
    if out.resolve() == source.resolve():
        raise ValueError("the lab versions must go to another folder than the lessons")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = out / path.name
        if target.exists():
            continue
        notebook = json.loads(path.read_text(encoding="utf-8"))
        _write_atomic(target, json.dumps(lab_notebook(notebook), indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    return written
