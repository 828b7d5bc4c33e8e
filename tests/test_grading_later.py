"""The lessons as an nbgrader course, graded end to end: lessons 5-9 (0-4 are in test_grading.py)."""

import pytest

from grading_support import grade_lesson


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["05", "06", "07", "08", "09"])
def test_lesson_grades_end_to_end_with_nbgrader(lesson, tmp_path, lesson_runs):
    grade_lesson(lesson, tmp_path, lesson_runs)
