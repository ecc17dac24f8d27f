"""Tool calling with models as they behave today: tool calls streamed for every API shape give
what a plain reply gives; the Responses API takes tools, tool calls and results in its own shape
(flat functions, ``function_call`` / ``function_call_output`` items) and ``render_responses()``
emits the body the run sent; reasoning and tool calls come back side by side."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import openai
import pandas as pd
import pytest
from fidelity_helpers import MODELS, experiment, run, variant
from mock_helpers import OPENAI_KEY
from tool_cases import LOOKUP, REFUND, lookup_order, refund

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.testing.mockserver import MockServer

KINDS = ["openai", "responses", "anthropic", "compatible"]
SCRIPT = {
    "where is order 42": [{"name": "lookup_order", "arguments": {"order_id": "42"}}],
    "refund order 42": [
        {"name": "lookup_order", "arguments": {"order_id": "42"}},
        {"name": "refund", "arguments": {"order_id": "42", "amount": 30}},
    ],
    "broken": [{"name": "lookup_order", "arguments": '{"order_id": 4'}],
}
QUESTIONS = ["where is order 42", "refund order 42", "broken", "hello"]
CALL = {
    "id": "call_a",
    "type": "function",
    "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
}
STATE = [
    {"role": "user", "content": "where is order 42"},
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_a", "content": '{"status": "shipped"}'},
]
TRANSPORT = ("stream", "stream_options")


def without_ids(calls: Any) -> list[dict[str, Any]]:
    """Tool calls without their ids (the mock derives ids from the whole request body)."""
    return [{k: v for k, v in c.items() if k != "id"} for c in calls]


def tooled(kind: str, questions: list[str], **kw: Any) -> pd.DataFrame:
    kw.setdefault("tools", [LOOKUP, REFUND])
    return run(experiment([variant(kind, **kw)], questions)).df.set_index("q")


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_tool_calls_equal_plain_ones(srv: MockServer, kind: str, tmp_path: Path) -> None:
    srv.set_tool_calls(SCRIPT)
    streamed = tooled(kind, QUESTIONS)
    assert all(b.get("stream") is True for b in srv.bodies())
    srv.reset()
    wb.configure(stream=False, store=tmp_path / "plain-store")
    plain = tooled(kind, QUESTIONS)
    assert not any("stream" in b for b in srv.bodies())
    assert streamed["error"].isna().all() and plain["error"].isna().all()
    for q in QUESTIONS:
        assert without_ids(streamed.loc[q, "tool_calls"]) == without_ids(plain.loc[q, "tool_calls"])
        for column in ("output", "finish_reason", "output_tokens"):
            assert streamed.loc[q, column] == plain.loc[q, column], (q, column)
    calls = streamed["tool_calls"]
    assert [c["name"] for c in calls["refund order 42"]] == ["lookup_order", "refund"]
    assert calls["refund order 42"][1]["arguments"] == {"order_id": "42", "amount": 30}
    assert calls["broken"][0]["raw_arguments"] == '{"order_id": 4' and calls["broken"][0]["invalid"]
    assert calls["hello"] == [] and streamed.loc["hello", "output"] == "mock: hello"
    assert streamed.loc["where is order 42", "finish_reason"] == "tool_calls"
    assert streamed.loc["where is order 42", "output"] == ""
    assert streamed["ttft_ms"].notna().all() and plain["ttft_ms"].isna().all()


def test_the_responses_api_takes_tools_in_its_own_shape(srv: MockServer) -> None:
    srv.set_tool_calls(SCRIPT)
    df = tooled("responses", ["where is order 42"], tool_choice="refund", parallel_tool_calls=False)
    body = srv.bodies()[-1]
    assert body["tools"][0] == {
        "type": "function",
        "name": "lookup_order",
        "description": "Find an order by id.",
        "parameters": LOOKUP["function"]["parameters"],
        "strict": False,  # as Chat Completions: the Responses API would default to strict
    }
    assert body["tool_choice"] == {"type": "function", "name": "refund"}
    assert body["parallel_tool_calls"] is False and "messages" not in body
    (call,) = df.iloc[0]["tool_calls"]
    assert call["name"] == "refund" and call["id"].startswith("call_")


def test_a_conversation_with_tool_turns_through_the_responses_api(srv: MockServer) -> None:
    v = wb.Variant(
        "chat",
        model=MODELS["responses"],
        system="Be brief.",
        history="conversation",
        tools=[LOOKUP],
        params={"api": "responses"},
    )
    res = wb.Experiment("f", pd.DataFrame({"conversation": [STATE]}), [v]).run(
        progress=NullProgress()
    )
    row = res.df.iloc[0]
    assert row["error"] is None, row["error"]
    assert row["output"] == 'mock: {"status": "shipped"}' and row["tool_calls"] == []
    assert srv.bodies()[-1]["input"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "where is order 42"},
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "lookup_order",
            "arguments": '{"order_id": "42"}',
        },
        {"type": "function_call_output", "call_id": "call_a", "output": '{"status": "shipped"}'},
    ]


@pytest.mark.parametrize("kind", ["responses", "anthropic"])
def test_a_streamed_tool_loop(srv: MockServer, kind: str) -> None:
    srv.set_tool_calls(SCRIPT)
    df = tooled(kind, ["where is order 42"], tools=[lookup_order, refund], max_steps=3)
    row = df.iloc[0]
    assert row["error"] is None, row["error"]
    assert row["output"] == 'mock: {"order_id": "42", "status": "shipped"}'
    assert [t["role"] for t in row["trajectory"]] == ["assistant", "tool", "assistant"]
    assert all(b.get("stream") is True for b in srv.bodies()) and len(srv.bodies()) == 2


def test_render_responses_sends_the_tools_and_turns_the_run_sent(
    srv: MockServer, tmp_path: Path
) -> None:
    v = wb.Variant(
        "agent",
        model=MODELS["responses"],
        system="You are a support copilot.",
        history="conversation",
        user="Customer tier: {{ tier }}",
        tools=[LOOKUP, REFUND],
        tool_choice="auto",
        parallel_tool_calls=False,
        params={"api": "responses", "temperature": 0},
    )
    rows = pd.DataFrame({"conversation": [STATE], "tier": ["gold"]})
    res = wb.Experiment("parity", rows, [v]).run(progress=NullProgress())
    assert res.df["error"].isna().all(), res.df["error"].iloc[0]
    sent = {k: v for k, v in srv.bodies()[-1].items() if k not in TRANSPORT}
    loaded = wb.load_prompt(res.export("agent", name="agent", to=tmp_path / "prompts").path)
    inputs = {"conversation": copy.deepcopy(STATE), "tier": "gold"}
    kwargs = loaded.render_responses(**inputs)
    assert "extra_body" not in kwargs and kwargs == sent
    client = openai.OpenAI(base_url=srv.openai_base_url, api_key=OPENAI_KEY, max_retries=0)
    client.responses.create(**kwargs)
    assert srv.bodies()[-1] == sent  # the SDK sent production's request unchanged


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 2048}}),
        ("responses", {"reasoning_summary": "auto"}),
        ("openai", {"reasoning_effort": "high"}),
    ],
)
def test_reasoning_and_tool_calls_side_by_side(
    srv: MockServer, kind: str, params: dict[str, Any]
) -> None:
    srv.set_tool_calls(SCRIPT)
    srv.set_faults(reasoning_words=5)
    row = tooled(kind, ["where is order 42"], params=params).iloc[0]
    assert row["error"] is None, row["error"]
    assert [c["name"] for c in row["tool_calls"]] == ["lookup_order"]
    assert row["reasoning_tokens"] == 5 and not row["starved"]
    if kind != "openai":  # Chat Completions returns no reasoning text
        assert row["reasoning"] == "step1 step2 step3 step4 step5"
    assert row["output"] == "" and row["finish_reason"] == "tool_calls"


def test_the_mock_checks_responses_tool_requests_like_the_real_api(srv: MockServer) -> None:
    client = openai.OpenAI(base_url=srv.openai_base_url, api_key=OPENAI_KEY, max_retries=0)
    user = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError, match="not Chat Completions' nested 'function'"):
        client.responses.create(model="m", input=user, tools=[LOOKUP])
    output = {"type": "function_call_output", "call_id": "call_x", "output": "r"}
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        client.responses.create(model="m", input=[*user, output])
    call = {"type": "function_call", "call_id": "call_x", "name": "f", "arguments": "{}"}
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call"):
        client.responses.create(model="m", input=[*user, call, *user])


def test_the_estimate_counts_tool_definitions_in_the_shared_prefix() -> None:
    plain = wb.Variant("plain", model="openai/gpt-4o-mini", user="{{ q }}")
    with_tools = plain.replace(name="tools", tools=[LOOKUP, REFUND])
    est = experiment([plain, with_tools], ["one", "two"]).estimate()
    by = est.by_variant.set_index("variant")
    model = wb.models.resolve("openai/gpt-4o-mini", wb.config.get_settings())
    assert with_tools.tool_config is not None
    definitions = model.count_tools(with_tools.tool_config).total
    assert definitions > 0 and by.loc["plain", "prefix_tokens"] == 0  # rows share no text
    assert by.loc["tools", "prefix_tokens"] == definitions  # every row sends the same tools
