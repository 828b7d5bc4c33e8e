#!/usr/bin/env python3
"""Set-up commands for robviz (standard library only, Python 3.10+).

    python3 tasks.py lab [jupyter lab args...]  # make .venv, open the lessons (exercises blank)
    python3 tasks.py lab --solutions            # instructors: the solved lessons in notebooks/
    python3 tasks.py test [pytest args...]      # .venv, test tools in .venv-test, chromium, pytest
    python3 tasks.py test --quick               # unit tests only (no lesson runs, no browser)
    python3 tasks.py notebooks [nbconvert args] # execute every lesson headless into build/executed
    python3 tasks.py gallery [--only 00 01]     # every lesson as static HTML in build/gallery
    python3 tasks.py COMMAND --help             # that command's lines; installs nothing

Everything the lessons need is installed by these commands into .venv, the test tools by `test`
beside it into .venv-test (on the test run's PYTHONPATH only, never in the lab's environment);
nothing installed by hand is relied upon.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".robviz-install-stamp"
#: The test tools, installed by `tasks.py test` beside the lab's environment, never into it: a pip
#: prefix whose packages are on the test run's PYTHONPATH only (``test_tools_env``). pip installs
#: into it only what .venv lacks, so the tests run .venv's own torch, JupyterLab and robviz.
TEST_TOOLS = ROOT / ".venv-test"
TEST_STAMP = TEST_TOOLS / ".robviz-test-install-stamp"

# The torch the lessons are tested with. Pinning picks the version, not the build: on Linux,
# PyPI's wheel is a CUDA build (several GB with its nvidia-* packages), elsewhere a CPU one.
# ROBVIZ_TORCH (a pip requirement plus optional pip options) picks another, e.g. PyTorch's CPU-only
# wheels with its --index-url; or use environment.yml with conda instead.
DEFAULT_TORCH = "torch==2.13.0"


def step(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def run(cmd: list, **kw) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


#: The peer the attack tests compare with. --no-deps: its metadata asks for torchvision, which would
#: pull a multi-GB CUDA build of torch; it imports and runs without it.
PEER = "torchattacks==3.5.1"


#: compat mode puts the repository on sys.path with a .pth file: the default editable finder lets a
#: kernel started in notebooks/ import robviz as an empty namespace package. One more -q (pip's
#: -qq): setuptools' banner that compat mode will go away one day is about the build, not about the
#: user's environment.
EDITABLE = ["-q", "--config-settings", "editable_mode=compat"]


def install_steps(torch_spec: str) -> list:
    """(message, pip arguments) for each install step of the lab's environment, in order."""
    return [
        ("upgrading pip", ["--upgrade", "pip"]),
        # torch first, so the dependency resolution below keeps this build.
        (f"installing {torch_spec}", torch_spec.split()),
        ("installing robviz and what the lessons need (pip install -e .)", ["-e", ".", *EDITABLE]),
    ]


def test_tool_steps(requirements: list[str]) -> list:
    """(message, pip arguments) for each install step of the test tools, into ``TEST_TOOLS``.

    Run by .venv's pip with ``--prefix``: what .venv already holds counts as installed. The
    ``test`` extra's requirements by name, never the project itself: pip would uninstall robviz
    from .venv to reinstall it into the prefix.
    """
    prefix = ["--prefix", str(TEST_TOOLS)]
    return [
        (f"installing the test tools ({', '.join(requirements)})", [*requirements, *prefix]),
        (
            f"installing {PEER}, the peer the attack tests compare with",
            ["--no-deps", PEER, *prefix],
        ),
    ]


def test_requirements() -> list[str]:
    """The ``test`` extra's requirements, from robviz's metadata as .venv installed it."""
    code = (
        "from importlib.metadata import requires\n"
        "for r in requires('robviz') or []:\n"
        "    name, _, marker = r.partition(';')\n"
        "    if marker.replace(\"'\", '\"').replace(' ', '') == 'extra==\"test\"':\n"
        "        print(name.strip())"
    )
    found = subprocess.run([str(PY), "-c", code], capture_output=True, text=True, check=True)
    return found.stdout.split()


