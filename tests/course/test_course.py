"""Exercises and student versions: the checks give hints, the student notebooks hold no solution.

The student notebooks hold no hidden test either (nbgrader's preprocessors make them). Grading with
nbgrader end to end: test_grading.py.
"""

import json
import os
import re
from pathlib import Path

import pytest
import torch

from robviz import cli, exercises
from robviz.course import (
    CODE_STUB,
    course_exercises,
    init_course,
    is_graded,
    is_solution,
    student_notebook,
    student_view,
    write_student_versions,
)

ROOT = Path(__file__).resolve().parents[2]
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
    assert used <= set(exercises.registered()), (
        f"unregistered: {used - set(exercises.registered())}"
    )
    assert set(exercises.registered()) <= used, (
        f"never checked in a lesson: {set(exercises.registered()) - used}"
    )


def test_every_answer_cell_is_followed_by_its_graded_check_cell():
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        cells = notebook["cells"]
        graded = course_exercises(notebook)
        assert graded, f"{path.name} has no nbgrader exercise"
        for answer, check, points in graded:
            found = CHECK.search(_source(cells[check]))
            assert found, (
                f"{path.name} cell {check}: the tests cell does not call robviz.exercises.check"
            )
            key = found.group(1).replace(".", "_")
            assert cells[answer]["metadata"]["nbgrader"]["grade_id"] == f"answer_{key}"
            assert cells[check]["metadata"]["nbgrader"]["grade_id"] == f"check_{key}"
            source = _source(cells[answer])
            assert source.count("### BEGIN SOLUTION") == 1 and source.count("### END SOLUTION") == 1
            hidden = "### BEGIN HIDDEN TESTS" in _source(cells[check])
            assert hidden == exercises.has_variants(found.group(1)), (
                f"{path.name}: exercise {found.group(1)}"
            )
            assert points == (2 if hidden else 1)
        # every check cell is a graded cell: nothing to grade is left outside the gradebook
        assert (
            sum(is_graded(c) for c in cells)
            == sum(bool(CHECK.search(_source(c))) for c in cells)
            == len(graded)
        )


def test_each_lesson_has_self_checked_exercises():
    for path in NOTEBOOKS:
        lesson = str(int(path.name[:2]))
        ids = {i for cell in _cells(path) for i in CHECK.findall(_source(cell))}
        assert ids, f"{path.name} has no self-checked exercise"
        assert all(i.split(".")[0] == lesson for i in ids), (
            f"{path.name} checks another lesson's exercise: {ids}"
        )


def test_student_view_of_a_run_keeps_the_lesson_outputs_and_hides_the_exercises():
    """The gallery page of a lesson run with its solutions shows the exercises as students get them.

    The exercise cells are as the student version has them (stubs, no hidden tests, no output),
    every other output as it ran.
    """
    original = json.loads(NOTEBOOKS[1].read_text())
    executed = json.loads(json.dumps(original))
    for index, cell in enumerate(executed["cells"]):
        if cell["cell_type"] == "code":
            cell["execution_count"] = index
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": f"ran cell {index}\n"}
            ]
    view = student_view(executed)
    student = student_notebook(original)
    assert [_source(c) for c in view["cells"]] == [_source(c) for c in student["cells"]]
    for index, cell in enumerate(view["cells"]):
        if cell["cell_type"] != "code":
            continue
        if is_solution(cell) or is_graded(cell):
            assert cell["outputs"] == [] and cell["execution_count"] is None
        else:
            assert _source({"source": cell["outputs"][0]["text"]}) == f"ran cell {index}\n"
            assert cell["execution_count"] == index


def test_student_versions_hold_no_solution_and_no_hidden_test(tmp_path):
    written = cli.student({"lessons": str(ROOT / "notebooks"), "out": str(tmp_path)})
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, student in zip(NOTEBOOKS, written):
        solutions = [c for c in _cells(original) if is_solution(c)]
        student_cells = _cells(student)
        assert len(student_cells) == len(_cells(original))
        text = "\n".join(_source(c) for c in student_cells)
        assert (
            "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "seed=seed" not in text
        )
        assert text.count(CODE_STUB) == len(solutions)
        assert all(not c.get("outputs") for c in student_cells if c["cell_type"] == "code")
        for solution in solutions:
            # Every line of a solution region that does real work is gone.
            region = _source(solution).split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in region.splitlines():
                line = line.strip()
                if (
                    line
                    and not line.startswith(("def ", "#", '"""', "import ", "from "))
                    and "=" in line
                ):
                    assert line not in text, (
                        f"{student.name} still contains the solution line {line!r}"
                    )


