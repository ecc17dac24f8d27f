"""The loopback mock server with workbench pointed at it (real-looking keys, fast backoff): the
``srv`` fixture shared by the tests that drive the real SDKs through whole runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import workbench as wb
from workbench.testing.mockserver import MockServer

OPENAI_KEY = "sk-proj-" + "Fd3xQ2mZ9kLp4Rt8Yv3Nc6Hd1Fs5Gj0Ua2Ei7Ko9"
ANTHROPIC_KEY = "sk-ant-api03-" + "Hq4Xw8Er2Ty6Ui0Op3As7Df1Gh5Jk9Lz2Xc4Vb8N"


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    """A fresh mock server; workbench pointed at it with fast backoff and real-looking keys."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with MockServer() as server:
        wb.configure(
            provider_urls={
                "openai": server.openai_base_url,
                "anthropic": server.anthropic_base_url,
            },
            endpoints={"mock": {"base_url": server.openai_base_url}},
            backoff_base=0.01,
            backoff_cap=0.2,
            timeout=5.0,
            max_retries=3,
        )
        yield server
