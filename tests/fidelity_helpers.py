"""Shared by the tests of models as they behave today (``test_fidelity_*``): the mock server with
workbench pointed at it, and small builders of one-variant experiments."""

from __future__ import annotations

from typing import Any

import pandas as pd

import workbench as wb
from workbench.engine.progress import NullProgress

MODELS = {
    "openai": "openai/gpt-6.2-sol",
    "responses": "openai/gpt-6.2-sol",
    "anthropic": "anthropic/claude-sonnet-4-6",
    "compatible": "mock/anything",
}
"""Each API shape and a model it is tried with (``responses``: OpenAI with api='responses')."""


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