def test_feedback_renders_its_markdown_as_html_and_as_plain_text():
    feedback = exercises.Feedback(
        "0.1",
        False,
        "Average over the batch (`.mean()`), *don't* sum: x * 2 is **not** `a*b*c` <b>",
    )
    shown = feedback._repr_html_()
    assert (
        "<code>.mean()</code>" in shown
        and "<em>don&#x27;t</em>" in shown
        and "<strong>not</strong>" in shown
    )
    assert "<code>a*b*c</code>" in shown and "x * 2" in shown and "&lt;b&gt;" in shown
    assert "`" not in shown and "*don" not in shown
    assert (
        str(feedback)
        == "Exercise 0.1: not yet. Average over the batch (.mean()), don't sum: x * 2 is not a*b*c "
        "<b>"
    )


def test_unanswered_cells_of_the_student_versions_print_nothing(tmp_path):
    """No student answer cell ends in a bare expression: IPython would show ``Out: Ellipsis``."""
    import ast

    for student in cli.student({"lessons": str(ROOT / "notebooks"), "out": str(tmp_path)}):
        for cell in _cells(student):
            if is_solution(cell):
                last = ast.parse(_source(cell)).body[-1]
                assert not isinstance(last, ast.Expr), (
                    f"{student.name}: {_source(cell)!r} echoes its last line"
                )


def _code(source, **nbgrader):
    metadata = (
        {"nbgrader": {"schema_version": 3, "locked": False, "task": False, **nbgrader}}
        if nbgrader
        else {}
    )
    return {
        "cell_type": "code",
        "id": f"cell-{abs(hash(source)) % 10**8}",
        "metadata": metadata,
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def test_student_version_of_a_function_and_a_value_exercise_runs_and_says_your_turn(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
        "cells": [
            _code(
                'def mmc(z, y, centers):\n    """Docstring stays."""\n    ### BEGIN SOLUTION\n'
                "    return 0.5 * (z - centers[y]).pow(2).sum(dim=1).mean()\n    ### END SOLUTION",
                solution=True,
                grade=False,
                grade_id="answer_0_2",
            ),
            _code(
                "### BEGIN HIDDEN TESTS\nsecret = 1\n### END HIDDEN TESTS\n"
                'feedback_mmc = exercises.check("0.2", mmc)',
                solution=False,
                grade=True,
                grade_id="check_0_2",
                points=2,
            ),
            _code(
                "z = 1\nloss_by_hand = ...  # your answer\n### BEGIN SOLUTION\nloss_by_hand = "
                "41.0\n"
                "### END SOLUTION",
                solution=True,
                grade=False,
                grade_id="answer_0_1",
            ),
            _code(
                'feedback_value = exercises.check("0.1", loss_by_hand)',
                solution=False,
                grade=True,
                grade_id="check_0_1",
                points=1,
            ),
        ],
    }
    student = student_notebook(notebook)
    sources = [_source(cell) for cell in student["cells"]]
    assert sources[0] == f'def mmc(z, y, centers):\n    """Docstring stays."""\n    {CODE_STUB}'
    assert sources[1] == 'feedback_mmc = exercises.check("0.2", mmc)'
    assert sources[2] == f"z = 1\nloss_by_hand = ...  # your answer\n{CODE_STUB}"
    namespace = {"exercises": exercises}
    exec(
        "\n".join(sources), namespace
    )  # the student version runs top to bottom: the checks say "your turn"
    assert not namespace["feedback_mmc"].answered and not namespace["feedback_value"].answered
    assert "secret" not in namespace
    assert (
        student["cells"][1]["metadata"]["nbgrader"]["points"] == 2
    )  # what nbgrader needs to grade it


def test_course_metadata_errors_are_clear():
    answer = _code(
        "### BEGIN SOLUTION\na = 1\n### END SOLUTION",
        solution=True,
        grade=False,
        grade_id="answer_a",
    )
    with pytest.raises(ValueError, match="followed by an nbgrader tests cell"):
        course_exercises({"cells": [answer]})
    check = _code("check(a)", solution=False, grade=True, grade_id="answer_a", points=1)
    with pytest.raises(ValueError, match="used twice"):
        course_exercises({"cells": [answer, check]})
    check = _code("check(a)", solution=False, grade=True, grade_id="check_a", points=0)
    with pytest.raises(ValueError, match="points > 0"):
        course_exercises({"cells": [answer, check]})
    unclosed = _code("### BEGIN SOLUTION\na = 1", solution=True, grade=False, grade_id="answer_b")
    with pytest.raises(RuntimeError, match="end solution"):
        student_notebook(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    unclosed,
                    _code("check(a)", solution=False, grade=True, grade_id="check_b", points=1),
                ],
            }
        )


