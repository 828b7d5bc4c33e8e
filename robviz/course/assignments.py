"""Course delivery: lessons are nbgrader source notebooks; nbgrader itself makes student versions.

A lesson's exercise is three cells, marked the way nbgrader (https://nbgrader.readthedocs.io)
expects:

* the exercise text (markdown);
* an *autograded answer* cell (``metadata.nbgrader.solution``) whose solution is fenced by
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``::

      def mmc(z, y, centers):
          \"\"\"MMC loss ...\"\"\"
          ### BEGIN SOLUTION
          return 0.5 * (z - centers[y]).pow(2).sum(dim=1).mean()
          ### END SOLUTION

  A value answer starts from a placeholder (``loss_by_hand = ...  # your answer``) that the
  solution overwrites;
* an *autograder tests* cell (``metadata.nbgrader.grade``, with points) that calls
  :func:`robviz.exercises.check`, the hint-giving self-check, after a ``### BEGIN HIDDEN TESTS``
  region that runs the same check on other inputs (seeds 1 and 2) and, where the lesson has them, on
  its own models.

The student version is what nbgrader's own preprocessors make of a lesson
(:func:`student_notebook`): solutions replaced by :data:`CODE_STUB`, hidden tests removed, outputs
cleared. The stub is ``pass``, so a student's Run All runs through, prints nothing for an unanswered
cell (``...`` as a cell's last line would echo ``Ellipsis``), and the checks answer "your turn"
instead of raising. ``robviz student`` writes those; ``robviz course init DIR`` writes a complete
nbgrader course (:func:`init_course`) in which nbgrader's ``generate_assignment`` makes the same
student versions and ``autograde`` grades them (strict checks raise there, see
:mod:`robviz.exercises`).

:func:`lab_notebook` is the version ``python3 tasks.py lab`` opens: the student version plus, after
each check cell, the solution in a folded markdown cell ("Show a solution"). Markdown never runs, so
Run All leaves every exercise unanswered, and a student who is stuck unfolds the answer.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat

from ..checks import integer
from ..runtime import atomic_write

__all__ = [
    "CODE_STUB",
    "is_solution",
    "is_graded",
    "course_exercises",
    "student_notebook",
    "student_view",
    "write_student_versions",
    "lab_notebook",
    "write_lab_versions",
    "init_course",
]

#: What replaces a solution region in the student version (nbgrader's ``ClearSolutions.code_stub``):
#: ``pass`` is valid as a function body and as a statement, so the student version runs top to
#: bottom, and unlike ``...`` it is not an expression, so an unanswered cell shows no ``Out:
#: Ellipsis``. A function left at the stub returns None, which the checks answer with "your turn".
CODE_STUB = "pass  # your code here"
_BEGIN_SOLUTION, _END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def is_solution(cell: dict) -> bool:
    """Return True for an nbgrader answer cell (``metadata.nbgrader.solution``).

    Parameters
    ----------
    cell : dict
        A notebook cell, nbformat 4 JSON as a dict.

    Returns
    -------
    bool
        Whether the cell is an answer cell.
    """
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def is_graded(cell: dict) -> bool:
    """Return True for an nbgrader autograder-tests cell.

    That is ``metadata.nbgrader.grade`` set, and not an answer cell.

    Parameters
    ----------
    cell : dict
        A notebook cell, nbformat 4 JSON as a dict.

    Returns
    -------
    bool
        Whether the cell is an autograder-tests cell.
    """
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(nbgrader.get("grade", False)) and not nbgrader.get("solution", False)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def course_exercises(notebook: dict) -> list[tuple[int, int, float]]:
    """Return a lesson's exercises in order: ``(answer cell index, tests cell index, points)``.

    Parameters
    ----------
    notebook : dict
        A lesson, nbformat 4 JSON as a dict.

    Returns
    -------
    list of tuple of (int, int, float)
        One ``(answer cell index, tests cell index, points)`` per answer cell, in cell order.

    Raises
    ------
    ValueError
        An answer cell not followed by a tests cell with points (a finite number > 0), an answer or
        tests cell without a grade id, a grade id used twice, or a code cell with a solution region
        that is not an answer cell (nbgrader would refuse the notebook later, with a less direct
        message).
    """
    cells, exercises, ids = notebook["cells"], [], set()
    for index, cell in enumerate(cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if (is_solution(cell) or is_graded(cell)) and not (grade_id and isinstance(grade_id, str)):
            # nbgrader's validator refuses it only at generate_assignment
            raise ValueError(f"cell {index} is an nbgrader cell without a grade_id")
        if grade_id is not None:
            if grade_id in ids:
                raise ValueError(f"cell {index}: nbgrader grade_id {grade_id!r} is used twice")
            ids.add(grade_id)
        if not is_solution(cell):
            if cell.get("cell_type") == "code" and _BEGIN_SOLUTION in _source(cell):
                # nbgrader refuses it only later, at generate_assignment, without the cell
                raise ValueError(
                    f"cell {index} holds {_BEGIN_SOLUTION!r} but is not an nbgrader answer cell "
                    "(metadata.nbgrader.solution = true)"
                )
            continue
        following = next(
            (i for i in range(index + 1, len(cells)) if cells[i].get("cell_type") == "code"), None
        )
        if following is None or not is_graded(cells[following]):
            raise ValueError(
                f"answer cell {index} must be followed by an nbgrader tests cell (its check)"
            )
        raw = cells[following]["metadata"]["nbgrader"].get("points", 0)
        try:
            points = float(raw)
        except (TypeError, ValueError):
            points = math.nan
        # NaN points would pass a test `<= 0` and reach nbgrader's gradebook
        if isinstance(raw, bool) or not math.isfinite(points) or points <= 0:
            raise ValueError(f"tests cell {following} must carry points > 0, got {raw!r}")
        exercises.append((index, following, points))
    return exercises


def _nbgrader_student(notebook: dict, clear_output: bool = True) -> nbformat.NotebookNode:
    """Return ``notebook`` as nbgrader's preprocessors release it, as nbformat's node.

    Solutions stubbed, hidden tests removed and, with ``clear_output``, every output cleared.
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    # sources as strings, as nbgrader reads them
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    resources: dict = {}
    preprocessors = [ClearSolutions(code_stub={"python": CODE_STUB}), ClearHiddenTests()]
    for preprocessor in preprocessors + ([ClearOutput()] if clear_output else []):
        node, resources = preprocessor.preprocess(node, resources)
    return node


