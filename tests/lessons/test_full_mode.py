"""Full mode as promised: every lesson whose full-size run (ROBVIZ_FULL=1) fits CI runs green here.

Thus a full-mode assert can never silently break. The others are listed with the reason; their
full-mode code paths are the default ones at larger sizes.

Which lesson runs where is decided in lesson_runs.py (IN_CI, ELSEWHERE, NOT_IN_CI). Measured times
(2 cores, one thread per lesson) are in the README's lesson table (benchmarks/run.py --full)."""

import pytest
from lesson_runs import ELSEWHERE, IN_CI, LESSONS, NOT_IN_CI, run_full, unaccounted

pytestmark = pytest.mark.slow


def test_every_lesson_is_accounted_for():
    assert unaccounted(LESSONS) == []
    assert {*IN_CI, *ELSEWHERE, *NOT_IN_CI} <= set(LESSONS), "a full-mode entry names no lesson"


@pytest.mark.parametrize("lesson", IN_CI)
def test_full_mode_runs_green(lesson):
    run_full(lesson)