def test_course_init_writes_a_course_and_never_overwrites_one(tmp_path):
    written = init_course(tmp_path / "course", ROOT / "notebooks", course_id="ml-robustness")
    config = (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert "c.CourseDirectory.course_id = 'ml-robustness'" in config and repr(CODE_STUB) in config
    assert "c.Execute.timeout = 900" in config
    import nbformat
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    from robviz.course.kernels import SlicedKernelClient

    settings = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path / "course")).load_config()
    executor = Execute(config=settings)
    executor.nb = nbformat.v4.new_notebook()
    manager = executor.create_kernel_manager()  # what autograde starts its kernels with
    assert manager.client_factory is SlicedKernelClient and executor.timeout == 900
    from nbgrader.converters import GenerateFeedback

    from robviz.course.feedback import FeedbackExporter

    # the feedback pages typeset math with the course's own MathJax (tests/course/test_feedback.py)
    assert GenerateFeedback(config=settings).exporter_class is FeedbackExporter
    lessons = [p for p in written if p.suffix == ".ipynb"]
    assert [p.parent.name for p in lessons] == [p.stem for p in NOTEBOOKS]
    assert all(p.read_bytes() == (ROOT / "notebooks" / p.name).read_bytes() for p in lessons)
    assert "nbgrader autograde" in (tmp_path / "course" / "README.md").read_text()
    with pytest.raises(FileExistsError, match="already holds a course"):
        init_course(tmp_path / "course", ROOT / "notebooks")
    with pytest.raises(FileNotFoundError, match="no lessons"):
        init_course(tmp_path / "other", tmp_path / "empty")
    assert cli.main(["course", "init", str(tmp_path / "via-cli")]) == 0
    assert (tmp_path / "via-cli" / "source" / "00_start_here" / "00_start_here.ipynb").exists()
    with pytest.raises(SystemExit, match="already holds a course"):
        cli.main(["course", "init", str(tmp_path / "via-cli")])