def student_notebook(notebook: dict) -> dict:
    """Return a copy of ``notebook`` (nbformat 4 JSON as a dict) as nbgrader releases it.

    Every solution region replaced by :data:`CODE_STUB`, hidden tests removed, outputs and saved
    widget state cleared.

    Parameters
    ----------
    notebook : dict
        A lesson with its solutions, nbformat 4 JSON as a dict.

    Returns
    -------
    dict
        The student version, nbformat 4 JSON as a dict; ``notebook`` is left unchanged.

    Raises
    ------
    ValueError
        As :func:`course_exercises`.
    RuntimeError
        nbgrader's, for an unclosed solution or hidden-tests region, or one outside a cell marked
        for it.
    """
    course_exercises(notebook)
    student = json.loads(nbformat.writes(_nbgrader_student(notebook)))
    student.get("metadata", {}).pop("widgets", None)
    return student


def student_view(executed: dict) -> dict:
    """Return what a student sees of a lesson that ran with its solutions.

    The gallery renders lessons this way from a run that the test suite shares with its other
    checks; ``robviz gallery`` executes the :func:`student_notebook` instead. The two pages differ
    only in the exercise cells.

    Parameters
    ----------
    executed : dict
        The lesson as it ran with its solutions, outputs included (nbformat 4 JSON as a dict).

    Returns
    -------
    dict
        A copy of ``executed`` with every solution region replaced by :data:`CODE_STUB`, hidden
        tests removed and the outputs of the exercise cells (answers and checks) cleared; every
        other output is kept.

    Raises
    ------
    ValueError, RuntimeError
        As :func:`student_notebook`.
    """
    course_exercises(executed)
    node = _nbgrader_student(executed, clear_output=False)
    for cell in node.cells:
        if cell.cell_type == "code" and (is_solution(cell) or is_graded(cell)):
            cell.outputs, cell.execution_count = [], None
    return json.loads(nbformat.writes(node))


def _missing(folder: Path) -> str:
    """`` (FOLDER does not exist)`` when it does not: a mistyped ``--lessons`` names itself."""
    return "" if folder.is_dir() else f" ({folder} does not exist)"


