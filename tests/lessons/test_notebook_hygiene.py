"""Lessons are committed clean: no outputs or widget state, same shape for all."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return nbformat.read(request.param, as_version=nbformat.NO_CONVERT)


def test_valid_nbformat_v4(nb):
    assert nb.nbformat == 4
    nbformat.validate(nb)


def test_python3_kernelspec(nb):
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_no_outputs_counts_or_widget_state(nb):
    assert "widgets" not in nb.metadata, "saved widget state: clear it before committing"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def _is_exercise_cell(cell) -> bool:
    """Markdown, an nbgrader answer or tests cell, or a cell calling robviz.exercises.check."""
    if cell.cell_type == "markdown":
        return True
    return "nbgrader" in cell.metadata or "exercises.check(" in cell.source


def test_starts_with_markdown_and_ends_with_exercises(nb):
    assert nb.cells and nb.cells[0].cell_type == "markdown"
    headings = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Exercises")
    ]
    assert len(headings) == 1, "every lesson has one markdown cell that starts with '## Exercises'"
    after = nb.cells[headings[0] + 1 :]
    assert all(_is_exercise_cell(cell) for cell in after), (
        "after '## Exercises' come only exercise text, solution cells and check cells"
    )


def test_cells_have_ids_where_the_format_requires_them(nb):
    if nb.nbformat_minor >= 5:
        assert all(cell.get("id") for cell in nb.cells), "nbformat 4.5 needs an id on every cell"


# A JupyterLab code cell on a 1366 x 768 laptop with the file browser open shows about 110
# characters in some browsers' monospace fonts; 100 leaves a margin.
MAX_CODE_LINE = 100


def _long_code_lines(nb, limit=MAX_CODE_LINE):
    """'cell i, line j (n characters): text' for every code line longer than `limit`."""
    return [
        f"cell {i}, line {j} ({len(line)} characters): {line.strip()[:60]}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for j, line in enumerate(cell.source.splitlines(), start=1)
        if len(line) > limit
    ]


def test_long_code_lines_are_found():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("x" * 200),
            nbformat.v4.new_code_cell("short = 1\n" + "y = " + "1 + " * 30 + "1\nz = 2"),
            nbformat.v4.new_code_cell("w = '" + "a" * 95 + "'"),  # 101 characters
        ]
    )
    found = _long_code_lines(nb)
    assert [entry.split(":")[0] for entry in found] == [
        "cell 1, line 2 (125 characters)",
        "cell 2, line 1 (101 characters)",
    ]
    assert _long_code_lines(nb, limit=101) == [
        "cell 1, line 2 (125 characters): " + ("y = " + "1 + " * 30)[:60]
    ]
    assert _long_code_lines(nb, limit=200) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_lines_fit_a_laptop_screen(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    too_long = _long_code_lines(nb)
    assert not too_long, (
        f"{path.name}: {len(too_long)} code lines longer than {MAX_CODE_LINE} "
        "characters (wrap them inside brackets or split the string):\n  " + "\n  ".join(too_long)
    )