def _digest(steps: list, *extra: str) -> str:
    text = (ROOT / "pyproject.toml").read_bytes() + repr([steps, extra]).encode()
    return hashlib.sha256(text).hexdigest()


def ensure_venv() -> str:
    """.venv with what the lessons need, reinstalled on change; return its install digest.

    It is reinstalled when the dependencies, the torch spec or the pip steps change.
    """
    steps = install_steps(os.environ.get("ROBVIZ_TORCH", DEFAULT_TORCH))
    digest = _digest(steps)
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        step(".venv is up to date")
        return digest
    if not PY.exists():
        step("creating .venv")
        run([sys.executable, "-m", "venv", VENV])
    for msg, args in steps:
        step(msg)
        run([PY, "-m", "pip", "install", "-q", *args])
    STAMP.write_text(digest + "\n")
    step(".venv is ready")
    return digest


def ensure_test_tools() -> None:
    """.venv, then the test tools in ``TEST_TOOLS`` (made anew when either changes)."""
    lab = ensure_venv()
    steps = test_tool_steps(test_requirements())
    digest = _digest(steps, lab)
    if TEST_STAMP.exists() and TEST_STAMP.read_text().strip() == digest:
        step(f"{TEST_TOOLS.name} (the test tools) is up to date")
        return
    shutil.rmtree(TEST_TOOLS, ignore_errors=True)
    TEST_TOOLS.mkdir()  # pip makes it only when .venv lacks a tool
    for msg, args in steps:
        step(f"{msg}, into {TEST_TOOLS.name}")
        run([PY, "-m", "pip", "install", "-q", *args])
    TEST_STAMP.write_text(digest + "\n")


def test_tools_env(env: dict) -> dict:
    """``env`` with the test tools importable (PYTHONPATH) and their commands found (PATH)."""
    found = sorted(TEST_TOOLS.glob("lib*/python*/site-packages")) + sorted(
        TEST_TOOLS.glob("Lib/site-packages")
    )
    scripts = TEST_TOOLS / ("Scripts" if os.name == "nt" else "bin")
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, found), *filter(None, [env.get("PYTHONPATH")])])
    env["PATH"] = os.pathsep.join([str(scripts), str(BIN), *filter(None, [env.get("PATH")])])
    return env


#: The student's copies of the lessons (exercises unanswered, solutions folded), made by `tasks.py
#: lab`.
LESSONS = ROOT / "lessons"


def first_notebook(folder: Path | None = None) -> Path | None:
    folder = folder or ROOT / "notebooks"
    start = folder / "00_start_here.ipynb"
    if start.exists():
        return start
    found = sorted(folder.glob("[0-9]*.ipynb"))
    return found[0] if found else None


def build_lessons() -> None:
    """The student versions of notebooks/ in lessons/ (robviz.course.write_lab_versions).

    Each exercise unanswered, its solution folded under it; a lesson already in lessons/ is kept (it
    holds the student's work).
    """
    step(
        "writing the lessons you work in to lessons/ (exercises unanswered; existing ones are kept)"
    )
    run(
        [
            PY,
            "-c",
            "from robviz.course import write_lab_versions; "
            "print(*[p.name for p in write_lab_versions('notebooks', 'lessons')] or ['(none "
            "new)'])",
        ]
    )


#: The student's Jupyter configuration, put first on JUPYTER_CONFIG_PATH by `tasks.py lab` (not by
#: --solutions) and by binder/start: labconfig/page_config.json disables nbgrader's lab extensions
#: (its authoring menu, Create Assignment panel and Validate button are the instructor's),
#: labconfig/default_setting_overrides.json shuts a lesson's kernel down when its tab is closed,
#: jupyter_server_config.json turns nbgrader's server extensions off and culls kernels.
STUDENT_CONFIG = ROOT / "jupyter-config" / "student"