def _write_notebooks(
    source: str | Path,
    out: str | Path,
    convert: Callable[[dict], dict],
    *,
    keep_existing: bool,
) -> list[Path]:
    source, out = Path(source), Path(out)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source}{_missing(source)}")
    if out.resolve() == source.resolve():
        raise ValueError("the student and lab versions must go to another folder than the lessons")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = out / path.name
        if keep_existing and target.exists():
            continue
        atomic_write(
            target, json.dumps(_converted(path, convert), indent=1, ensure_ascii=False) + "\n"
        )
        written.append(target)
    return written


def _converted(path: Path, convert: Callable[[dict], dict]) -> dict:
    """Return ``convert`` of the notebook at ``path``; an error names the notebook.

    In a folder of a dozen lessons, "cell 34: grade id used twice" does not say which one.
    """
    try:
        return convert(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, RuntimeError) as exc:  # JSONDecodeError is a ValueError
        kind = ValueError if isinstance(exc, ValueError) else RuntimeError
        raise kind(f"{path.name}: {exc}") from exc


def write_student_versions(source: str | Path, out: str | Path) -> list[Path]:
    """Write the student version of every ``*.ipynb`` in folder ``source`` to ``out``.

    Each is made by :func:`student_notebook`.

    Parameters
    ----------
    source : str or Path
        The folder of the lessons.
    out : str or Path
        The folder written to (created if missing); a notebook already there is overwritten.

    Returns
    -------
    list[Path]
        The written paths, sorted.

    Raises
    ------
    FileNotFoundError
        No notebook in ``source``.
    ValueError
        ``out`` is ``source``; or as :func:`student_notebook`.
    RuntimeError
        As :func:`student_notebook`.
    """
    return _write_notebooks(source, out, student_notebook, keep_existing=False)


SOLUTION_SUMMARY = "Show a solution"


def _solution_text(answer_cell: dict) -> str:
    """Return the answer cell as the solution reads.

    The markers and the placeholder lines they overwrite are left out.
    """
    lines = _source(answer_cell).splitlines()
    kept = [
        line
        for line in lines
        if line.strip() not in (_BEGIN_SOLUTION, _END_SOLUTION)
        and "= ...  # your answer" not in line
    ]
    return "\n".join(kept)


def _solution_cell(solution: str) -> dict:
    """Return a markdown cell holding ``solution`` folded in <details>.

    It shows only its summary until clicked.
    """
    text = (
        f"<details><summary>{SOLUTION_SUMMARY}</summary>\n\n```python\n{solution.rstrip()}\n```\n\n"
        "</details>\n"
    )
    return {"cell_type": "markdown", "metadata": {"tags": ["solution-on-demand"]}, "source": text}


def lab_notebook(notebook: dict) -> dict:
    """Return the student version of ``notebook`` with each solution available on demand.

    The student version as made by :func:`student_notebook`.

    A folded markdown cell after each exercise's check cell. Run All runs no solution.

    Parameters
    ----------
    notebook : dict
        A lesson with its solutions, nbformat 4 JSON as a dict.

    Returns
    -------
    dict
        The lab version, nbformat 4 JSON as a dict.

    Raises
    ------
    ValueError, RuntimeError
        As :func:`student_notebook`.
    """
    student = student_notebook(notebook)
    original, out = notebook["cells"], []
    after_check = {check: answer for answer, check, _ in course_exercises(notebook)}
    for index, cell in enumerate(student["cells"]):
        out.append(cell)
        if index in after_check:
            out.append(_solution_cell(_solution_text(original[after_check[index]])))
    student["cells"] = out
    if any("id" in cell for cell in original):
        for index, cell in enumerate(out):
            cell.setdefault("id", f"solution-{index}")
    return student


def write_lab_versions(source: str | Path, out: str | Path) -> list[Path]:
    """Write :func:`lab_notebook` of every ``*.ipynb`` in ``source`` to ``out``.

    Parameters
    ----------
    source : str or Path
        The folder of the lessons.
    out : str or Path
        The folder written to (created if missing). The notebooks already there are left
        untouched (they hold the student's work; delete one to get a fresh copy).

    Returns
    -------
    list[Path]
        The paths written now, sorted.

    Raises
    ------
    FileNotFoundError
        No notebook in ``source``.
    ValueError
        ``out`` is ``source``; or as :func:`student_notebook`.
    RuntimeError
        As :func:`student_notebook`.
    """
    return _write_notebooks(source, out, lab_notebook, keep_existing=True)


