"""Each lesson executed once per test run, shared by every check that reads its outputs.

A default-mode run of a lesson (nbclient, strict exercise checks, plotly's JSON renderer) is what
the cell check (test_lessons.py), the gallery (test_gallery.py), the figure check in JupyterLab
(test_figures_browser.py) and the reference submission of the grading (grading_support.py) all read.
pytest-xdist's workers share it through a folder of the run (next to the workers' temporary folders)
and one lock file per lesson: the first worker that asks for a lesson runs it, the others wait for
the lock and read the result. A lesson that fails is recorded with its error, and every check that
asks for it fails with that error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock, Timeout

from robviz.course.gallery import GalleryError, execute_lesson
from robviz.runtime import atomic_write

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def lessons(folder: Path = NOTEBOOKS) -> list[str]:
    """The lessons in ``folder`` (``NN_name.ipynb``) by name without ``.ipynb``, in teaching order.

    This is the registry every lesson check is parametrized over, so a new lesson is checked with no
    list to edit.
    """
    return sorted(path.stem for path in Path(folder).glob("[0-9][0-9]_*.ipynb"))


#: The lessons of this repository (``"02_attacks"``, ...).
LESSONS = lessons()
#: Seconds one cell may run: a stuck kernel fails after 15 minutes.
CELL_TIMEOUT = 900


def lesson_env() -> dict:
    """The kernel's environment: default mode, exercise checks that raise, plotly's JSON renderer.

    Checks raise so that a broken solution or check fails the run; JupyterLab and the gallery both
    draw from the JSON renderer.
    """
    env = {k: v for k, v in os.environ.items() if k != "ROBVIZ_FULL"}
    env.update(ROBVIZ_STRICT_EXERCISES="1", PLOTLY_RENDERER="plotly_mimetype")
    return env


class LessonRuns:
    """The executed lessons of one test run, in ``folder`` (shared by the workers).

    The lessons are read from ``notebooks``.
    """

    def __init__(self, folder: Path, notebooks: Path = NOTEBOOKS):
        self.folder, self.notebooks = Path(folder), Path(notebooks)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, lesson: str) -> Path:
        """The executed notebook's file (it exists once :meth:`get` returned)."""
        return self.folder / f"{lesson}.ipynb"

    def _run_once(self, lesson: str) -> None:
        """Run the lesson unless a worker already did (the caller holds its lock)."""
        done, failed = self.path(lesson), self.folder / f"{lesson}.error"
        if done.exists() or failed.exists():
            return
        try:
            executed = execute_lesson(
                self.notebooks / f"{lesson}.ipynb", timeout=CELL_TIMEOUT, env=lesson_env()
            )
        except GalleryError as error:
            atomic_write(failed, str(error))
            return
        atomic_write(done, json.dumps(executed, ensure_ascii=False))

    def _result(self, lesson: str) -> dict:
        failed = self.folder / f"{lesson}.error"
        if failed.exists():
            raise GalleryError(failed.read_text())
        return json.loads(self.path(lesson).read_text(encoding="utf-8"))

    def get(self, lesson: str) -> dict:
        """The executed notebook of ``lesson`` (nbformat 4 JSON); runs it when no worker has.

        Raises:
            GalleryError: the lesson failed (the message names the cell and the error).
        """
        if lesson not in lessons(self.notebooks):
            raise KeyError(f"no lesson {lesson!r}; the lessons are {lessons(self.notebooks)}")
        with FileLock(str(self.folder / f"{lesson}.lock")):
            self._run_once(lesson)
        return self._result(lesson)

    def run_all(self) -> None:
        """Make sure every lesson has run: first those no other worker is running, then the rest.

        Running those first lets two workers that ask for all of them split the work; the rest are
        waited for.
        """
        waiting = []
        for lesson in lessons(self.notebooks):
            lock = FileLock(str(self.folder / f"{lesson}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                waiting.append(lesson)
                continue
            try:
                self._run_once(lesson)
            finally:
                lock.release()
        for lesson in waiting:
            with FileLock(str(self.folder / f"{lesson}.lock")):
                self._run_once(lesson)


# ---------------------------------------------------------------------------------------- full mode
# Every lesson's full-mode decision (tests/lessons/test_full_mode.py runs those in CI): a new lesson
# without one fails there.

#: Lessons whose full mode fits CI's time on 2 cores.
IN_CI = [
    "01_feature_space",
    "02_attacks",
    "03_mm_centers",
    "04_sample_density",
    "06_ensembles",
    "07_mixup_inference",
    "08_honest_evaluation",
    "10_adversarial_training",
    "11_what_can_be_proven",
]
#: In CI from a file of its own: pytest-xdist runs it on one worker while the other runs the lessons
#: above.
ELSEWHERE = {
    "05_detection": "tests/lessons/test_full_mode_detection.py (about 3 minutes on one thread)"
}
#: The rest, and why not in CI.
NOT_IN_CI = {
    "00_start_here": "no full mode (nothing to scale)",
    "09_resnets_at_scale": "needs a CUDA GPU in full mode",
}


def unaccounted(lessons) -> list[str]:
    """The lessons with no full-mode decision (in CI here, elsewhere, or not, with the reason)."""
    return [name for name in lessons if name not in {*IN_CI, *ELSEWHERE, *NOT_IN_CI}]


def run_full(lesson: str) -> None:
    """Run ``lesson`` top to bottom in full mode (``ROBVIZ_FULL=1``), strict exercise checks.

    Raises naming the cell when one fails.
    """
    env = {
        **os.environ,
        "ROBVIZ_FULL": "1",
        "ROBVIZ_STRICT_EXERCISES": "1",
        "PLOTLY_RENDERER": "plotly_mimetype",
    }
    execute_lesson(NOTEBOOKS / f"{lesson}.ipynb", timeout=1800, env=env)
