"""Lesson 5's full mode (ROBVIZ_FULL=1: the digits study at full size, then MNIST-5k).

It takes about 3 minutes on one thread. A file of its own: pytest-xdist (--dist loadfile) gives each
file to one worker, so this runs beside the other lessons' full runs
(tests/lessons/test_full_mode.py) instead of after them.
"""

import pytest
from lesson_runs import run_full

pytestmark = pytest.mark.slow


def test_detection_full_mode_runs_green():
    run_full("05_detection")
