"""The lessons as an nbgrader course, graded end to end: the first half of the lessons.

The second half is in test_grading_later.py, so that the halves run in parallel. See
grading_support.grade_lesson for what each lesson must pass; a lesson without a wrong answer to
grade fails test_registries.py.
"""

import pytest

from grading_support import FIRST_HALF, grade_lesson


@pytest.mark.slow
@pytest.mark.parametrize("lesson", FIRST_HALF)
def test_lesson_grades_end_to_end_with_nbgrader(lesson, tmp_path, lesson_runs):
    grade_lesson(lesson, tmp_path, lesson_runs)
