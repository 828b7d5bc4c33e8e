"""A real headless Chromium for the browser tests (test_browser.py, test_gallery.py).

Needs Debian's `chromium` (apt-get install chromium) and playwright from the `test` extra; Playwright never
downloads a browser here. `python3 tasks.py test` sets ROBVIZ_REQUIRE_BROWSER=1, so a missing browser fails
instead of skipping.
"""

import os
import shutil
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
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
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
