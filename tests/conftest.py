"""Shared fixtures: every test runs in its own folder with its own store and fresh settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import current_fake

import workbench.config
from workbench.providers.fake import FakeProvider

pytest_plugins = ["mock_helpers"]  # the `srv` fixture: the mock server with workbench pointed at it


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh settings; store and cwd inside tmp_path; no WORKBENCH_* variable from outside."""
    for var in (
        "WORKBENCH_CONFIG",
        "WORKBENCH_DEFAULT_MODEL",
        "WORKBENCH_TIMEOUT",
        "WORKBENCH_MAX_RETRIES",
        "WORKBENCH_LOCAL_THREADS",
        "WORKBENCH_LOCAL_GGUF",
        "WORKBENCH_GC_TUNING",
        "WORKBENCH_STREAM",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / ".wb-store"))
    monkeypatch.chdir(tmp_path)
    workbench.config.reset_settings()
    yield
    workbench.config.reset_settings()


@pytest.fixture
def fake() -> FakeProvider:
    """A fake provider handed to every run of the test (``fake.script(...)``, ``fake.calls``)."""
    return current_fake()
