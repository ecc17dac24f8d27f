"""Tool calling through the real ``openai`` and ``anthropic`` SDKs against the loopback mock:
tool calls, parallel calls, malformed arguments, tool_choice none/required/named, a follow-up
after tool results, tool loops — and render parity: what an exported prompt's ``render()`` /
``render_anthropic()`` sends equals what the evaluation sent (as canonical JSON, streaming keys
aside)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pandas as pd
import pytest
from tool_cases import LOOKUP, REFUND, lookup_order, refund

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.testing.mockcore import fingerprint
from workbench.testing.mockserver import MockServer

MODELS = {
    "openai": "openai/gpt-4o-mini",
    "responses": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
}
KINDS = list(MODELS)
API = {"responses": {"api": "responses"}}
"""Params that pick the API of a kind (``responses``: OpenAI's Responses API)."""
SCRIPT = {
    "where is order 42": [{"name": "lookup_order", "arguments": {"order_id": "42"}}],
    "refund order 42": [
        {"name": "lookup_order", "arguments": {"order_id": "42"}},
        {"name": "refund", "arguments": {"order_id": "42", "amount": 30}},
    ],
    "broken": [{"name": "lookup_order", "arguments": '{"order_id": 4'}],
}
STATE = [
    {"role": "user", "content": "where is order 42"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": '{"status": "shipped"}'},
]


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-key")
    with MockServer(tool_calls=SCRIPT) as server:
        wb.configure(
            provider_urls={
                "openai": server.openai_base_url,
                "anthropic": server.anthropic_base_url,
            },
            max_retries=0,
            timeout=5.0,
        )
        yield server


def run(kind: str, questions: list[str], **kw: Any) -> wb.Results:
    kw.setdefault("tools", [LOOKUP, REFUND])
    scorers = kw.pop("scorers", [])
    kw["params"] = {**API.get(kind, {}), **kw.get("params", {})}
    v = wb.Variant("v", model=MODELS[kind], user="{{ q }}", **kw)
    df = pd.DataFrame({"q": questions})
    return wb.Experiment("sdk", df, [v], scorers=scorers).run(progress=NullProgress())


def asked(srv: MockServer) -> list[str]:
    """Fingerprints of the request bodies the server answered, without how the reply travels
    (runs stream by default; production here calls without streaming)."""
    transport = ("stream", "stream_options")
    return sorted(
        fingerprint({k: v for k, v in body.items() if k not in transport}) for body in srv.bodies()
    )


def names(calls: Any) -> list[str]:
    return [c["name"] for c in calls]


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_call_is_normalized(srv: MockServer, kind: str) -> None:
    res = run(
        kind,
        ["where is order 42"],
        scorers=[wb.scorers.tool_args("lookup_order", {"order_id": "42"})],
    )
    row = res.df.iloc[0]
    assert row["output"] == "" and row["finish_reason"] == "tool_calls" and row["error"] is None
    (call,) = row["tool_calls"]
    assert call["name"] == "lookup_order" and call["arguments"] == {"order_id": "42"}
    assert call["id"].startswith("toolu_" if kind == "anthropic" else "call_")
    assert row["tool_args_pass"]
    assert srv.stats()["by_status"] == {"200": 1}


@pytest.mark.parametrize("kind", KINDS)
def test_the_exact_request_bodies(srv: MockServer, kind: str) -> None:
    run(kind, ["where is order 42"], tool_choice="lookup_order", parallel_tool_calls=False)
    if kind == "openai":
        body: dict[str, Any] = {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "where is order 42"}],
            "tools": [LOOKUP, REFUND],
            "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
            "parallel_tool_calls": False,
        }
    elif kind == "responses":
        body = {
            "model": "gpt-4o-mini",
            "input": [{"role": "user", "content": "where is order 42"}],
            "tools": [
                {"type": "function", **tool["function"], "strict": False}
                for tool in (LOOKUP, REFUND)
            ],
            "tool_choice": {"type": "function", "name": "lookup_order"},
            "parallel_tool_calls": False,
        }
    else:
        body = {
            "model": "claude-haiku-4-5",
            "messages": [{"role": "user", "content": "where is order 42"}],
            "max_tokens": 1024,
            "tools": [
                {
                    "name": "lookup_order",
                    "description": "Find an order by id.",
                    "input_schema": LOOKUP["function"]["parameters"],
                },
                {
                    "name": "refund",
                    "description": "Refund an order.",
                    "input_schema": REFUND["function"]["parameters"],
                },
            ],
            "tool_choice": {
                "type": "tool",
                "name": "lookup_order",
                "disable_parallel_tool_use": True,
            },
        }
    body["stream"] = True  # calls stream by default (the stream setting)
    if kind == "openai":  # the Responses API reports usage in its final event anyway
        body["stream_options"] = {"include_usage": True}
    assert srv.stats()["fingerprints"] == {fingerprint(body): 1}


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_calls_and_parallel_tool_calls_false(srv: MockServer, kind: str) -> None:
    both = run(kind, ["refund order 42"]).df.iloc[0]["tool_calls"]
    assert names(both) == ["lookup_order", "refund"]
    assert both[1]["arguments"] == {"order_id": "42", "amount": 30}
    one = run(kind, ["refund order 42"], parallel_tool_calls=False).df.iloc[0]["tool_calls"]
    assert names(one) == ["lookup_order"]


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_arguments_are_kept_and_marked(srv: MockServer, kind: str) -> None:
    res = run(
        kind,
        ["broken"],
        scorers=[wb.scorers.tool_called("lookup_order"), wb.scorers.tool_args_valid()],
    )
    row = res.df.iloc[0]
    (call,) = row["tool_calls"]
    assert call["arguments"] is None and call["raw_arguments"] == '{"order_id": 4'
    assert call["invalid"]
    assert row["error"] is None and row["tool_called_pass"]
    assert not row["tool_args_valid_pass"] and "not valid JSON" in row["tool_args_valid_reason"]


