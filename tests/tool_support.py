"""The test tools the suite imports: skipped where absent, failed where the run requires them.

``python3 tasks.py test`` installs the test extra and the peer library and sets
ROBVIZ_REQUIRE_TEST_TOOLS=1, so a missing tool fails its tests there instead of letting the run pass
without checking anything. A plain ``pytest`` in an environment without them skips those tests.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str) -> ModuleType:
    """Return the imported ``module``; skip the test without it, or fail it when it is required."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        msg = f"{module} is missing ({error}); python3 tasks.py test installs it"
        if os.environ.get("ROBVIZ_REQUIRE_TEST_TOOLS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
