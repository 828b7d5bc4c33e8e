"""The lessons as an nbgrader course, graded end to end (lessons 0-4; 5-9 in test_grading_later.py, so that the
two halves run in parallel). See grading_support.grade_lesson for what each lesson must pass."""

import pytest

from grading_support import grade_lesson


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["00", "01", "02", "03", "04"])
def test_lesson_grades_end_to_end_with_nbgrader(lesson, tmp_path, lesson_runs):
    grade_lesson(lesson, tmp_path, lesson_runs)
