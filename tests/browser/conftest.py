"""Every test in this folder is a ``browser`` test, skipped where Chromium is missing
(``.ci/install-browser`` installs it). ``lab`` is a JupyterLab server per test module and theme:
the tests that take it run once in the light theme and once in the dark one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chromium import CHROMIUM, SHOTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/install-browser installs it)"
    )
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(skip)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its URL, the folder it serves, its theme, a scratch folder."""

    url: str
    root: Path
    theme: str
    work: Path

    def shot(self, name: str) -> Path:
        """Where a screenshot of ``name`` goes: ``docs/screenshots/<name>.png`` in the light
        theme, ``<name>-dark.png`` in the dark one."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS / (f"{name}.png" if self.theme == "light" else f"{name}-{self.theme}.png")


@pytest.fixture(scope="module", params=["light", "dark"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")
    from lab import jupyterlab

    theme = str(request.param)
    work = tmp_path_factory.mktemp(f"lab-{theme}")
    root = work / "root"
    root.mkdir()
    env = {"WORKBENCH_STORE": str(root / ".workbench")}
    with jupyterlab(root, work, theme, env=env) as url:
        yield Lab(url, root, theme, work)
