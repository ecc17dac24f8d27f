"""Usage normalized and cost right: reasoning, cached-input and cache-write tokens from every API
shape (through the real SDKs against the mock server), priced at their own rates; service tiers
priced or marked unpriced; the summary sums them."""

from __future__ import annotations

import pandas as pd
import pytest
from fidelity_helpers import MODELS, experiment, run, variant

import workbench as wb
from workbench.models.catalog import model_info
from workbench.testing.mockserver import MockServer

SYSTEM_2000 = " ".join(f"rule{i}" for i in range(2000))
"""A 2,000-token system prompt (the mock counts words as tokens)."""
QUESTIONS = ["what is one", "what is two more", "and what is three"]


def test_a_shared_2000_token_system_prompt_is_priced_at_the_cached_rate(srv: MockServer) -> None:
    v = variant("openai", system=SYSTEM_2000, params={"max_tokens": 64})
    res = run(experiment([v], QUESTIONS, concurrency=1))
    df = res.df
    assert df["error"].isna().all()
    assert df["cache_write_tokens"].tolist() == [2000, 0, 0]  # the first call writes it
    assert df["cached_input_tokens"].tolist() == [0, 2000, 2000]  # the others read it
    # By hand, at gpt-6.2-sol's published rates: input $2, cached input $0.10, cache writes
    # $2.50, output $10 per 1M tokens. Input = the 2,000 system words + the question's words.
    outputs = [len(f"mock: {q}".split()) for q in QUESTIONS]
    first = ((3 * 2.0) + 2000 * 2.50 + outputs[0] * 10.0) / 1e6
    second = ((4 * 2.0) + 2000 * 0.10 + outputs[1] * 10.0) / 1e6
    third = ((4 * 2.0) + 2000 * 0.10 + outputs[2] * 10.0) / 1e6
    assert df["input_tokens"].tolist() == [2003, 2004, 2004]
    assert df["cost_usd"].tolist() == pytest.approx([first, second, third], rel=1e-12)
    uncached = model_info(MODELS["openai"]).cost(2004, outputs[1])
    assert uncached is not None and second < uncached / 5  # the discount is real
    summary = res.summary().iloc[0]
    assert summary["cached_input_tokens_sum"] == 4000
    assert summary["cache_write_tokens_sum"] == 2000


def test_anthropic_caches_only_when_asked_and_counts_cache_reads_as_input(
    srv: MockServer,
) -> None:
    plain = variant("anthropic", system=SYSTEM_2000)
    asked = variant(
        "anthropic", "asked", system=SYSTEM_2000, params={"cache_control": {"type": "ephemeral"}}
    )
    df = run(experiment([plain, asked], QUESTIONS[:2], concurrency=1)).df
    mine = df[df["variant"] == "v"]
    assert mine["cached_input_tokens"].isna().all()  # no cache_control: no cache usage at all
    cached = df[df["variant"] == "asked"]
    assert cached["cache_write_tokens"].tolist() == [2000, 0]
    assert cached["cached_input_tokens"].tolist() == [0, 2000]
    # Anthropic reports uncached input apart; input_tokens counts every input token.
    assert cached["input_tokens"].tolist() == mine["input_tokens"].tolist() == [2003, 2004]
    out = 5  # "mock: what is two more"
    by_hand = (4 * 3.0 + 2000 * 0.30 + out * 15.0) / 1e6  # claude-sonnet-4-6: $3 / $0.30 / $15
    assert cached["cost_usd"].iloc[1] == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("kind", ["openai", "responses", "anthropic"])
def test_reasoning_tokens_are_counted_and_reasoning_text_kept_apart(
    srv: MockServer, kind: str
) -> None:
    srv.set_faults(reasoning_words=7)
    asks = {
        "openai": {},
        "responses": {"reasoning_summary": "auto"},
        "anthropic": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
    }[kind]
    row = run(experiment([variant(kind, params=asks)])).df.iloc[0]
    assert row["output"] == "mock: hello big world"  # reasoning never mixed into output
    assert row["reasoning_tokens"] == 7
    assert row["output_tokens"] == 7 + 4  # reasoning is billed as output
    expected = None if kind == "openai" else " ".join(f"step{i}" for i in range(1, 8))
    assert (None if pd.isna(row["reasoning"]) else row["reasoning"]) == expected


def test_compatible_endpoints_report_no_cached_or_reasoning_details(srv: MockServer) -> None:
    row = run(experiment([variant("compatible")])).df.iloc[0]
    assert row["error"] is None
    for column in ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
        assert pd.isna(row[column]), column  # None where a provider does not report them


@pytest.mark.parametrize(
    ("tier", "priced_as"),
    [("auto", "standard"), ("default", "standard"), ("flex", "batch"), ("priority", None)],
)
def test_service_tier_changes_the_price_or_is_marked_unpriced(
    srv: MockServer, tier: str, priced_as: str | None
) -> None:
    res = run(experiment([variant("openai", params={"service_tier": tier})]))
    row = res.df.iloc[0]
    info = model_info(MODELS["openai"])
    if priced_as is None:
        assert pd.isna(row["cost_usd"])  # unknown, never guessed at standard rates
        assert "openai/gpt-6.2-sol" in res.record.models
        assert res.record.spend.unpriced_calls == 1
    else:
        want = info.cost(row["input_tokens"], row["output_tokens"], tier=priced_as)
        assert row["cost_usd"] == pytest.approx(want)
    if priced_as == "batch":
        standard = info.cost(row["input_tokens"], row["output_tokens"])
        assert standard is not None and row["cost_usd"] == pytest.approx(standard / 2)


def test_a_budget_refuses_a_service_tier_without_a_price(srv: MockServer) -> None:
    exp = experiment([variant("openai", params={"service_tier": "priority"})], budget_usd=1.0)
    with pytest.raises(wb.WorkbenchError, match="no price"):
        run(exp)
    assert srv.stats()["requests_total"] == 0
