"""Full mode as promised: every lesson whose full-size run (ROBVIZ_FULL=1) fits CI runs green here, so a
full-mode assert can never silently break. The others are listed with the reason; their full-mode code paths
are the default ones at larger sizes.

Measured times (2 cores, one thread per lesson) are in the README's lesson table (benchmarks/run.py --full)."""

import os
from pathlib import Path

import pytest
from lesson_runs import LESSONS

from robviz.course.gallery import execute_lesson

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Lessons whose full mode fits CI's time on 2 cores.
IN_CI = ["01_feature_space", "02_attacks", "03_mm_centers", "04_sample_density", "06_ensembles",
         "07_mixup_inference", "08_honest_evaluation", "10_adversarial_training"]
#: In CI from a file of its own: pytest-xdist runs it on one worker while the other runs the lessons above.
ELSEWHERE = {"05_detection": "tests/test_full_mode_detection.py (about 12 minutes)"}
#: The rest, and why not in CI.
NOT_IN_CI = {
    "00_start_here": "no full mode (nothing to scale)",
    "09_resnets_at_scale": "needs a CUDA GPU in full mode",
}


def unaccounted(lessons) -> list[str]:
    """The lessons with no full-mode decision (in CI here, elsewhere, or not, with the reason)."""
    return [name for name in lessons if name not in {*IN_CI, *ELSEWHERE, *NOT_IN_CI}]


def test_every_lesson_is_accounted_for():
    assert unaccounted(LESSONS) == []
    assert {*IN_CI, *ELSEWHERE, *NOT_IN_CI} <= set(LESSONS), "a full-mode entry names no lesson"


@pytest.mark.parametrize("lesson", IN_CI)
def test_full_mode_runs_green(lesson):
    run_full(lesson)


def run_full(lesson: str) -> None:
    env = {**os.environ, "ROBVIZ_FULL": "1", "ROBVIZ_STRICT_EXERCISES": "1", "PLOTLY_RENDERER": "plotly_mimetype"}
    execute_lesson(NOTEBOOKS / f"{lesson}.ipynb", timeout=1800, env=env)
