"""Shared pieces of the batch-mode tests: a mock server speaking both batch APIs, workbench
pointed at it through the real openai / anthropic SDKs, and small experiments."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.store import Store, StoredBatch
from workbench.testing.mockserver import BatchFaults, MockServer

MODELS = {"openai": "openai/gpt-6.2-sol", "anthropic": "anthropic/claude-haiku-4-5"}
SYSTEM = "Be brief."


def point_at(server: MockServer, **settings: Any) -> None:
    """Workbench's OpenAI and Anthropic providers at the mock; fast polls and retries."""
    wb.configure(
        provider_urls={"openai": server.openai_base_url, "anthropic": server.anthropic_base_url},
        batch_poll=0.05,
        backoff_base=0.01,
        backoff_cap=0.05,
        timeout=5.0,
        max_retries=2,
        **settings,
    )


@contextlib.contextmanager
def batch_server(monkeypatch: pytest.MonkeyPatch, **faults: Any) -> Iterator[MockServer]:
    """A mock server (by default batches end 0.1 s after they are made) and workbench pointed
    at it, with keys in the environment (the mock only checks one is sent)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "b" * 24)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-" + "b" * 24)
    with MockServer(batch=BatchFaults(**{"delay": 0.1, **faults})) as server:
        point_at(server)
        yield server


def questions(n: int, prefix: str = "q") -> wb.Dataset:
    return wb.Dataset(pd.DataFrame({"q": [f"{prefix}{i}" for i in range(n)]}))


def variant(kind: str, name: str | None = None, **kw: Any) -> wb.Variant:
    model = MODELS.get(kind, kind)
    return wb.Variant(name or kind, model=model, system=SYSTEM, user="{{ q }}", **kw)


def created(srv: MockServer) -> dict[str, int]:
    """Batches the mock has accepted, by API."""
    return dict(srv.stats()["batches"]["created"])


def chat_calls(srv: MockServer) -> int:
    """Real-time calls the mock answered (Chat Completions, Responses, Messages)."""
    by_path = srv.stats()["by_path"]
    paths = ("/v1/chat/completions", "/v1/responses", "/v1/messages")
    return int(sum(by_path.get(path, 0) for path in paths))


def stored_batches() -> list[StoredBatch]:
    with Store(wb.config.get_settings().store_path) as store:
        return store.batches()