_CONFIG = """\
# nbgrader configuration of the robviz course (written by `robviz course init`).
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = {course_id!r}
# robviz's stub keeps the student version runnable top to bottom: `pass` is a valid body and a valid
# statement.
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# Lessons train small models: a cell may take minutes on a small machine (nbgrader's default is
# 30 s).
c.Execute.timeout = {timeout}
# nbclient waits for each cell's reply in one poll as long as that timeout; a missed socket wake-up
# would stall the grading for all of it. robviz's kernel client polls in slices of a second
# (robviz/course/kernels.py).
c.AsyncKernelManager.client_class = "robviz.course.kernels.SlicedKernelClient"
# nbgrader's feedback template loads MathJax 2 from a CDN: offline, or behind a firewall, a student
# sees raw $...$. robviz's exporter puts the course's own MathJax 3 inside each page instead
# (robviz/course/feedback.py).
c.GenerateFeedback.exporter_class = "robviz.course.feedback.FeedbackExporter"
"""

_README = """\
# {course_id}: the robviz lessons as an nbgrader course

Each lesson is one assignment in `source/<lesson>/`. Its exercises are nbgrader *autograded
answer* cells (`### BEGIN SOLUTION` / `### END SOLUTION`) followed by *autograder tests* cells
with points: the visible part is robviz's self-check, which gives a targeted hint; the hidden
part (`### BEGIN HIDDEN TESTS`) runs the same check on other inputs. The gradebook is nbgrader's
own SQLite database, `gradebook.db`.

Run every command in this folder, with robviz installed in the environment the kernels use.

    # release/: solutions and hidden tests removed
    nbgrader generate_assignment 01_feature_space
    # on JupyterHub with an exchange; otherwise copy release/
    nbgrader release_assignment 01_feature_space
    # submitted/<student>/01_feature_space/
    nbgrader collect 01_feature_space
    # autograded/ and the scores in gradebook.db
    nbgrader autograde 01_feature_space
    # feedback/<student>/01_feature_space/*.html
    nbgrader generate_feedback 01_feature_space

The feedback pages carry their own MathJax (no CDN): their math shows offline too.
Replace `01_feature_space` by any lesson (`ls source`). Without an exchange, put a student's
notebook in `submitted/<student id>/<lesson>/` before `autograde`. A failed check shows robviz's
hint in the feedback. Points: 2 for writing a function, 1 for a number or a choice.
`nbgrader autograde` runs the whole lesson (a minute or two on a small machine per submission, in
the lessons' default mode).
"""


def init_course(
    folder: str | Path, lessons: str | Path, *, course_id: str = "robviz", timeout: int = 900
) -> list[Path]:
    """Write a ready nbgrader course in ``folder``.

    ``nbgrader_config.py``, ``source/<lesson>/<lesson>.ipynb`` for every lesson in ``lessons`` and a
    ``README.md`` for the instructor.

    Parameters
    ----------
    timeout : int
        Seconds one cell may run when nbgrader executes a lesson (``Execute.timeout``).

    Returns
    -------
    list[Path]
        The written files: the configuration, the README, then the lessons in order.

    Raises
    ------
    FileExistsError
        ``folder`` already holds a course (its ``nbgrader_config.py``), to protect a gradebook.
    FileNotFoundError
        No lesson in ``lessons``.
    ValueError
        A lesson whose exercise cells are not marked for nbgrader (see :func:`course_exercises`),
        named in the message, or a ``timeout`` that is not an integer >= 1.
    RuntimeError
        nbgrader's, naming the lesson, for a solution or hidden-tests region it cannot read (as
        :func:`student_notebook`): found here, not later by ``generate_assignment``.
    """
    folder, lessons = Path(folder), Path(lessons)
    paths = sorted(lessons.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no lessons (*.ipynb) in {lessons}{_missing(lessons)}")
    config = folder / "nbgrader_config.py"
    if config.exists():
        raise FileExistsError(
            f"{config} exists: {folder} already holds a course; choose an empty folder"
        )
    timeout = integer("timeout", timeout, low=1)
    for path in paths:  # what nbgrader's generate_assignment would refuse, refused now
        _converted(path, student_notebook)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(config, _CONFIG.format(course_id=course_id, stub=CODE_STUB, timeout=timeout))
    readme = folder / "README.md"
    atomic_write(readme, _README.format(course_id=course_id))
    written = [config, readme]
    for path in paths:
        target = folder / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written