def cull_settings() -> dict:
    """The student configuration's kernel culling (Jupyter Server's ``MappingKernelManager``).

    A kernel that ran nothing for ``cull_idle_timeout`` seconds is shut down, even with its lesson
    open (``cull_connected``), never while a cell runs (``cull_busy`` false). Each kernel holds its
    lesson's data and models in memory, and a tab left open in a browser keeps it.
    """
    config = json.loads((STUDENT_CONFIG / "jupyter_server_config.json").read_text(encoding="utf-8"))
    return config["MappingKernelManager"]


#: Minutes a kernel may stay idle before it is shut down (``cull_settings``; the start-here notebook
#: and the README say the same number).
CULL_IDLE_MINUTES = cull_settings()["cull_idle_timeout"] // 60


def lab_command(args: list[str], solutions: bool) -> list[str]:
    """JupyterLab rooted at the repository, opening the start-here notebook.

    Its file browser shows robviz/, docs/ and the lessons; the notebook is the student version in
    lessons/, or with ``solutions`` the solved one in notebooks/. The student's lab reads its kernel
    culling from the student's configuration (``STUDENT_CONFIG``, put on the path by
    :func:`cmd_lab`); the instructor's, which does not read that configuration, gets the same
    culling as command-line options.
    """
    nb = first_notebook(ROOT / "notebooks" if solutions else LESSONS)
    target = [nb.relative_to(ROOT).as_posix()] if nb else []
    if is_root() and "--allow-root" not in args:
        args = ["--allow-root", *args]  # containers and CI machines often run as root
    cull = (
        [f"--MappingKernelManager.{name}={value}" for name, value in cull_settings().items()]
        if solutions
        else []
    )
    return [str(PY), "-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}", *cull, *target, *args]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_chromium() -> None:
    if shutil.which("chromium"):
        return
    if is_root() and shutil.which("apt-get"):
        step("installing Debian chromium (apt-get)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
    else:
        step(
            "chromium not found: the browser test needs it. Install it with\n"
            "         sudo apt-get install chromium   (Debian/Ubuntu)\n"
            "       or any Chromium and put it on PATH as `chromium`."
        )


def cmd_lab(args: list[str]) -> int:
    """Set up .venv and open JupyterLab (:func:`lab_command`).

    The student's lab (without ``--solutions``) first writes the lessons/ copies and reads the
    student's Jupyter configuration (``STUDENT_CONFIG``, ahead of any other on JUPYTER_CONFIG_PATH,
    as binder/start does): no nbgrader authoring interface, a lesson's kernel shut down when its tab
    closes, idle kernels culled. The instructor's keeps nbgrader's interface.
    """
    solutions = "--solutions" in args
    args = [a for a in args if a != "--solutions"]
    ensure_venv()
    env = dict(os.environ)
    if not solutions:
        build_lessons()
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [str(STUDENT_CONFIG), *filter(None, [os.environ.get("JUPYTER_CONFIG_PATH")])]
        )
    step(
        "starting jupyter lab at the repository root on "
        + ("the solved lessons (notebooks/)" if solutions else "your lessons (lessons/)")
    )
    step(
        "each running lesson holds its data and models in memory: "
        + ("closing a lesson's tab shuts its kernel down, and " if not solutions else "")
        + f"a kernel idle for {CULL_IDLE_MINUTES} minutes is shut down, even with its lesson open "
        "(Kernel > Shut Down All Kernels frees them all at once)"
    )
    return subprocess.call(lab_command(args, solutions), cwd=ROOT, env=env)


def test_workers() -> int:
    """pytest-xdist workers: ROBVIZ_TEST_WORKERS, else one per core up to 4.

    Each test runs on one thread. A ROBVIZ_TEST_WORKERS that is not a whole number exits with a
    message (SystemExit), before anything is installed.
    """
    wanted = os.environ.get("ROBVIZ_TEST_WORKERS")
    if not wanted:
        return max(1, min(os.cpu_count() or 1, 4))
    if not wanted.strip().isdigit():  # 0 and 1 run the tests in one process, as pytest's -n 0
        raise SystemExit(
            f"tasks.py: ROBVIZ_TEST_WORKERS must be a whole number of workers, got {wanted!r}"
        )
    return int(wanted)


