"""Every lesson runs top to bottom in default mode and its assertions hold: each code cell ran and none raised.

The run is the one every other lesson check reads (lesson_runs.py): the gallery, the figure check in JupyterLab
and the reference submission of the grading. A wrong answer to a self-checked exercise raises
(``ROBVIZ_STRICT_EXERCISES=1``), so a broken solution or check fails here. To check one lesson by hand, the
classic way: ``pytest --nbval-lax --nbval-current-env notebooks/02_attacks.ipynb``.
"""

import pytest
from lesson_runs import LESSONS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_top_to_bottom(lesson_runs, lesson):
    executed = lesson_runs.get(lesson)  # raises, naming the cell, when a cell raised
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert code, f"{lesson} has no code cell"
    unrun = [index for index, cell in enumerate(code) if cell.get("execution_count") is None]
    assert not unrun, f"{lesson}: code cells {unrun} did not run"
    errors = [output for cell in code for output in cell["outputs"] if output["output_type"] == "error"]
    assert not errors, f"{lesson}: {errors[0]['ename']}: {errors[0]['evalue']}"