@pytest.mark.parametrize("kind", KINDS)
def test_tool_choice_none_required_and_named(srv: MockServer, kind: str) -> None:
    none = run(kind, ["where is order 42"], tool_choice="none").df.iloc[0]
    assert none["output"] == "mock: where is order 42" and none["tool_calls"] == []
    assert none["finish_reason"] == "stop"
    auto = run(kind, ["hello"], tool_choice="auto").df.iloc[0]
    assert auto["tool_calls"] == [] and auto["output"] == "mock: hello"
    required = run(kind, ["hello"], tool_choice="required").df.iloc[0]["tool_calls"]
    assert names(required) == ["lookup_order"] and required[0]["arguments"] == {"order_id": "hello"}
    named = run(kind, ["hello"], tool_choice="refund").df.iloc[0]["tool_calls"]
    assert names(named) == ["refund"] and named[0]["arguments"] == {
        "order_id": "hello",
        "amount": 1,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_follow_up_after_tool_results_in_a_conversation(srv: MockServer, kind: str) -> None:
    v = wb.Variant(
        "chat",
        model=MODELS[kind],
        system="Be brief.",
        history="conversation",
        tools=[LOOKUP, REFUND],
        params=API.get(kind, {}),
    )
    res = wb.Experiment("f", pd.DataFrame({"conversation": [STATE]}), [v]).run(
        progress=NullProgress()
    )
    row = res.df.iloc[0]
    assert row["error"] is None, row["error"]
    assert row["output"] == 'mock: {"status": "shipped"}' and row["tool_calls"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_loop_through_the_sdk(srv: MockServer, kind: str) -> None:
    res = run(kind, ["where is order 42", "hello"], tools=[lookup_order, refund], max_steps=3)
    df = res.df.set_index("q")
    assert df.loc["where is order 42", "output"] == 'mock: {"order_id": "42", "status": "shipped"}'
    assert [t["role"] for t in df.loc["where is order 42", "trajectory"]] == [
        "assistant",
        "tool",
        "assistant",
    ]
    assert df.loc["hello", "output"] == "mock: hello"
    assert srv.stats()["by_status"] == {"200": 3}


# -- render parity ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_render_sends_exactly_what_the_evaluation_sent(
    srv: MockServer, kind: str, tmp_path: Path
) -> None:
    v = wb.Variant(
        "agent",
        model=MODELS[kind],
        system="You are a support copilot.",
        history="conversation",
        user="Customer tier: {{ tier }}",
        tools=[LOOKUP, REFUND],
        tool_choice="auto",
        parallel_tool_calls=False,
        # The Responses API takes no stop sequences.
        params={"temperature": 0, **({"stop": ["END"]} if kind != "responses" else API[kind])},
    )
    rows = pd.DataFrame({"conversation": [STATE, STATE[:1]], "tier": ["gold", "basic"]})
    res = wb.Experiment("parity", rows, [v], scorers=[wb.scorers.tool_called("lookup_order")]).run(
        progress=NullProgress()
    )
    sent = asked(srv)
    assert len(sent) == 2
    p = res.export("agent", name="agent", to=tmp_path / "prompts")
    loaded = wb.load_prompt(tmp_path / "prompts" / "agent")
    assert loaded.tools is not None and loaded.tools.names == ("lookup_order", "refund")
    srv.reset()
    for conversation, tier in zip(rows["conversation"], rows["tier"], strict=True):
        inputs = {"conversation": copy.deepcopy(conversation), "tier": tier}
        if kind != "anthropic":
            client = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
            if kind == "responses":
                client.responses.create(**loaded.render_responses(**inputs))
            else:
                client.chat.completions.create(**loaded.render(**inputs))
        else:
            client2 = anthropic.Anthropic(
                base_url=srv.anthropic_base_url, api_key="test", max_retries=0
            )
            client2.messages.create(**loaded.render_anthropic(**inputs))
    assert asked(srv) == sent
    assert p.eval["scorers"] == [{"name": "tool_called", "args": {"tool": "lookup_order"}}]


# -- the mock refuses what the real APIs refuse ---------------------------------------------------


def test_the_mock_checks_tool_requests_like_the_real_apis(srv: MockServer) -> None:
    client = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
    user = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError, match="only allowed when 'tools' are specified"):
        client.chat.completions.create(model="m", messages=user, tool_choice="auto")
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding message"):
        client.chat.completions.create(
            model="m",
            messages=[*user, {"role": "tool", "tool_call_id": "x", "content": "r"}],
            tools=[LOOKUP],
        )
    with pytest.raises(openai.BadRequestError, match="did not have response messages: call_a"):
        client.chat.completions.create(model="m", messages=[*STATE[:2], *user], tools=[LOOKUP])
    with pytest.raises(openai.BadRequestError, match="no function named 'cancel'"):
        client.chat.completions.create(
            model="m",
            messages=user,
            tools=[LOOKUP],
            tool_choice={"type": "function", "function": {"name": "cancel"}},
        )
    claude = anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key="test", max_retries=0)
    use = {"type": "tool_use", "id": "t1", "name": "lookup_order", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "r"}
    turns: Any = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [result]},
    ]
    with pytest.raises(anthropic.BadRequestError, match="must define tools"):
        claude.messages.create(model="m", max_tokens=5, messages=turns)
    tool = {"name": "lookup_order", "input_schema": {"type": "object"}}
    with pytest.raises(anthropic.BadRequestError, match="without `tool_result` blocks"):
        claude.messages.create(
            model="m",
            max_tokens=5,
            messages=[*turns[:2], {"role": "user", "content": "x"}],
            tools=[tool],
        )
    reply = claude.messages.create(model="m", max_tokens=50, messages=turns, tools=[tool])
    assert reply.content[0].text == "mock: r" and reply.stop_reason == "end_turn"
