"""Conversations with tool turns: "given this state, what does the model call next?" — assistant
turns calling tools and tool turns with their results (OpenAI's shape), sent as they are, checked
before any call, converted for Anthropic."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from tool_cases import LOOKUP, REFUND

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import DatasetError
from workbench.prompts.conversation import parse_conversation
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, tool_call
from workbench.providers.tools import anthropic_messages, openai_messages

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
}
STATE = [
    {"role": "user", "content": "Where is order 42? Refund it if lost."},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "lost"}'},
]


def chat(**kw: Any) -> wb.Variant:
    kw.setdefault("tools", [LOOKUP, REFUND])
    return wb.Variant(
        "chat",
        model="fake/agent",
        system="You are a support copilot.",
        history="conversation",
        **kw,
    )


def test_tool_turns_are_sent_as_they_are_and_the_reply_is_scored(fake: FakeProvider) -> None:
    seen: list[ChatRequest] = []

    def agent(req: ChatRequest) -> Any:
        seen.append(req)
        return tool_call("refund", {"order_id": "42", "amount": 30})

    fake.script("agent", agent)
    df = pd.DataFrame({"conversation": [json.dumps(STATE)]})
    res = wb.Experiment(
        "next", df, [chat()], scorers=[wb.scorers.tool_args("refund", {"order_id": "42"})]
    ).run(progress=NullProgress())
    assert res.df["tool_args_pass"].tolist() == [True]
    sent = list(seen[0].messages)
    assert sent[1:] == [
        {"role": "user", "content": STATE[0]["content"]},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "lost"}'},
    ]
    assert json.loads(res.df["messages"].iloc[0])[2]["tool_calls"] == [CALL]
    # the same state through a list column: the same request, answered from the cache
    again = wb.Experiment("next", pd.DataFrame({"conversation": [STATE]}), [chat()]).run(
        progress=NullProgress()
    )
    assert again.df["cached"].all() and fake.calls["agent"] == 1


def test_openai_and_anthropic_forms_of_tool_turns() -> None:
    turns = parse_conversation(STATE, "x", ends_with_user=True, tools=("lookup_order",))
    assert openai_messages(turns)[1] == {"role": "assistant", "content": None, "tool_calls": [CALL]}
    system, converted = anthropic_messages(
        [{"role": "system", "content": "S"}, *turns, {"role": "user", "content": "Go on."}]
    )
    assert system == "S"
    assert converted == [
        {"role": "user", "content": STATE[0]["content"]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "lookup_order",
                    "input": {"order_id": "42"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '{"status": "lost"}'},
                {"type": "text", "text": "Go on."},
            ],
        },
    ]


def test_parallel_calls_answered_in_any_order_and_text_beside_calls() -> None:
    second = {
        **CALL,
        "id": "call_2",
        "function": {"name": "refund", "arguments": '{"order_id": "42", "amount": 1}'},
    }
    turns = [
        {"role": "user", "content": "Do both."},
        {"role": "assistant", "content": "On it.", "tool_calls": [CALL, second]},
        {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
        {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "Thanks"},
    ]
    parsed = parse_conversation(turns, "x", ends_with_user=True, tools=("lookup_order", "refund"))
    assert [t["role"] for t in parsed] == ["user", "assistant", "tool", "tool", "assistant", "user"]
    _, converted = anthropic_messages(parsed)
    assert converted[1]["content"][0] == {"type": "text", "text": "On it."}
    assert [b["tool_use_id"] for b in converted[2]["content"]] == ["call_2", "call_1"]
    assert converted[3] == {"role": "assistant", "content": "Done."}


def bad_call(**change: Any) -> dict[str, Any]:
    return {**CALL, **change}


BAD: list[tuple[Any, str]] = [
    ([{"role": "tool", "content": "x"}], "turn 1 of the conversation has no tool_call_id"),
    (
        [
            {"role": "user", "content": "q"},
            {"role": "tool", "tool_call_id": "call_9", "content": "x"},
        ],
        "turn 2 .* tool_call_id 'call_9', which no assistant turn before it called",
    ),
    (
        [STATE[0], {**STATE[1], "tool_calls": CALL}],
        "turn 2 .*tool_calls must be a non-empty list of calls",
    ),
    (
        [STATE[0], {**STATE[1], "tool_calls": [{"id": "c", "function": CALL["function"]}]}],
        "turn 2 .*tool call 1: a call is",
    ),
    (
        [
            STATE[0],
            {
                **STATE[1],
                "tool_calls": [
                    bad_call(function={"name": "lookup_order", "arguments": {"order_id": "42"}})
                ],
            },
        ],
        r"arguments must be JSON text, e.g. json.dumps",
    ),
    (
        [
            STATE[0],
            {
                **STATE[1],
                "tool_calls": [
                    bad_call(function={"name": "lookup_order", "arguments": '{"order_id": 4'})
                ],
            },
        ],
        "arguments are not valid JSON",
    ),
    (
        [
            STATE[0],
            {
                **STATE[1],
                "tool_calls": [bad_call(function={"name": "lookup_order", "arguments": "[1]"})],
            },
        ],
        r"arguments must be a JSON object",
    ),
    (
        [STATE[0], {**STATE[1], "tool_calls": [bad_call(type="code")]}],
        "a call is",
    ),
    (
        [STATE[0], STATE[1], {"role": "user", "content": "and?"}],
        r"turn 3 .*\(user\) comes before the results of the tool call\(s\) 'call_1' of turn 2",
    ),
    ([STATE[0], STATE[1]], r"ends before the results of the tool call\(s\) 'call_1'"),
    (
        [*STATE, {"role": "assistant", "content": None, "tool_calls": [CALL]}, {**STATE[2]}],
        "repeats the tool call id 'call_1'",
    ),
    (
        [
            STATE[0],
            {**STATE[1], "tool_calls": [bad_call(function={"name": "cancel", "arguments": "{}"})]},
            {**STATE[2]},
        ],
        "calls the tool 'cancel', but the variant's tools are lookup_order, refund",
    ),
    (
        [STATE[0], STATE[1], {**STATE[2], "content": {"status": "lost"}}],
        r"\(tool\) has content of type dict.*json.dumps",
    ),
    (
        [STATE[0], STATE[1], {**STATE[2], "name": "lookup_order"}],
        r"key\(s\) \['name'\] besides role and tool_call_id and content",
    ),
    (
        [STATE[0], {**STATE[1], "tool_call_id": "x"}],
        r"key\(s\) \['tool_call_id'\] besides role, content and tool_calls",
    ),
    (
        [{"role": "user", "content": "a", "tool_calls": [CALL]}],
        r"key\(s\) \['tool_calls'\] besides role and content",
    ),
]


@pytest.mark.parametrize(("value", "message"), BAD)
def test_every_malformed_tool_turn_is_refused_before_any_call(
    value: Any, message: str, fake: FakeProvider
) -> None:
    df = pd.DataFrame({"id": ["ok", "bad"], "conversation": [STATE, value]})
    with pytest.raises(DatasetError, match=message) as info:
        wb.Experiment("bad", df, [chat()]).run(progress=NullProgress())
    assert str(info.value).startswith("Variant 'chat', row 'bad', column 'conversation': ")
    assert fake.calls.total() == 0


def test_tool_turns_need_a_variant_with_tools(fake: FakeProvider) -> None:
    df = pd.DataFrame({"conversation": [STATE]})
    with pytest.raises(
        DatasetError, match="calls the tool 'lookup_order', but the variant declares no tools"
    ):
        wb.Experiment("x", df, [chat(tools=[])]).run(progress=NullProgress())
    assert fake.calls.total() == 0


def test_a_conversation_may_end_with_a_tool_result_but_not_an_assistant_turn() -> None:
    assert (
        parse_conversation(STATE, "x", ends_with_user=True, tools=("lookup_order",))[-1]["role"]
        == "tool"
    )
    with pytest.raises(DatasetError, match="ends with an assistant turn"):
        parse_conversation(
            [*STATE, {"role": "assistant", "content": "Lost."}],
            "x",
            ends_with_user=True,
            tools=("lookup_order",),
        )


def test_budget_counts_tool_turns_as_text_and_says_so() -> None:
    b = wb.budget(chat().replace(model="openai/gpt-4o-mini"), {"conversation": STATE})
    labels = [s.label for s in b.segments]
    assert labels[:4] == ["system", "history 1 (user)", "history 2 (assistant)", "history 3 (tool)"]
    assert next(s for s in b.segments if s.label == "history 2 (assistant)").tokens > 5  # the call
    assert not b.exact and "tool calls and results in the conversation counted as text" in b.method
