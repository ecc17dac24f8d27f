"""Shared fixtures: every test runs in its own folder with its own store and fresh settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench.config
import workbench.models.catalog
import workbench.providers.fake


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh settings, fake provider, registered models; store and cwd inside tmp_path."""
    for var in (
        "WORKBENCH_CONFIG",
        "WORKBENCH_DEFAULT_MODEL",
        "WORKBENCH_TIMEOUT",
        "WORKBENCH_MAX_RETRIES",
        "WORKBENCH_LOCAL_THREADS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / ".wb-store"))
    monkeypatch.chdir(tmp_path)
    workbench.config.reset_settings()
    workbench.providers.fake.reset()
    workbench.models.catalog._registered.clear()
    yield
    workbench.config.reset_settings()
    workbench.providers.fake.reset()
    workbench.models.catalog._registered.clear()
