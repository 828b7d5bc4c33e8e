"""Screenshots of every lesson's figures as a student sees them: JupyterLab in headless Chromium.

Chromium runs at 1366 x 768.

    # this checkout
    python benchmarks/screenshots.py --out build/screenshots/after
    # another checkout, only some lessons
    python benchmarks/screenshots.py --root ../robviz-old --out build/screenshots/before \
        --only 02 04 lab

For each lesson of ``<root>/notebooks`` (or those whose number is given with ``--only``): open it,
Run All Cells, wait until it is done, then save every plotly figure and every widget box of the
notebook, in page order, as ``<out>/<lesson>_fig<i>.png``; lesson 3's centers explorer is shot again
after each move in MOVES (numbered on). ``lab`` (run by default, or named in ``--only``) saves
``<out>/lab.png``: what the checkout's ``tasks.py lab`` opens (the file browser at its root folder,
the first exercise of its start notebook), from a copy of the checkout's tracked files. The kernels
import robviz from ``--root`` (PYTHONPATH). Two checkouts give a before/after pair; nothing here
checks a figure (tests/lessons/test_figures_browser.py does).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "lessons")]  # the support modules, and the browser test
import test_browser  # noqa: E402
from browser_support import chromium_page, jupyter_lab, settle  # noqa: E402
from test_browser import mark_figures, open_and_run  # noqa: E402

SIZE = (1366, 768)
#: Every plotly figure and every widget box of the open notebook, numbered in page order; a figure
#: inside a widget box is shot with its box.
MARK_JS = """() => {
  const all = [...document.querySelectorAll(
    '.jp-NotebookPanel .js-plotly-plot, .jp-NotebookPanel .jp-OutputArea-output .widget-box')];
  const outer = all.filter(e => !all.some(o => o !== e && o.contains(e)));
  outer.forEach((e, i) => { e.dataset.robvizShot = i; });
  return outer.length;
}"""
#: A new figure in the dashboard and nothing computing (the old ones are marked by
#: test_browser.mark_figures).
REDRAWN_JS = (
    "b => b.querySelector('.js-plotly-plot:not([data-robviz-old]) .main-svg')"
    " && !/computing|training/.test(b.textContent)"
)
#: Dashboard moves shot after a lesson's figures: (slider label, key pressed on its handle), in
#: turn. Lesson 3: the centers explorer at its largest dimension d, then at its smallest norm C.
MOVES = {"03": [("dimension d", "End"), ("norm C", "Home")]}


def lab_target(root: Path, tmp: Path) -> tuple[Path, str]:
    """The folder the checkout's ``tasks.py lab`` roots JupyterLab at, and the notebook it opens.

    The notebook is relative; both are found by running its cmd_lab on a copy of the tracked files
    with the venv step skipped and the final launch captured.
    """
    stage = tmp / "checkout"
    for rel in subprocess.run(
        ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, stage / rel)
    spec = importlib.util.spec_from_file_location("checkout_tasks", stage / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    launched: list[list[str]] = []
    tasks.ensure_venv, tasks.PY = (lambda: None), sys.executable
    tasks.subprocess = SimpleNamespace(
        run=subprocess.run, call=lambda cmd, **kw: launched.append(cmd) or 0
    )
    tasks.cmd_lab([])
    args = [str(a) for a in launched[0][launched[0].index("lab") + 1 :]]
    target = next(stage / a for a in args if a.endswith(".ipynb"))
    # jupyter_server roots at the folder of a notebook given on its command line unless root_dir is
    # set.
    folder = next(
        (Path(a.split("=", 1)[1]) for a in args if a.startswith("--ServerApp.root_dir=")),
        target.parent,
    )
    return folder, target.relative_to(folder).as_posix()


def shoot_lab(page, root: Path, out: Path, tmp: Path) -> None:
    folder, notebook = lab_target(root, tmp)
    with jupyter_lab(folder, tmp) as (base, token, _):
        page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        page.locator(
            ".jp-FileBrowser .jp-BreadCrumbs-home"
        ).click()  # the file browser at the server's root
        exercise = page.locator(
            ".jp-NotebookPanel .jp-MarkdownCell", has_text=re.compile(r"Exercise \d+\.\d+")
        )
        # again once the markdown above has rendered (images, tables) and moved it
        for _ in range(2):
            exercise.first.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "lab.png"))
    print(f"lab: {notebook} in {folder.name}/ -> {out / 'lab.png'}", flush=True)


def shoot_box(page, box, path: Path) -> None:
    # A box taller than the notebook's scrolling area is cut by it: a taller window (same width,
    # same layout).
    height = box.evaluate("e => e.getBoundingClientRect().height")
    page.set_viewport_size({"width": SIZE[0], "height": max(SIZE[1], int(height) + 300)})
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box.screenshot(path=str(path))
    page.set_viewport_size({"width": SIZE[0], "height": SIZE[1]})
    print(f"shot: {path}", flush=True)


def shoot_lesson(page, lab, lesson: str, out: Path) -> None:
    try:
        open_and_run(page, lab, lesson)
        settle(page)
    except (Exception, pytest.fail.Exception) as e:  # a lesson that fails still shows what it drew
        print(f"{lesson}: {str(e).splitlines()[0]}", flush=True)
    count = page.evaluate(MARK_JS)
    for i in range(count):
        shoot_box(
            page,
            page.locator(f'.jp-NotebookPanel [data-robviz-shot="{i}"]'),
            out / f"{lesson[:-6]}_fig{i}.png",
        )
    for label, key in MOVES.get(lesson[:2], []):  # then the dashboard after each move, numbered on
        slider = page.locator(".widget-hslider", has_text=label)
        box = page.locator(".jp-NotebookPanel [data-robviz-shot]", has=slider).first
        slider = box.locator(".widget-hslider", has_text=label).first
        mark_figures(box)
        slider.locator(".noUi-handle").focus()
        page.keyboard.press(key)
        try:
            page.wait_for_function(
                REDRAWN_JS, arg=box.element_handle(), timeout=120_000, polling=500
            )
        except PlaywrightTimeout:
            print(f"{lesson}: {label!r} {key} did not redraw the dashboard", flush=True)
        shoot_box(page, box, out / f"{lesson[:-6]}_fig{count}.png")
        count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=TESTS.parent, help="a checkout of robviz (default: this one)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.add_argument("--only", nargs="*", default=[], help="lesson numbers (02 04) and/or lab")
    args = parser.parse_args()
    root, out = args.root.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH")) if p
    )
    test_browser.RUN_TIMEOUT_MS = 1_800_000  # a lesson on a small, busy machine
    lessons = sorted(
        p.name
        for p in (root / "notebooks").glob("[0-9]*.ipynb")
        if not args.only or p.name[:2] in args.only
    )
    with tempfile.TemporaryDirectory() as tmp, chromium_page(*SIZE) as page:
        page.set_default_timeout(60_000)
        if not args.only or "lab" in args.only:
            (Path(tmp) / "lab").mkdir()
            shoot_lab(page, root, out, Path(tmp) / "lab")
        if lessons:
            (Path(tmp) / "lessons").mkdir()
            with jupyter_lab(root / "notebooks", Path(tmp) / "lessons") as lab:
                for lesson in lessons:
                    shoot_lesson(page, lab, lesson, out)


if __name__ == "__main__":
    main()
