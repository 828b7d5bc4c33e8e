"""Every lesson runs top to bottom in default mode and its assertions hold.

Each code cell ran and none raised.

The run is the one every other lesson check reads (lesson_runs.py): the gallery, the figure check in
JupyterLab and the reference submission of the grading. A wrong answer to a self-checked exercise
raises (``ROBVIZ_STRICT_EXERCISES=1``), so a broken solution or check fails here. To check one
lesson by hand, the classic way: ``pytest --nbval-lax --nbval-current-env
notebooks/02_attacks.ipynb``.
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
    errors = [
        output for cell in code for output in cell["outputs"] if output["output_type"] == "error"
    ]
    assert not errors, f"{lesson}: {errors[0]['ename']}: {errors[0]['evalue']}"


def _tiny_lesson(path, *sources):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


def test_a_lesson_runs_once_for_every_worker_and_a_failure_is_told_to_each(tmp_path):
    from lesson_runs import LessonRuns

    from robviz.course.gallery import GalleryError

    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    # Each run of the first lesson appends a line to runs.txt (in the lesson's folder, its working
    # directory).
    _tiny_lesson(
        lessons / "00_counts.ipynb",
        "with open('runs.txt', 'a') as f:\n    f.write('ran\\n')",
        "1 + 1",
    )
    _tiny_lesson(lessons / "01_breaks.ipynb", "x = 1", "raise ValueError('boom')")
    shared = tmp_path / "run"
    # two workers of one test run
    first, second = LessonRuns(shared, lessons), LessonRuns(shared, lessons)
    first.run_all()
    executed = second.get("00_counts")
    assert executed["cells"][1]["outputs"][0]["data"]["text/plain"] == "2"
    assert (lessons / "runs.txt").read_text() == "ran\n"  # once, whoever asked
    for runs in (first, second):
        with pytest.raises(
            GalleryError,
            match=r"01_breaks\.ipynb failed in cell 1 .*ValueError: "
            r"boom",
        ):
            runs.get("01_breaks")
    with pytest.raises(KeyError, match="no lesson '02_missing'"):
        first.get("02_missing")
