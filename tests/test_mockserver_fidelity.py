"""The mock server speaks today's APIs as the official SDKs read them: reasoning and cached tokens,
thinking blocks and reasoning summaries, streams of all three API shapes (the SDKs' own stream
parsers), cut streams and starved replies; and it keeps the bodies it was sent."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from workbench.testing.mockserver import Faults, MockServer

KEY = "sk-test-" + "m" * 24
LONG = " ".join(f"w{i}" for i in range(1100))
"""A system prompt over the mock's 1,024-word cache minimum."""


@pytest.fixture
def srv() -> Iterator[MockServer]:
    with MockServer(faults=Faults(reasoning_words=5)) as server:
        yield server


def oai(srv: MockServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0)


def claude(srv: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key=KEY, max_retries=0)


def test_chat_completions_stream_with_reasoning_and_cached_usage(srv: MockServer) -> None:
    messages = [{"role": "system", "content": LONG}, {"role": "user", "content": "hi there"}]
    oai(srv).chat.completions.create(model="gpt-6.2-sol", messages=messages)  # writes the cache
    chunks = list(
        oai(srv).chat.completions.create(
            model="gpt-6.2-sol",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "mock: hi there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (1102, 3 + 5)
    assert usage.completion_tokens_details.reasoning_tokens == 5
    assert usage.prompt_tokens_details.cached_tokens == 1100
    assert srv.bodies()[-1]["stream"] is True


def test_a_starved_chat_reply_is_empty_with_finish_reason_length(srv: MockServer) -> None:
    reply = oai(srv).chat.completions.create(
        model="gpt-6.2-sol",
        messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=4,
    )
    assert reply.choices[0].message.content == ""
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens_details.reasoning_tokens == 4


def test_reasoning_models_refuse_max_tokens(srv: MockServer) -> None:
    with pytest.raises(openai.BadRequestError, match="Use 'max_completion_tokens' instead"):
        oai(srv).chat.completions.create(
            model="gpt-6.2-sol", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )


def test_responses_api_reply_and_stream(srv: MockServer) -> None:
    reply = oai(srv).responses.create(
        model="gpt-6.2-sol", input="hello big world", reasoning={"summary": "auto"}
    )
    assert reply.output_text == "mock: hello big world"
    assert reply.usage.output_tokens_details.reasoning_tokens == 5
    summary = next(item for item in reply.output if item.type == "reasoning").summary
    assert summary[0].text == "step1 step2 step3 step4 step5"
    events = list(oai(srv).responses.create(model="gpt-6.2-sol", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "mock: hi"
    starved = oai(srv).responses.create(model="gpt-6.2-sol", input="hi", max_output_tokens=3)
    assert starved.status == "incomplete" and starved.output_text == ""
    assert starved.incomplete_details is not None
    assert starved.incomplete_details.reason == "max_output_tokens"


def test_anthropic_thinking_blocks_cache_and_stream(srv: MockServer) -> None:
    client = claude(srv)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 2000,
        "system": LONG,
        "messages": [{"role": "user", "content": "hi there"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "extra_body": {"cache_control": {"type": "ephemeral"}},
    }
    first = client.messages.create(**kwargs)  # type: ignore[call-overload]
    assert [b.type for b in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == "step1 step2 step3 step4 step5"
    assert first.usage.cache_creation_input_tokens == 1100
    with client.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[1].text == "mock: hi there"
    assert final.usage.cache_read_input_tokens == 1100
    assert final.usage.input_tokens == 2  # Anthropic reports the uncached input apart
    assert final.usage.output_tokens == 8 and final.stop_reason == "end_turn"


def test_a_cut_stream_never_finishes(srv: MockServer) -> None:
    srv.set_faults(cut_stream_first=1)
    with pytest.raises(openai.APIConnectionError):
        list(
            oai(srv).chat.completions.create(
                model="gpt-6.2-sol", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    assert srv.stats()["faults_fired"]["cut_stream"] == 1
    assert srv.stats()["successes"] == 0


def test_the_bodies_sent_are_kept_in_order(srv: MockServer) -> None:
    for text in ("one", "two"):
        oai(srv).chat.completions.create(
            model="x", messages=[{"role": "user", "content": text}], temperature=0
        )
    assert [b["messages"][0]["content"] for b in srv.bodies()] == ["one", "two"]
    assert srv.bodies()[0] == {
        "model": "x",
        "messages": [{"role": "user", "content": "one"}],
        "temperature": 0,
    }
