"""Every test in this folder is a ``browser`` test, skipped where Chromium is missing
(``.ci/install-browser`` installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import CHROMIUM


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/install-browser installs it)"
    )
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(skip)
