"""A batch run of today's requests gives what a real-time run gives: each batch line is the body
the real-time call sends (the one builder, ``providers/wire.py``, minus its streaming keys) for
Chat Completions, the Responses API (OpenAI batches of ``/v1/responses`` lines) and Anthropic,
with tools offered, reasoning and structured output; results are read back with the same
normalization. Tool loops run in real time in a batch run, and the estimate says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from batch_cases import MODELS, batch_server, chat_calls, created, stored_batches
from tool_cases import LOOKUP, REFUND, lookup_order

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.testing.mockcore import fingerprint
from workbench.testing.mockserver import MockServer

KINDS = ["openai", "responses", "anthropic"]
SCRIPT = {"where is order 42": [{"name": "lookup_order", "arguments": {"order_id": "42"}}]}
QUESTIONS = ["where is order 42", "hello"]
SCHEMA = {
    "title": "Capital",
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
SAME = (
    "output",
    "finish_reason",
    "reasoning",
    "reasoning_tokens",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "parsed",
)
"""Columns a batch answer and a real-time answer of the same request must agree on."""
TRANSPORT = ("stream", "stream_options")


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with batch_server(monkeypatch) as server:
        yield server


def variant(kind: str, name: str | None = None, **kw: Any) -> wb.Variant:
    params = dict(kw.pop("params", {}))
    if kind == "responses":
        params["api"] = "responses"
    model = MODELS["openai" if kind == "responses" else kind]
    return wb.Variant(
        name or kind, model=model, system="Be brief.", user="{{ q }}", params=params, **kw
    )


def experiment(variants: list[wb.Variant], questions: list[str]) -> wb.Experiment:
    return wb.Experiment("fidelity", wb.Dataset(pd.DataFrame({"q": questions})), variants)


def without_ids(calls: Any) -> list[dict[str, Any]]:
    """Tool calls without their ids (the mock derives them from the whole request body)."""
    return [{k: v for k, v in c.items() if k != "id"} for c in calls or []]


def same(a: Any, b: Any) -> bool:
    """Equal, or both empty (None / NA)."""
    empty = [x is None or (not isinstance(x, (dict, list)) and bool(pd.isna(x))) for x in (a, b)]
    return all(empty) if any(empty) else bool(a == b)


def unstreamed(bodies: list[dict[str, Any]]) -> set[str]:
    return {fingerprint({k: v for k, v in b.items() if k not in TRANSPORT}) for b in bodies}


def both_ways(srv: MockServer, v: wb.Variant, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same experiment in provider batches, then in real time (streamed) on a new store."""
    batch = experiment([v], QUESTIONS).run(mode="batch", progress=NullProgress())
    assert isinstance(batch, wb.Results) and batch.status == "complete", batch.message
    assert chat_calls(srv) == 0 and batch.df["batch_id"].notna().all()
    wb.configure(store=str(tmp_path / "realtime-store"))
    real = experiment([v], QUESTIONS).run(progress=NullProgress())
    assert real.df["batch_id"].isna().all() and chat_calls(srv) == len(QUESTIONS)
    assert all(b.get("stream") is True for b in srv.bodies())
    assert set(srv.stats()["batches"]["fingerprints"]) == unstreamed(srv.bodies())
    return batch.df.set_index("q"), real.df.set_index("q")


@pytest.mark.parametrize("kind", KINDS)
def test_tools_and_reasoning_go_in_batches_as_in_real_time(
    srv: MockServer, kind: str, tmp_path: Path
) -> None:
    srv.set_tool_calls(SCRIPT)
    srv.set_faults(reasoning_words=5)
    params: dict[str, Any] = {"max_tokens": 200}
    if kind != "anthropic":
        params["reasoning_effort"] = "low"
    batch, real = both_ways(srv, variant(kind, tools=[LOOKUP, REFUND], params=params), tmp_path)
    assert batch["error"].isna().all()
    for q in QUESTIONS:
        for column in SAME:
            assert same(batch.loc[q, column], real.loc[q, column]), (q, column)
        assert without_ids(batch.loc[q, "tool_calls"]) == without_ids(real.loc[q, "tool_calls"])
    called = batch.loc["where is order 42", "tool_calls"]
    assert [c["name"] for c in called] == ["lookup_order"]
    assert called[0]["arguments"] == {"order_id": "42"}
    assert batch.loc["hello", "output"] == "mock: hello"
    assert batch.loc["hello", "reasoning_tokens"] == 5


@pytest.mark.parametrize("kind", KINDS)
def test_structured_output_goes_in_batches_and_is_parsed(
    srv: MockServer, kind: str, tmp_path: Path
) -> None:
    batch, real = both_ways(srv, variant(kind, response_format=SCHEMA), tmp_path)
    assert list(batch["parsed"]) == [{"answer": "mock"}] * 2 == list(real["parsed"])


def test_an_openai_batch_serves_one_endpoint_chat_and_responses_go_apart(srv: MockServer) -> None:
    exp = experiment([variant("openai"), variant("responses")], ["a", "b"])
    res = exp.run(mode="batch", progress=NullProgress())
    assert isinstance(res, wb.Results) and res.status == "complete", res.message
    assert sorted(res.df["output"]) == ["mock: a", "mock: a", "mock: b", "mock: b"]
    assert created(srv) == {"openai": 2} and chat_calls(srv) == 0
    assert sorted(b.total for b in stored_batches()) == [2, 2]


def test_tool_loops_run_in_real_time_in_a_batch_run(srv: MockServer) -> None:
    srv.set_tool_calls(SCRIPT)
    loop = variant("openai", "loop", tools=[lookup_order], max_steps=2)
    single = variant("anthropic", "single")
    exp = experiment([loop, single], QUESTIONS)
    est = exp.estimate()
    assert est.realtime_loops == ("loop",) and est.realtime_only == ()
    assert "tool loops of loop, run in real time" in str(est)
    res = exp.run(mode="batch", progress=NullProgress())
    assert isinstance(res, wb.Results) and res.status == "complete", res.message
    df = res.df.set_index(["variant", "q"])
    assert pd.isna(df.loc[("loop", "where is order 42"), "batch_id"])
    trajectory = df.loc[("loop", "where is order 42"), "trajectory"]
    assert [t["role"] for t in trajectory][:2] == ["assistant", "tool"]
    assert df.xs("single")["batch_id"].notna().all()
    assert created(srv) == {"anthropic": 1}