def test_hidden_checks_use_other_inputs_and_refuse_exercises_without_variants(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    from robviz.objectives import mmc_loss

    seen = []

    def recording(z, y, centers):
        seen.append(tuple(z.shape))
        return mmc_loss(z, y, centers)

    assert exercises.check("0.2", recording) and exercises.check("0.2", recording, seed=1)
    visible, hidden = seen[: len(seen) // 2], seen[len(seen) // 2 :]
    assert len(hidden) > len(visible) or hidden != visible  # other inputs, one more shape
    with pytest.raises(ValueError, match="no other inputs"):
        exercises.check("0.1", 41.0, seed=1)
    assert exercises.has_variants("2.3") and not exercises.has_variants("5.3")
    # A function hard-wired to the visible inputs' shapes passes the visible check but not the
    # hidden one.
    shapes = {(5, 2), (16, 9), (1, 3)}

    def overfitted(z, y, centers):
        return mmc_loss(z, y, centers) if tuple(z.shape) in shapes else z.sum() * 0

    assert exercises.check("0.2", overfitted)
    with pytest.raises(AssertionError, match="Exercise 0.2"):
        exercises.check("0.2", overfitted, seed=1, strict=True)


def test_under_nbgrader_checks_raise_and_return_no_value(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert exercises.check("0.1", 41.0) is None and shown and shown[0].passed
    with pytest.raises(AssertionError, match="factor 1/2"):
        exercises.check("0.1", 82.0)


def test_a_failed_check_shows_its_verdict_and_hint_as_text_not_a_traceback(monkeypatch, tmp_path):
    """A failed check in strict mode shows its feedback and hint as text, with no robviz frame.

    What a kernel shows, nbgrader's feedback and validation show too (the check cell's error
    output): the feedback alone, hint included, with no frame of robviz.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    expected = str(exercises.check("0.1", 82.0, strict=False))
    assert expected.startswith("Exercise 0.1: not yet.") and "factor 1/2" in expected
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell(config=config)
    shown = []
    monkeypatch.setattr(
        shell, "_showtraceback", lambda etype, evalue, stb: shown.append((etype, evalue, stb))
    )
    result = shell.run_cell("from robviz import exercises\nexercises.check('0.1', 82.0)")
    assert isinstance(result.error_in_exec, AssertionError)
    [(etype, evalue, traceback)] = shown
    assert etype is AssertionError  # the error's name, as nbgrader records it
    assert traceback == [expected] and str(evalue) == expected
    # Not a property of IPython: an error without the rendering shows its frames.
    shown.clear()
    shell.run_cell("from robviz import exercises\nexercises.check('99.9', 1.0)")
    assert any("exercises" in line and "__init__.py" in line for line in shown[0][2])


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
    assert (
        "not one of the options"
        in exercises.expect_choice("a plane", "a point", {"a line": "no"})[1]
    )


def test_lab_versions_leave_exercises_unanswered_and_fold_the_solutions(tmp_path):
    from robviz.course import SOLUTION_SUMMARY, lab_notebook, write_lab_versions

    written = write_lab_versions(ROOT / "notebooks", tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, lab in zip(NOTEBOOKS, written):
        cells = _cells(lab)
        code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
        folded = [
            _source(c)
            for c in cells
            if c["cell_type"] == "markdown" and SOLUTION_SUMMARY in _source(c)
        ]
        solutions = [_source(c) for c in _cells(original) if is_solution(c)]
        assert len(folded) == len(solutions), lab.name
        for solution, shown in zip(solutions, folded):
            assert "BEGIN SOLUTION" not in shown and "# your answer" not in shown
            body = solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            assert all(
                line.strip() in shown for line in body.splitlines()
            )  # on demand, in markdown
            for line in body.splitlines():
                line = line.strip()
                if (
                    line
                    and not line.startswith(("def ", "#", '"""', "import ", "from "))
                    and "=" in line
                ):
                    assert line not in code, f"{lab.name} runs the solution line {line!r}"
        # each folded solution follows its exercise's check cell
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "markdown" and SOLUTION_SUMMARY in _source(cell):
                previous = next(c for c in reversed(cells[:index]) if c["cell_type"] == "code")
                assert CHECK.search(_source(previous)), (
                    f"{lab.name}: a solution not after its check cell"
                )
        ids = [c.get("id") for c in cells]
        assert all(ids) == any(ids) and len(set(filter(None, ids))) == len(list(filter(None, ids)))
    # The student's work is kept: a second build writes nothing over it.
    written[0].write_text(written[0].read_text().replace("your code here", "my own answer"))
    assert write_lab_versions(ROOT / "notebooks", tmp_path) == []
    assert "my own answer" in written[0].read_text()
    assert lab_notebook(json.loads(NOTEBOOKS[0].read_text()))["cells"]


def _tasks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    return tasks


def test_tasks_lab_opens_the_student_lessons_at_the_repository_root(monkeypatch, capsys):
    tasks = _tasks()
    calls = []
    monkeypatch.setattr(tasks, "ensure_venv", lambda: calls.append("venv"))
    monkeypatch.setattr(tasks, "build_lessons", lambda: calls.append("build"))
    monkeypatch.setattr(
        tasks.subprocess, "call", lambda command, cwd, env: calls.append((command, cwd, env)) or 0
    )
    monkeypatch.setattr(
        tasks,
        "first_notebook",
        lambda folder=None: (folder or ROOT / "notebooks") / "00_start_here.ipynb",
    )
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/elsewhere")
    cull = [
        f"--MappingKernelManager.{name}={value}" for name, value in tasks.cull_settings().items()
    ]
    told = f"idle for {tasks.CULL_IDLE_MINUTES} minutes is shut down, even with its lesson open"
    assert len(cull) == 4
    assert tasks.cmd_lab([]) == 0
    assert calls[:2] == ["venv", "build"]  # the student's lab: no test tools
    command, cwd, env = calls[2]
    assert cwd == tasks.ROOT and f"--ServerApp.root_dir={tasks.ROOT}" in command
    assert "lessons/00_start_here.ipynb" in command
    assert not any(
        "MappingKernelManager" in flag for flag in command
    )  # culling read from the student config
    # The student's configuration first (no nbgrader authoring interface, culling), the user's own
    # after it.
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(tasks.STUDENT_CONFIG), "/elsewhere"]
    said = capsys.readouterr().out
    assert said.count(told) == 1 and "closing a lesson's tab shuts its kernel down" in said
    assert "Kernel > Shut Down All Kernels" in said
    calls.clear()
    assert tasks.cmd_lab(["--solutions", "--port=9999"]) == 0
    assert calls[0] == "venv"
    command, _, env = calls[
        1
    ]  # instructors: no student build, the solved lessons, nbgrader's interface
    assert (
        "notebooks/00_start_here.ipynb" in command
        and "--port=9999" in command
        and "--solutions" not in command
    )
    assert (
        all(flag in command for flag in cull) and env["JUPYTER_CONFIG_PATH"] == "/elsewhere"
    )  # same culling
    assert capsys.readouterr().out.count(told) == 1


#: Where a student reads how long an idle kernel lives: each must give the configuration's number.
CULL_TOLD = [
    ROOT / "README.md",
    ROOT / "docs" / "teaching.md",
    ROOT / "notebooks" / "00_start_here.ipynb",
]


def test_idle_kernels_are_culled_even_with_their_lesson_open_and_students_are_told_when():
    """The student configuration culls idle kernels, lesson open or not, never while a cell runs.

    An open tab keeps its kernel (and the lesson's data and models) alive; the timeout outlasts
    reading a lesson but not a forgotten tab.
    """
    tasks = _tasks()
    cull = json.loads((tasks.STUDENT_CONFIG / "jupyter_server_config.json").read_text())[
        "MappingKernelManager"
    ]
    assert cull == tasks.cull_settings()
    assert cull["cull_connected"] is True and cull["cull_busy"] is False
    assert 20 * 60 <= cull["cull_idle_timeout"] <= 30 * 60 and cull["cull_idle_timeout"] % 60 == 0
    assert (
        0 < cull["cull_interval"] <= 60
    )  # checked often enough that the timeout is what a student sees
    minutes = cull["cull_idle_timeout"] // 60
    assert tasks.CULL_IDLE_MINUTES == minutes
    for path in CULL_TOLD:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(
                _source(c) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown"
            )
        told = re.findall(r"idle\b[^.]*?\b(\d+) minutes", " ".join(text.split()))
        assert told and set(told) == {str(minutes)}, (
            f"{path.name} says idle kernels live {told} minutes"
        )
        assert "Kernel > Shut Down All Kernels" in " ".join(text.split()), (
            f"{path.name}: how to free them by hand"
        )


def test_the_student_lab_configuration_hides_nbgrader_and_shuts_closed_lessons_down(
    monkeypatch, tmp_path
):
    """What JupyterLab and Jupyter Server read with and without the student's configuration.

    With ``STUDENT_CONFIG`` on JUPYTER_CONFIG_PATH, and without it (the instructor's lab).
    """
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyterlab_server.config import get_federated_extensions, get_static_page_config
    from jupyterlab_server.settings_utils import _get_overrides

    nbgrader_lab = [
        name
        for name in get_federated_extensions(jupyter_path("labextensions"))
        if "nbgrader" in name
    ]
    assert nbgrader_lab == ["@jupyter/nbgrader"], (
        "nbgrader's lab extension is not where the configuration expects"
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))  # no user configuration

    def read():
        server = ExtensionConfigManager(
            read_config_path=jupyter_config_path()
        ).get_jpserver_extensions()
        servers = {
            name: enabled for name, enabled in server.items() if name.startswith("nbgrader.")
        }
        disabled = get_static_page_config(level="all").get("disabledExtensions", {})
        tracker = _get_overrides(str(tmp_path))[0].get("@jupyterlab/notebook-extension:tracker", {})
        return servers, disabled, tracker

    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    servers, disabled, tracker = read()  # the instructor's lab: nbgrader everywhere
    assert servers and all(servers.values()) and "@jupyter/nbgrader" not in disabled
    assert not tracker.get("kernelShutdown")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(_tasks().STUDENT_CONFIG))
    student_servers, disabled, tracker = read()
    assert student_servers == {
        name: False for name in servers
    }  # every nbgrader server extension off
    assert disabled in ({"@jupyter/nbgrader": True}, ["@jupyter/nbgrader"])
    assert tracker == {"kernelShutdown": True}


