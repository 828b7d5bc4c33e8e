"""docs/claims.md has a row for every assert a lesson makes, and every row names a real cell.

The table is where each claim's instrument and its validation are written down: an assert without a
row is a claim nobody has judged, a row without its cell judges a claim that no longer exists.
"""

import re
from pathlib import Path

import nbformat
import pytest

from robviz.course import is_graded, is_solution

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CLAIMS = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)


def claim_rows() -> dict[str, set[str]]:
    """Lesson number ("0", "1", ...) -> the cell ids its rows name."""
    rows: dict[str, set[str]] = {}
    for line in CLAIMS.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.setdefault(str(int(cells[0])), set()).update(re.findall(r"[0-9a-f]{8}", cells[1]))
    return rows


def asserting_cells(path: Path) -> list[str]:
    """The ids of the lesson's code cells that assert, exercise answers and checks excluded."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    return [
        cell.id
        for cell in nb.cells
        if cell.cell_type == "code"
        and ASSERT.search(cell.source)
        and not (is_solution(cell) or is_graded(cell))
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_assert_has_a_row_and_every_row_a_cell(path):
    lesson = str(int(path.name[:2]))
    named = claim_rows().get(lesson, set())
    missing = [i for i in asserting_cells(path) if i not in named]
    assert not missing, (
        f"{path.name}: cells {missing} assert, but docs/claims.md has no row for them"
    )
    ids = {cell.id for cell in nbformat.read(path, as_version=nbformat.NO_CONVERT).cells}
    stale = sorted(named - ids)
    assert not stale, f"{path.name}: docs/claims.md names cells {stale}, which the lesson lacks"


def test_the_rule_sees_a_planted_assert(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nassert x > 0", id="0123abcd")]
    path = tmp_path / "99_planted.ipynb"
    nbformat.write(nb, path)
    assert asserting_cells(path) == ["0123abcd"]
    assert "0123abcd" not in claim_rows().get("99", set())
