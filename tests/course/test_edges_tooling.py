"""The course tooling at the edges of a lesson folder.

A lesson's answer cell without its nbgrader metadata, points that are not a number, a broken
notebook among several (named in the error), a timeout that is not a whole number of seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robviz import cli
from robviz.course import course_exercises, init_course, write_student_versions
from test_course import _code  # one way to write an nbgrader cell


def _lesson(points: object = 1, answer_marked: bool = True) -> dict:
    answer = (
        _code(
            "### BEGIN SOLUTION\na = 1\n### END SOLUTION", solution=True, grade=False, grade_id="a"
        )
        if answer_marked
        else _code("### BEGIN SOLUTION\na = 1\n### END SOLUTION")
    )
    check = _code("assert a == 1", solution=False, grade=True, grade_id="check_a", points=points)
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [answer, check]}


def _folder(tmp_path: Path, broken: dict | str) -> Path:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "00_fine.ipynb").write_text(json.dumps(_lesson()), encoding="utf-8")
    text = broken if isinstance(broken, str) else json.dumps(broken)
    (lessons / "01_broken.ipynb").write_text(text, encoding="utf-8")
    return lessons


def test_a_solution_region_in_an_unmarked_cell_is_refused_naming_the_cell():
    # it used to pass here and fail later, in nbgrader's generate_assignment, naming no cell
    with pytest.raises(ValueError, match=r"cell 0 holds '### BEGIN SOLUTION' but is not"):
        course_exercises(_lesson(answer_marked=False))


@pytest.mark.parametrize("points", [float("nan"), float("inf"), "two", True, None, -1])
def test_points_that_are_not_a_positive_number_are_refused(points):
    with pytest.raises(ValueError, match="must carry points > 0, got"):
        course_exercises(_lesson(points=points))


def test_whole_and_fractional_points_are_points():
    assert course_exercises(_lesson(points=2))[0][2] == 2.0
    assert course_exercises(_lesson(points=0.5))[0][2] == 0.5


@pytest.mark.parametrize(
    "broken, error, words",
    [
        (_lesson(answer_marked=False), ValueError, "is not an nbgrader answer cell"),
        (_lesson(points=0), ValueError, "points > 0"),
        ("", ValueError, "Expecting value"),
    ],
)
def test_an_error_in_one_lesson_of_a_folder_names_that_lesson(tmp_path, broken, error, words):
    lessons = _folder(tmp_path, broken)
    with pytest.raises(error, match=rf"^01_broken\.ipynb: .*{words}"):
        write_student_versions(lessons, tmp_path / "student")
    with pytest.raises(error, match=rf"^01_broken\.ipynb: .*{words}"):
        init_course(tmp_path / "course", lessons)
    assert not (tmp_path / "course").exists()  # refused before anything is written


def test_an_unclosed_solution_region_names_its_lesson(tmp_path):
    broken = _lesson()
    broken["cells"][0]["source"] = "### BEGIN SOLUTION\na = 1"
    lessons = _folder(tmp_path, broken)
    with pytest.raises(RuntimeError, match=r"^01_broken\.ipynb: .*end solution"):
        write_student_versions(lessons, tmp_path / "student")
    for command in (
        ["student", "--out", str(tmp_path / "s")],
        ["course", "init", str(tmp_path / "c")],
    ):
        with pytest.raises(SystemExit, match=r"^robviz: 01_broken\.ipynb: .*end solution"):
            cli.main([*command, "--lessons", str(lessons)])  # the commands: one line


@pytest.mark.parametrize("timeout", [0, 1.5, True, "900"])
def test_a_timeout_that_is_not_a_whole_number_of_seconds_is_refused(tmp_path, timeout):
    lessons = _folder(tmp_path, _lesson())
    with pytest.raises(ValueError, match="timeout"):
        init_course(tmp_path / "course", lessons, timeout=timeout)
    assert not (tmp_path / "course").exists()


def test_a_whole_timeout_reaches_the_configuration(tmp_path):
    written = init_course(tmp_path / "course", _folder(tmp_path, _lesson()), timeout=120)
    assert "c.Execute.timeout = 120\n" in written[0].read_text(encoding="utf-8")


def _tiny_lessons(tmp_path: Path) -> Path:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    for name in ("00_a", "01_b", "10_c", "11_d"):
        notebook = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "markdown", "id": "title", "metadata": {}, "source": f"# {name}"}
            ],
        }
        (lessons / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    return lessons


def _built(tmp_path: Path, only: object) -> list[str]:
    from robviz.course.gallery import build_gallery

    def executed(path: Path) -> dict:  # no kernel: the lesson as it is
        return json.loads(path.read_text(encoding="utf-8"))

    pages = build_gallery(_tiny_lessons(tmp_path), tmp_path / "site", only=only, executed=executed)
    return [page.name for page in pages]


def test_gallery_only_given_as_one_string_is_one_prefix(tmp_path):
    # "01" was read letter by letter, "0" and "1": every lesson of the folder was built
    assert _built(tmp_path, "01") == ["01_b.html", "index.html"]


def test_gallery_only_with_a_prefix_that_matches_no_lesson_names_it(tmp_path):
    # "99" was left out silently: the site lacked a lesson asked for
    with pytest.raises(FileNotFoundError, match=r"matches \['99'\]; the lessons are 00_a"):
        _built(tmp_path, ["01", "99"])
    assert not (tmp_path / "site").exists()


def test_gallery_only_with_prefixes_that_all_match(tmp_path):
    assert _built(tmp_path, ["00", "11"]) == ["00_a.html", "11_d.html", "index.html"]


@pytest.mark.parametrize("timeout", [0, 2.5])
def test_gallery_timeout_must_be_whole_seconds(tmp_path, timeout):
    from robviz.course.gallery import build_gallery

    with pytest.raises(ValueError, match="timeout"):
        build_gallery(_tiny_lessons(tmp_path), tmp_path / "site", timeout=timeout)


@pytest.mark.parametrize("grade_id", [None, "", 3])
@pytest.mark.parametrize("cell", [0, 1], ids=["answer", "tests"])
def test_an_nbgrader_cell_without_a_grade_id_is_refused(cell, grade_id):
    lesson = _lesson()
    metadata = lesson["cells"][cell]["metadata"]["nbgrader"]
    if grade_id is None:
        del metadata["grade_id"]
    else:
        metadata["grade_id"] = grade_id
    with pytest.raises(ValueError, match=f"cell {cell} is an nbgrader cell without a grade_id"):
        course_exercises(lesson)