def test_tasks_help_installs_nothing(monkeypatch, capsys):
    """``tasks.py COMMAND --help`` prints that command's lines; it never builds .venv first.

    The commands pass their other arguments on (to jupyter lab, pytest, ...), so a ``--help`` that
    reached them would come only after minutes of installing.
    """
    tasks = _tasks()

    def refuse(*args, **kwargs):
        raise AssertionError("--help must not set anything up or start anything")

    for name in ("ensure_venv", "ensure_test_tools", "build_lessons", "ensure_chromium"):
        monkeypatch.setattr(tasks, name, refuse)
    monkeypatch.setattr(tasks.subprocess, "call", refuse)
    for command in tasks.COMMANDS:
        for flag in ("--help", "-h"):
            assert tasks.main([command, "--solutions", flag]) == 0
            said = capsys.readouterr().out
            assert f"python3 tasks.py {command} " in said, (command, said)
            assert f"python3 tasks.py {'test' if command == 'lab' else 'lab'} " not in said
            assert f"Other arguments go to {tasks.PASSED_TO[command][0]}" in said
    assert tasks.main(["--help"]) == 0
    said = capsys.readouterr().out
    assert all(f"python3 tasks.py {c}" in said for c in tasks.COMMANDS)
    assert tasks.main([]) == 2  # no command: the usage, as an error
    assert tasks.main(["serve"]) == 2
    assert "unknown command 'serve'" in capsys.readouterr().out


