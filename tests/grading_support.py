"""Grade one lesson end to end with nbgrader's own command line, as an instructor would.

``robviz course init`` writes a course in a temporary folder; ``nbgrader generate_assignment``
releases the lesson; two students submit it: the reference (the lesson as it ran with its solutions
in the test run's shared execution, lesson_runs.py) and the release with one wrong-but-plausible
answer typed into its stub and every other exercise left untouched. ``nbgrader autograde`` grades
the reference from the outputs it was submitted with (it already ran: the grader's hidden tests are
in that run) and executes the other; ``generate_feedback`` writes its feedback. The scores are read
from nbgrader's gradebook.

The reference solutions typed into the release's stubs are not executed a second time: they are
checked to give, cell for cell, the code of the reference run (the release differs from the source
only by the solutions and hidden tests nbgrader takes out, and autograde puts the hidden tests
back), so their run would be the reference's run.
"""

from __future__ import annotations

import copy
import html
import json
import os
import subprocess
import sys
from pathlib import Path

from lesson_runs import NOTEBOOKS, lessons

from robviz.course import CODE_STUB, course_exercises, init_course, is_graded, is_solution

ROOT = Path(__file__).resolve().parents[1]
LESSONS = {name[:2]: NOTEBOOKS / f"{name}.ipynb" for name in lessons()}
#: The lesson numbers in two halves, one per test file, so that the halves are graded in parallel.
FIRST_HALF, SECOND_HALF = sorted(LESSONS)[: len(LESSONS) // 2], sorted(LESSONS)[len(LESSONS) // 2 :]

# One wrong-but-plausible answer per lesson: the answer cell, what the student types in place of the
# stub, and a phrase of the hint robviz's check must give for it.
WRONG = {
    "00": ("answer_0_2", "return (z - centers[y]).pow(2).sum(dim=1).mean()", "factor 1/2"),
    "01": (
        "answer_1_2",
        "return F.cross_entropy(h, y)",
        "ordinary cross-entropy with the one-hot label",
    ),
    "02": (
        "answer_2_2",
        "x = x.detach().requires_grad_(True)\n"
        "(grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)\n"
        "return (x + eps * grad.sign()).detach()",
        "Clip the result to the data bounds",
    ),
    "03": ("answer_3_1", "first_simplex_dim = 10", "Ten centers do not need ten dimensions"),
    "04": (
        "answer_4_1",
        "return -(z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(dim=2)",
        "It lacks the factor 1/2",
    ),
    "05": (
        "answer_5_2",
        "auc_by_hand = ((clean_scores[:, None] < adversarial_scores)\n"
        "               + 0.5 * (clean_scores[:, None] == adversarial_scores)).mean()",
        "Orientation reversed",
    ),
    "06": (
        "answer_6_1",
        "return -(probabilities * probabilities.log()).sum(dim=-1).mean(dim=0)",
        "the members' mean entropy",
    ),
    "07": ("answer_7_2", "mixed_eps = (1 - mixing_weight) * eps", "the partner's weight"),
    "08": ("answer_8_2", 'masking_evidence = "b"', "That is a healthy sign"),
    "09": (
        "answer_9_1",
        "return 0.01 * 0.1 ** ((epoch > 100) + (epoch > 150))",
        "The decay starts with epoch 100",
    ),
    "10": ("answer_10_2", 'carries_over = "a"', "can only fall"),
    "11": (
        "answer_11_1",
        "centre, radius = (high + low) / 2, (high - low) / 2\n"
        "centre, radius = centre @ w.T + b, radius @ w.T\n"
        "return (centre - radius).clamp(min=0), (centre + radius).clamp(min=0)",
        "with a negative weight, the low",
    ),
}


def ungraded(numbers) -> list[str]:
    """The lesson numbers that have no wrong-but-plausible answer to grade.

    Every lesson needs one.
    """
    return [number for number in numbers if number not in WRONG]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _solution(cell) -> str:
    """The lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.

    They are dedented to the markers' column.
    """
    lines = _source(cell).splitlines()
    begin = next(i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION")
    end = next(i for i, line in enumerate(lines) if line.strip() == "### END SOLUTION")
    indent = len(lines[begin]) - len(lines[begin].lstrip())
    return "\n".join(line[indent:] for line in lines[begin + 1 : end])


def _answer(released_cell, typed: str) -> str:
    """The released answer cell with the stub line replaced by ``typed``.

    ``typed`` is indented as the stub was.
    """
    lines = _source(released_cell).splitlines()
    stub = next(i for i, line in enumerate(lines) if line.strip() == CODE_STUB)
    indent = lines[stub][: len(lines[stub]) - len(lines[stub].lstrip())]
    return "\n".join(
        lines[:stub]
        + [indent + line if line else line for line in typed.splitlines()]
        + lines[stub + 1 :]
    )


#: Runs nbgrader commands one after the other in one Python process, each exactly as its command
#: line would (``NbGraderApp`` initialized from the arguments, then started): one interpreter start
#: and one import of nbgrader for all of them instead of one each (about 2.5 s a command).
_STEPS = """
import json, sys
from jupyter_core.application import NoStart
from nbgrader.apps.nbgraderapp import NbGraderApp

for argv in json.loads(sys.argv[1]):
    app = NbGraderApp.instance()
    app.initialize(argv)
    try:
        app.start()
    except NoStart:  # what launch_instance catches after a subcommand ran
        pass
    if app.subapp is not None:
        type(app.subapp).clear_instance()
    NbGraderApp.clear_instance()
"""


def _nbgrader(course: Path, *args: str) -> None:
    """Run ``nbgrader ARGS...`` in ``course``; assert it succeeds and logs no error."""
    _nbgrader_steps(course, list(args))


def _nbgrader_steps(course: Path, *steps: list[str]) -> None:
    """Run the nbgrader commands ``steps`` (each a list of arguments) in ``course``, in order.

    Asserts each succeeds and none logs an error.
    """
    # nbgrader runs `alembic` and starts kernels: both from this environment.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "-c", _STEPS, json.dumps(steps)],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    commands = "; ".join("nbgrader " + " ".join(step) for step in steps)
    assert result.returncode == 0, (
        f"{commands} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    assert "ERROR" not in result.stderr, f"{commands} logged an error:\n{result.stderr[-6000:]}"


def _submit(course: Path, assignment: str, student: str, notebook: dict) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    (folder / f"{assignment}.ipynb").write_text(json.dumps(notebook, indent=1), encoding="utf-8")


#: autograde's preprocessors for a submission that already ran: nbgrader's lists without ClearOutput
#: and Execute.
AS_SUBMITTED = [
    *(
        f"--Autograde.sanitize_preprocessors=nbgrader.preprocessors.{name}"
        for name in ("DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata")
    ),
    *(
        f"--Autograde.autograde_preprocessors={name}"
        for name in (
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        )
    ),
]


def _without_markers(source: str) -> str:
    """A source cell's code as it runs once its solution is typed in.

    The solution markers' lines are dropped.
    """
    return "\n".join(
        line
        for line in source.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def _without_hidden_tests(source: str) -> str:
    """A tests cell as nbgrader releases it: the hidden-tests region taken out.

    The region's markers are taken out with it.
    """
    lines, kept, hidden = source.splitlines(), [], False
    for line in lines:
        if line.strip() == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif line.strip() == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def grade_lesson(number: str, tmp_path: Path, lesson_runs) -> None:
    """The whole round trip for lesson ``number`` ("00", "01", ...).

    Asserts every promise of the course. ``lesson_runs``: the test run's shared executions (the
    conftest fixture).
    """
    lesson = LESSONS[number]
    assignment = lesson.stem
    course = tmp_path / "course"
    init_course(course, ROOT / "notebooks")
    _nbgrader(course, "generate_assignment", assignment)

    source = json.loads(lesson.read_text(encoding="utf-8"))
    released = json.loads(
        (course / "release" / assignment / lesson.name).read_text(encoding="utf-8")
    )
    exercises = course_exercises(source)
    points = {
        source["cells"][check]["metadata"]["nbgrader"]["grade_id"]: value
        for _, check, value in exercises
    }
    solutions = {
        cell["metadata"]["nbgrader"]["grade_id"]: _solution(cell)
        for cell in source["cells"]
        if is_solution(cell)
    }
    release_text = "\n".join(_source(cell) for cell in released["cells"])
    assert "BEGIN HIDDEN TESTS" not in release_text and "seed=seed" not in release_text
    for solution in solutions.values():
        assert solution not in release_text

    # The reference solutions typed into the release give the reference run's code, cell for cell
    # (tests cells with their hidden tests, which autograde puts back from the source).
    assert len(released["cells"]) == len(source["cells"]), (
        f"{assignment}: the release adds or drops cells"
    )
    for index, (cell, original) in enumerate(zip(released["cells"], source["cells"])):
        if is_solution(cell):
            typed = _answer(cell, solutions[cell["metadata"]["nbgrader"]["grade_id"]])
            assert typed == _without_markers(_source(original)), (
                f"{assignment} cell {index}: typed solution"
            )
        elif is_graded(cell):
            assert _source(cell) == _without_hidden_tests(_source(original)), (
                f"{assignment} cell {index}"
            )
        else:
            assert _source(cell) == _source(original), (
                f"{assignment} cell {index} differs in the release"
            )

    wrong = WRONG[number]
    student = copy.deepcopy(released)
    for cell in student["cells"]:
        if is_solution(cell) and cell["metadata"]["nbgrader"]["grade_id"] == wrong[0]:
            cell["source"] = _answer(cell, wrong[1])
    # The student's submission executes first: meanwhile another worker may still be running the
    # reference (the shared run), which is read only after.
    _submit(course, assignment, "student", student)
    _nbgrader(course, "autograde", assignment, "--CourseDirectory.student_id=student")
    _submit(course, assignment, "reference", lesson_runs.get(lesson.stem))
    _nbgrader_steps(
        course,
        ["autograde", assignment, "--CourseDirectory.student_id=reference", *AS_SUBMITTED],
        ["generate_feedback", assignment],
    )

    from nbgrader.api import Gradebook

    total = sum(points.values())
    check_id = "check" + wrong[0][len("answer") :]
    assert check_id in points, (
        f"{assignment}: WRONG names {wrong[0]!r}, which has no tests cell {check_id!r}"
    )
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:

        def scores(student_id):
            notebook = gradebook.find_submission_notebook(assignment, assignment, student_id)
            return notebook.score, {grade.name: grade.score for grade in notebook.grades}

        score, by_cell = scores("reference")
        assert score == total and by_cell == points, (
            f"{assignment}: reference solutions scored {by_cell}"
        )
        score, by_cell = scores("student")
        assert score == 0 and by_cell == dict.fromkeys(points, 0.0), (
            f"{assignment}: one wrong answer and the rest untouched scored {by_cell}"
        )

    # The student's notebook fails only in its tests cells: robviz's hint under the wrong answer,
    # its "your turn" under every untouched one, never an error elsewhere.
    autograded = json.loads(
        (course / "autograded" / "student" / assignment / lesson.name).read_text()
    )
    for index, cell in enumerate(autograded["cells"]):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if is_graded(cell):
            assert errors and errors[0]["ename"] == "AssertionError", (
                f"{assignment} cell {index}: {errors}"
            )
            if cell["metadata"]["nbgrader"]["grade_id"] == check_id:
                assert wrong[2] in errors[0]["evalue"], (
                    f"{assignment}: no hint {wrong[2]!r}: {errors[0]}"
                )
            else:
                assert "your turn" in errors[0]["evalue"], errors[0]["evalue"]
        else:
            assert not errors, (
                f"{assignment} cell {index} fails with the exercises unanswered: {errors}"
            )
    feedback = (course / "feedback" / "student" / assignment / f"{assignment}.html").read_text(
        encoding="utf-8"
    )
    assert html.escape(wrong[2], quote=False) in feedback or wrong[2] in feedback, (
        f"{assignment}: the feedback lacks robviz's hint {wrong[2]!r}"
    )