#: What ``test --quick`` leaves out: the lesson runs and everything built on them (gallery, grading,
#: full mode) and the browser. What is left is the package's unit tests: the contributor's loop.
QUICK = ["-m", "not slow and not browser"]


def cmd_test(args: list[str]) -> int:
    quick = "--quick" in args
    args = [*QUICK, *(a for a in args if a != "--quick")] if quick else args
    workers = test_workers()  # a mistyped count is refused before minutes of installing
    ensure_test_tools()
    if not quick:
        ensure_chromium()
    # --dist loadfile: a module's shared fixtures (a JupyterLab server, a trained model) stay in one
    # worker, so each is built once per run; the lesson runs are shared by all workers
    # (tests/lesson_runs.py). Files are handed out in the suite's own order (long files first,
    # tests/conftest.py), not reordered by test count.
    parallel = (
        []
        if workers < 2 or any(a.startswith(("-n", "--numprocesses")) for a in args)
        else ["-n", str(workers), "--dist", "loadfile", "--no-loadscope-reorder"]
    )
    step(f"running pytest ({workers} worker(s))")
    # Both modes install the test tools (tests/tool_support.py): a missing one fails, never skips.
    env = test_tools_env(dict(os.environ, ROBVIZ_REQUIRE_BROWSER="0" if quick else "1"))
    env["ROBVIZ_REQUIRE_TEST_TOOLS"] = "1"
    # one thread per worker and per kernel: two thread pools on two cores slow each other down
    if parallel:
        env.setdefault("OMP_NUM_THREADS", "1")
    rc = subprocess.call([str(PY), "-m", "pytest", *parallel, *args], cwd=ROOT, env=env)
    if rc == 5:  # pytest: no tests collected, which must not pass as green
        step("pytest collected no tests")
        return 1
    return rc


def cmd_notebooks(args: list[str]) -> int:
    ensure_venv()
    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not nbs:
        step("no notebooks found")
        return 1
    step(f"executing {len(nbs)} notebook(s) into build/executed")
    return subprocess.call(
        [
            str(PY),
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output-dir",
            "build/executed",
            *args,
            *[str(n.relative_to(ROOT)) for n in nbs],
        ],
        cwd=ROOT,
    )


def cmd_gallery(args: list[str]) -> int:
    ensure_venv()
    step("building the static gallery of the lessons (robviz gallery)")
    return subprocess.call([str(PY), "-m", "robviz", "gallery", *args], cwd=ROOT)


COMMANDS = {"lab": cmd_lab, "test": cmd_test, "notebooks": cmd_notebooks, "gallery": cmd_gallery}

#: Where each command's other arguments go, and how to list them once .venv exists.
PASSED_TO = {
    "lab": ("jupyter lab", ".venv/bin/jupyter lab --help"),
    "test": ("pytest", ".venv/bin/python -m pytest --help"),
    "notebooks": ("jupyter nbconvert", ".venv/bin/jupyter nbconvert --help"),
    "gallery": ("robviz gallery", ".venv/bin/robviz gallery --help"),
}
HELP = ("-h", "--help")


def command_help(name: str) -> str:
    """The usage lines of ``name`` from this module's docstring, and where its arguments go.

    Printed for ``tasks.py NAME --help`` before anything is installed: the commands pass their other
    arguments on, so a ``--help`` reaching them would first build .venv (minutes, gigabytes).
    """
    lines = [
        line
        for line in __doc__.splitlines()
        if line.strip().startswith(f"python3 tasks.py {name} ")
    ]
    tool, listed = PASSED_TO[name]
    return "\n".join(
        [*lines, "", f"Other arguments go to {tool} (`{listed}` lists them once .venv exists)."]
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] in HELP:
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"tasks.py: unknown command {argv[0]!r}; the commands are: {', '.join(COMMANDS)}\n")
        print(__doc__.strip())
        return 2
    if any(arg in HELP for arg in argv[1:]):
        print(command_help(argv[0]))
        return 0
    try:
        return COMMANDS[argv[0]](argv[1:])
    except subprocess.CalledProcessError as exc:
        step(f"failed: {' '.join(map(str, exc.cmd))} (exit {exc.returncode})")
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