def test_tasks_installs_test_tools_for_the_tests_only():
    tasks = _tasks()
    lab = [args for _, args in tasks.install_steps("torch==2.13.0")]
    requirements = tasks.test_requirements()
    test = [args for _, args in tasks.test_tool_steps(requirements)]
    assert not any(tasks.PEER in args or "playwright>=1.40" in args for args in lab)
    # the test extra, read from robviz's installed metadata: the same list as pyproject.toml
    assert {"playwright>=1.40", "pytest-xdist>=3.5", "mypy>=1.10"} <= set(requirements)
    # every test tool goes into the prefix beside .venv, never into the lab's environment, and
    # the project itself never (pip would uninstall robviz from .venv to put it there)
    prefix = ["--prefix", str(tasks.TEST_TOOLS)]
    assert all(args[-2:] == prefix for args in test)
    assert not any("-e" in args or "." in args or ".[test]" in args for args in test)
    assert tasks.TEST_TOOLS != tasks.VENV and tasks.VENV not in tasks.TEST_TOOLS.parents
    assert test[0] == [*requirements, *prefix]
    # torchattacks' metadata would pull torchvision and a CUDA torch
    assert ["--no-deps", tasks.PEER, *prefix] in test


def test_the_test_run_finds_the_test_tools_and_the_lab_does_not(monkeypatch, tmp_path):
    tasks = _tasks()
    monkeypatch.setattr(tasks, "TEST_TOOLS", tmp_path / "tools")
    site = tmp_path / "tools" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    env = tasks.test_tools_env({"PYTHONPATH": "/mine", "PATH": "/usr/bin"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(site), "/mine"]
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "tools" / "bin")
    calls = []
    monkeypatch.setattr(tasks, "ensure_venv", lambda: calls.append("venv") or "digest")
    monkeypatch.setattr(tasks, "ensure_test_tools", lambda: calls.append("test tools"))
    monkeypatch.setattr(tasks, "build_lessons", lambda: None)
    monkeypatch.setattr(tasks.subprocess, "call", lambda command, cwd, env: calls.append(env) or 0)
    assert tasks.cmd_lab([]) == 0
    assert calls[0] == "venv" and "test tools" not in calls
    assert str(tasks.TEST_TOOLS) not in calls[-1].get("PYTHONPATH", "")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("student", [True, False], ids=["student", "instructor"])
