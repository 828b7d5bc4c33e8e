"""The lessons as an nbgrader course, graded end to end: the second half of the lessons (the
first is in test_grading.py)."""

import pytest

from grading_support import SECOND_HALF, grade_lesson


@pytest.mark.slow
@pytest.mark.parametrize("lesson", SECOND_HALF)
def test_lesson_grades_end_to_end_with_nbgrader(lesson, tmp_path, lesson_runs):
    grade_lesson(lesson, tmp_path, lesson_runs)
