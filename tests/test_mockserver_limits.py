"""The mock server's provider limits, seen through the real SDKs and raw HTTP: a hard cap on
requests answered at once (429 + Retry-After above it), the ways a 429 says how long to wait,
and overload replies (Anthropic 529, OpenAI 503)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from workbench.testing.mockserver import AsyncMockServer, Faults, MockServer, main

USER: Any = [{"role": "user", "content": "hello big world"}]


@pytest.fixture
def srv() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def test_requests_beyond_max_in_flight_get_429_with_retry_after() -> None:
    async def scenario() -> tuple[list[Any], dict[str, Any]]:
        faults = Faults(latency=0.2, max_in_flight=3, retry_after=0.5)
        async with AsyncMockServer(faults) as server:
            client = openai.AsyncOpenAI(
                base_url=server.openai_base_url, api_key="sk-test", max_retries=0
            )

            async def one(i: int) -> Any:
                messages: Any = [{"role": "user", "content": f"q{i}"}]
                try:
                    reply = await client.chat.completions.create(model="m", messages=messages)
                except openai.RateLimitError as exc:
                    return exc.response.headers.get("retry-after")
                return reply.choices[0].message.content

            out = await asyncio.gather(*(one(i) for i in range(5)))
            await client.close()
            return out, server.stats()

    out, stats = asyncio.run(scenario())
    assert sorted(o[:5] for o in out) == ["0.5", "0.5", "mock:", "mock:", "mock:"]
    assert (stats["over_capacity"], stats["max_in_flight"], stats["successes"]) == (2, 3, 3)
    assert stats["by_status"] == {"200": 3, "429": 2}
    assert stats["faults_fired"]["rate_limit"] == 0  # the cap is not a fault switch


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("seconds", {"retry-after": "0.25"}),
        ("ms", {"retry-after-ms": "250"}),
        ("both", {"retry-after": "0.25", "retry-after-ms": "250"}),
        ("none", {}),
    ],
)
def test_retry_after_format(srv: MockServer, style: str, expected: dict[str, str]) -> None:
    srv.set_faults(rate_limit_first=2, retry_after=0.25, retry_after_format=style)
    oai = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
    ant = anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key="test", max_retries=0)
    with pytest.raises(openai.RateLimitError) as oai_info:
        oai.chat.completions.create(model="m", messages=USER)
    with pytest.raises(anthropic.RateLimitError) as ant_info:
        ant.messages.create(model="m", max_tokens=5, messages=USER)
    for headers in (oai_info.value.response.headers, ant_info.value.response.headers):
        assert {k: v for k, v in headers.items() if k.startswith("retry-after")} == expected


def test_retry_after_as_an_http_date(srv: MockServer) -> None:
    srv.set_faults(rate_limit_first=1, retry_after=30, retry_after_format="date")
    client = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="m", messages=USER)
    when = email.utils.parsedate_to_datetime(info.value.response.headers["retry-after"])
    assert 28 <= when.timestamp() - time.time() <= 31
    assert "retry-after-ms" not in info.value.response.headers


def test_overload_is_529_on_anthropic_and_503_on_openai(srv: MockServer) -> None:
    srv.set_faults(overload_first=2)
    ant = anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key="test", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as ant_info:
        ant.messages.create(model="m", max_tokens=5, messages=USER)
    assert ant_info.value.status_code == 529
    assert ant_info.value.body == {
        "type": "error",
        "error": {
            "type": "overloaded_error",
            "message": "Overloaded (mock). Please try again later.",
        },
    }
    oai = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.InternalServerError) as oai_info:
        oai.chat.completions.create(model="m", messages=USER)
    assert oai_info.value.status_code == 503
    assert "Overloaded" in oai_info.value.message
    assert oai.chat.completions.create(model="m", messages=USER).choices  # budget spent
    stats = srv.stats()
    assert stats["faults_fired"]["overload"] == 2
    assert stats["by_status"] == {"529": 1, "503": 1, "200": 1}


def test_overload_rate_follows_the_seed_and_leaves_other_sequences_alone() -> None:
    def statuses(**faults: Any) -> list[int]:
        with MockServer(Faults(**faults), seed=4) as server:
            client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
            out = []
            for _ in range(30):
                try:
                    client.chat.completions.create(model="m", messages=USER)
                    out.append(200)
                except openai.APIStatusError as exc:
                    out.append(exc.status_code)
            return out

    overloaded = statuses(overload_rate=0.3)
    assert overloaded == statuses(overload_rate=0.3)
    assert 3 <= overloaded.count(503) <= 18 and set(overloaded) == {200, 503}
    errors_only = statuses(error_rate=0.3)
    assert errors_only == statuses(error_rate=0.3, overload_rate=0.0)


def test_bad_limit_settings_are_refused(
    srv: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="retry_after_format must be one of"):
        srv.set_faults(retry_after_format="minutes")
    with pytest.raises(ValueError, match="max_in_flight must be an integer"):
        srv.set_faults(max_in_flight=2.5)
    assert main(["--max-in-flight", "-1"]) == 2  # the command line says why and exits
    assert "max_in_flight must be a non-negative" in capsys.readouterr().err