def test_only_the_instructors_lab_shows_nbgrader_in_a_browser(monkeypatch, tmp_path, student):
    from browser_support import chromium_page, jupyter_lab

    if student:
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(_tasks().STUDENT_CONFIG))
    else:
        monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text(
        json.dumps(student_notebook(json.loads(NOTEBOOKS[0].read_text())))
    )
    with jupyter_lab(folder, tmp_path) as (base, token, _), chromium_page() as page:
        page.goto(f"{base}/lab/tree/00_start_here.ipynb?token={token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
        menu = page.locator("#jp-menu-panel .lm-MenuBar-item", has_text="Nbgrader")
        validate = page.locator(".jp-NotebookPanel-toolbar", has_text="Validate")
        if student:  # the app's plugins are all started once a notebook shows its cells
            assert menu.count() == 0 and validate.count() == 0
        else:
            menu.wait_for()
            validate.wait_for()


@pytest.mark.slow
@pytest.mark.browser
def test_an_idle_kernel_is_culled_with_its_lesson_open_and_the_lesson_runs_again(
    monkeypatch, tmp_path
):
    """The student configuration, timeout cut to seconds: an open tab's idle kernel is shut down.

    The tab is open and connected; the page keeps its outputs, and Run > Run All Cells starts a new
    kernel (what the start-here notebook says).
    """
    import shutil
    import time

    import nbformat
    from browser_support import chromium_page, jupyter_lab, lab_request

    config = shutil.copytree(_tasks().STUDENT_CONFIG, tmp_path / "student")
    server = json.loads((config / "jupyter_server_config.json").read_text())
    assert server["MappingKernelManager"]["cull_connected"] is True
    server["MappingKernelManager"].update(cull_idle_timeout=6, cull_interval=1)
    (config / "jupyter_server_config.json").write_text(json.dumps(server))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config))
    folder = tmp_path / "lessons"
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("import os\nprint(41 + 1, 'from process', os.getpid())")
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[cell],
            metadata={
                "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
            },
        ),
        folder / "t.ipynb",
    )
    with jupyter_lab(folder, tmp_path) as (base, token, _), chromium_page() as page:
        page.goto(f"{base}/lab/tree/t.ipynb?token={token}")
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)
        output = page.locator(".jp-OutputArea-output", has_text="42")

        def run_all(before=None):
            """Run > Run All Cells until the cell printed something else than ``before``.

            Again, as a click can land while the connection settles; the cell prints its process id,
            which differs on a new kernel. Returns the kernels and the output.
            """
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
                page.locator('#jp-mainmenu-run .lm-Menu-itemLabel:text-is("Run All Cells")').click()
                for _ in range(20):
                    page.wait_for_timeout(500)
                    if output.count() == 1 and output.inner_text() != before:
                        return lab_request(base, token, "/api/kernels"), output.inner_text()
            pytest.fail("Run > Run All Cells did not run the lesson")

        (kernel,), printed = run_all()
        assert (
            kernel["connections"] >= 1
        )  # the tab is connected: only cull_connected lets its kernel go
        deadline = time.monotonic() + 60
        while lab_request(base, token, "/api/kernels") and time.monotonic() < deadline:
            time.sleep(1)
        assert lab_request(base, token, "/api/kernels") == [], (
            "the idle kernel of an open lesson was not culled"
        )
        assert output.inner_text() == printed  # the page keeps its outputs
        (again,), reprinted = run_all(before=printed)
        assert again["id"] != kernel["id"] and "42 from process" in reprinted


