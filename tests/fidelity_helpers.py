"""Shared by the tests of models as they behave today (``test_fidelity_*``): the mock server with
workbench pointed at it, and small builders of one-variant experiments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.testing.mockserver import MockServer

OPENAI_KEY = "sk-proj-" + "Fd3xQ2mZ9kLp4Rt8Yv3Nc6Hd1Fs5Gj0Ua2Ei7Ko9"
ANTHROPIC_KEY = "sk-ant-api03-" + "Hq4Xw8Er2Ty6Ui0Op3As7Df1Gh5Jk9Lz2Xc4Vb8N"

MODELS = {
    "openai": "openai/gpt-6.2-sol",
    "responses": "openai/gpt-6.2-sol",
    "anthropic": "anthropic/claude-sonnet-4-6",
    "compatible": "mock/anything",
}
"""Each API shape and a model it is tried with (``responses``: OpenAI with api='responses')."""


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
            backoff_cap=0.1,
            timeout=5.0,
            max_retries=3,
        )
        yield server


def params_for(kind: str, **params: Any) -> dict[str, Any]:
    """``params`` with the Responses API switch for the ``responses`` kind."""
    return {**params, "api": "responses"} if kind == "responses" else dict(params)


def variant(kind: str, name: str = "v", **kw: Any) -> wb.Variant:
    """A variant of the ``kind`` API: system "Be brief.", user ``{{ q }}``."""
    kw.setdefault("system", "Be brief.")
    kw.setdefault("user", "{{ q }}")
    kw["params"] = params_for(kind, **kw.get("params", {}))
    return wb.Variant(name, model=MODELS[kind], **kw)


def experiment(
    variants: list[wb.Variant], questions: list[str] | None = None, **kw: Any
) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": questions or ["hello big world"]}))
    return wb.Experiment("fidelity", ds, variants, **kw)


def run(exp: wb.Experiment) -> wb.Results:
    return exp.run(progress=NullProgress())
