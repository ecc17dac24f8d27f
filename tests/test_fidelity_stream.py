"""Streaming: every API shape streams through its real SDK's transport, the time to the first
token is recorded, a stream cut mid-way is retried and nothing partial is cached, Anthropic's
large max_tokens work, and cache keys do not depend on it."""

from __future__ import annotations

import pandas as pd
import pytest
from fidelity_helpers import experiment, run, variant

import workbench as wb
from workbench.engine.store import Store
from workbench.testing.mockserver import MockServer

KINDS = ["openai", "responses", "anthropic", "compatible"]


def cached_responses() -> int:
    with Store(wb.config.get_settings().store_path) as store:
        return store.count_responses()


@pytest.mark.parametrize("kind", KINDS)
def test_each_api_streams_and_records_the_time_to_first_token(srv: MockServer, kind: str) -> None:
    srv.set_faults(stream_gap=0.15, latency=0.05)
    row = run(experiment([variant(kind)])).df.iloc[0]
    assert row["error"] is None
    assert row["output"] == "mock: hello big world"
    assert srv.bodies()[-1]["stream"] is True
    # The server sends the first token after its latency and the rest only after the gap, so
    # the first token's time is at least the latency and comes before the reply ended.
    assert 50 <= row["ttft_ms"] < row["latency_ms"]
    assert row["input_tokens"] > 0 and row["output_tokens"] == 4


@pytest.mark.parametrize("kind", KINDS)
def test_a_cut_stream_is_retried_and_nothing_partial_is_cached(srv: MockServer, kind: str) -> None:
    srv.set_faults(cut_stream_first=1)
    row = run(experiment([variant(kind)])).df.iloc[0]
    assert row["error"] is None
    assert row["output"] == "mock: hello big world"  # the whole reply, from the retry
    stats = srv.stats()
    assert stats["faults_fired"]["cut_stream"] == 1
    assert stats["requests_total"] == 2 and stats["successes"] == 1
    assert cached_responses() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_that_keeps_being_cut_is_an_error_row_never_cached(
    srv: MockServer, kind: str
) -> None:
    wb.configure(max_retries=1)
    srv.set_faults(cut_stream_rate=1.0)
    res = run(experiment([variant(kind)]))
    error = res.df.iloc[0]["error"]
    assert "the stream was cut before the reply ended" in error
    assert "after 2 attempts" in error
    assert pd.isna(res.df.iloc[0]["output"])
    assert cached_responses() == 0
    again = run(experiment([variant(kind)]))  # errors are not cached: tried again
    assert srv.stats()["requests_total"] == 4 and again.df.iloc[0]["error"] is not None


def test_anthropic_large_max_tokens_work_and_always_stream(srv: MockServer) -> None:
    wb.configure(stream=False)
    big = variant("anthropic", "big", params={"max_tokens": 64_000})
    small = variant("anthropic", "small", params={"max_tokens": 64})
    res = run(experiment([big, small]))
    assert res.df["error"].isna().all()
    bodies = {b["max_tokens"]: b for b in srv.bodies()}
    assert bodies[64_000].get("stream") is True  # above what the SDK allows without streaming
    assert "stream" not in bodies[64]  # the setting is honoured where it can be
    assert res.df.set_index("variant").loc["big", "ttft_ms"] > 0


def test_streaming_changes_no_cache_key(srv: MockServer) -> None:
    wb.configure(stream=False)
    first = run(experiment([variant("anthropic")]))
    wb.configure(stream=True)
    second = run(experiment([variant("anthropic")]))
    assert first.df["request_key"].tolist() == second.df["request_key"].tolist()
    assert bool(second.df["cached"].iloc[0])  # answered from the store: no second call
    assert srv.stats()["requests_total"] == 1
