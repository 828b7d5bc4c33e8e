"""A real headless Chromium for the browser tests (test_browser.py, test_gallery.py).

Needs Debian's `chromium` (apt-get install chromium) and playwright from the `test` extra;
Playwright never downloads a browser here. `python3 tasks.py test` sets ROBVIZ_REQUIRE_BROWSER=1, so
a missing browser fails instead of skipping.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # reported by chromium_page()
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def missing(what: str, install: str):
    """Skip the test, or fail it when ROBVIZ_REQUIRE_BROWSER=1."""
    msg = f"{what} is missing; install it with: {install}"
    if os.environ.get("ROBVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """A page in a headless Chromium (the system's `chromium`, driven by Playwright)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("Debian chromium", "sudo apt-get install chromium")
    if sync_playwright is None:
        missing("playwright", "pip install -e '.[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def shoot(page, name: str) -> Path:
    """A full-page screenshot in build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


# Lab settings for the test servers: render every cell (no windowing, so all outputs are in the DOM)
# and no news/update checks (no network, no pop-up).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_request(base: str, token: str, path: str, method: str = "GET"):
    """A call to the Jupyter server's REST API; the decoded JSON answer (None when empty)."""
    req = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


@contextmanager
def jupyter_lab(notebooks: Path, tmp: Path):
    """A JupyterLab on loopback serving a copy of ``notebooks``; yields (base URL, token, root).

    A copy, so autosave never writes outputs into the repository; it has its own config, kernels and
    workspaces under ``tmp``.
    """
    root = shutil.copytree(
        notebooks, tmp / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    settings = tmp / "settings"
    for rel, values in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(values))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp / "jupyter.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                lab_request(base, token, "/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp / "jupyter.log").read_text())
                time.sleep(0.5)
        yield base, token, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def settle(page):
    """Every figure drawn and the layout still for a moment.

    Plotly redraws responsive figures on resize.
    """
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel .js-plotly-plot')]"
        ".every(p => p.querySelector('.main-svg'))",
        timeout=60_000,
        polling=250,
    )
    # plotly redraws a responsive figure a moment after its column changes: wait until the figures'
    # sizes and the notebook's height read the same on three polls in a row (the layout is still),
    # not for a guessed time.
    page.wait_for_function(
        """() => {
            const now = JSON.stringify(
                [...document.querySelectorAll('.jp-NotebookPanel .js-plotly-plot')]
                .map(p => {
                    const r = p.getBoundingClientRect();
                    return [r.width, r.height, r.top];
                })
                .concat([[...document.querySelectorAll('.jp-WindowedPanel-outer')]
                    .map(e => e.scrollHeight)]));
            const w = window.__robvizLayout || (window.__robvizLayout = {last: null, same: 0});
            w.same = now === w.last ? w.same + 1 : 0;
            w.last = now;
            return w.same >= 2;
        }""",
        timeout=60_000,
        polling=250,
    )
    page.evaluate("() => { delete window.__robvizLayout; }")
