"""Lessons are committed clean: no outputs or widget state, same shape for all."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


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
    """Markdown, an nbgrader answer or tests cell, or a check cell calling robviz.exercises.check."""
    if cell.cell_type == "markdown":
        return True
    return "nbgrader" in cell.metadata or "exercises.check(" in cell.source


def test_starts_with_markdown_and_ends_with_exercises(nb):
    assert nb.cells and nb.cells[0].cell_type == "markdown"
    headings = [i for i, cell in enumerate(nb.cells)
                if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Exercises")]
    assert len(headings) == 1, "every lesson has one markdown cell that starts with '## Exercises'"
    after = nb.cells[headings[0] + 1:]
    assert all(_is_exercise_cell(cell) for cell in after), \
        "after '## Exercises' come only exercise text, solution cells and check cells"


def test_cells_have_ids_where_the_format_requires_them(nb):
    if nb.nbformat_minor >= 5:
        assert all(cell.get("id") for cell in nb.cells), "nbformat 4.5 needs an id on every cell"