PLAN_ROW = re.compile(r"^\| (\d+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", re.MULTILINE)
LESSON_NUMBERS = re.compile(r"[Ll]essons?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)")


def _header_paragraph(header: str, mark: str) -> str:
    found = next((p for p in re.split(r"\n\s*\n", header) if mark in p), "")
    return " ".join(found[found.index(mark) :].split()) if found else ""


def test_the_guides_lesson_plan_is_the_lessons_own():
    """docs/teaching.md's lesson plan and per-lesson parts: each lesson's own title and time.

    Each row's title is the one its notebook opens with, its run time ``about N s`` one the
    header's ``**Time.**`` paragraph names (the README's table is bound to the same headers, by
    tests/lessons/test_prose.py), and the lessons it lists before any parenthesis (lesson 0, the
    setup, aside) are those of the header's ``**Prerequisites**``. The guide's part on the lesson,
    ``### N · title``, has the same title.
    """
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    plan = guide[guide.index("## Lesson plan") :]
    rows = PLAN_ROW.findall(plan[: plan.index("\n### ")])
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [int(row[0]) for row in rows] == [int(p.name[:2]) for p in lessons], (
        "the lesson plan lost, reordered or invented a lesson"
    )
    for (number, title, prerequisites, run_time, _), path in zip(rows, lessons, strict=True):
        header = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"]
        header = "".join(header) if isinstance(header, list) else header
        first = header.splitlines()[0].lstrip("# ").strip()
        name = first.split(" · ", 1)[1] if first.startswith("Lesson") else first.split(" · ")[0]
        assert title.strip().startswith(name), f"lesson {number}: '{title.strip()}', not '{name}'"
        said = re.findall(r"(\d+) s\b", _header_paragraph(header, "**Time.**"))
        seconds = re.match(r"about (\d+) s\b", run_time.strip())
        assert seconds and seconds.group(1) in said, (
            f"lesson {number}: the plan says '{run_time.strip()}', its header {said} s"
        )
        wanted = {
            int(n)
            for group in LESSON_NUMBERS.findall(_header_paragraph(header, "**Prerequisites"))
            for n in re.findall(r"\d+", group)
        }
        listed = {int(n) for n in re.findall(r"\b\d+\b", re.sub(r"\(.*?\)", "", prerequisites))}
        assert listed - {0} == wanted, (
            f"lesson {number}: the plan says {listed}, its header {wanted}"
        )
        section = re.search(rf"^### {int(number)} · (.+)$", guide, re.MULTILINE)  # its own part
        assert section and section.group(1).startswith(name), (number, section and section[0])


@pytest.mark.parametrize(
    "command",
    [["student", "--out", "OUT"], ["course", "init", "OUT"], ["gallery", "--out", "OUT"]],
    ids=["student", "course", "gallery"],
)
def test_a_mistyped_lessons_folder_is_named_as_missing(tmp_path, command):
    """``--lessons`` naming no folder: one line saying so, not only that it holds no lessons."""
    missing = tmp_path / "notebokos"
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    with pytest.raises(SystemExit, match=re.escape(f"({missing} does not exist)")):
        cli.main([*argv, "--lessons", str(missing)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no (lessons|notebooks)") as refused:
        cli.main([*argv, "--lessons", str(tmp_path / "empty")])
    assert "does not exist" not in str(refused.value)


def test_the_readme_counts_each_lessons_checked_exercises():
    """The README's "N to M per lesson have a check cell" holds for every lesson."""
    words = "zero one two three four five six seven eight nine ten".split()
    said = re.search(
        r"(\w+) to (\w+) per lesson have a check cell",
        " ".join((ROOT / "README.md").read_text(encoding="utf-8").split()),
    )
    assert said, "the README no longer says how many exercises per lesson are checked"
    low, high = words.index(said.group(1)), words.index(said.group(2))
    counts = {p.name: len(course_exercises(json.loads(p.read_text()))) for p in NOTEBOOKS}
    assert all(low <= n <= high for n in counts.values()), counts
    assert {low, high} <= set(counts.values()), f"{counts}: the range is wider than the lessons"
