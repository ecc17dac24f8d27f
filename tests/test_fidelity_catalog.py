"""The catalog as providers publish it today: cached-input, cache-write and batch prices (dated,
sourced), reasoning efforts, retirement dates that warn before any call; and the estimate's
cacheable prompt prefix, priced with and without caching."""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from fidelity_helpers import experiment, run, variant

import workbench as wb
from workbench.errors import WorkbenchWarning
from workbench.models.catalog import model_info
from workbench.models.retirement import retirement_note
from workbench.providers.fake import FakeProvider
from workbench.testing.mockserver import MockServer

SYSTEM = "You are a careful assistant. " * 300
"""A long system prompt every row shares (~1,500 tokens)."""


def shipped() -> dict[str, object]:
    text = resources.files("workbench.models").joinpath("catalog.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def test_cache_and_batch_prices_are_published_facts_with_sources() -> None:
    data = shipped()
    assert "pricing" in str(data["sources"]) and "deprecations" in str(data["sources"])
    assert "cache" in str(data["notes"]) and "batch" in str(data["notes"])
    models = data["models"]
    assert isinstance(models, dict)
    for model_id, facts in models.items():
        if model_id.startswith("local/"):
            continue
        assert facts["batch_input_per_1m"] == facts["input_per_1m"] / 2, model_id
        assert facts["batch_output_per_1m"] == facts["output_per_1m"] / 2, model_id
        if "cached_input_per_1m" in facts:
            assert 0 < facts["cached_input_per_1m"] < facts["input_per_1m"], model_id
        if "cache_write_per_1m" in facts:
            assert facts["cache_write_per_1m"] >= facts["input_per_1m"], model_id
    sol = model_info("openai/gpt-6.2-sol")
    assert (sol.cached_input_per_1m, sol.cache_write_per_1m) == (0.1, 2.5)
    assert sol.efforts == ("low", "medium", "high", "xhigh", "max")
    haiku = model_info("anthropic/claude-haiku-4-5")
    assert (haiku.cached_input_per_1m, haiku.cache_write_per_1m, haiku.efforts) == (0.1, 1.25, ())


def test_retiring_models_carry_their_date_and_replacement() -> None:
    for old in ("openai/gpt-4.1", "openai/gpt-4o-mini"):
        info = model_info(old)
        assert (info.retires, info.replacement) == ("2027-01-14", "openai/gpt-6-luna")


def test_a_dated_snapshot_has_the_facts_of_its_model() -> None:
    info = model_info("openai/gpt-4o-mini-2024-07-18")
    assert info.id == "openai/gpt-4o-mini-2024-07-18"
    assert (info.retires, info.cached_input_per_1m) == ("2027-01-14", 0.075)


@pytest.mark.parametrize(
    ("days", "says"),
    [
        (45, None),
        (30, "retires on {when}, in 30 days"),
        (1, "retires on {when}, in 1 day."),
        (0, "is retired today"),
        (-3, "was retired on {when}: calls to it fail"),
    ],
)
def test_the_notice_starts_30_days_before_retirement(days: int, says: str | None) -> None:
    when = date(2027, 1, 14)
    info = model_info("openai/gpt-4o-mini")
    note = retirement_note(info, today=when - timedelta(days=days))
    if says is None:
        assert note is None
        return
    assert note is not None and says.format(when=when) in note
    assert "`workbench check prompts/<name> --model openai/gpt-6-luna`" in note


def test_running_a_retiring_model_warns_before_any_call(fake: FakeProvider) -> None:
    soon = (date.today() + timedelta(days=10)).isoformat()
    wb.models.register("fake/old", retires=soon, replacement="fake/new")
    calls: list[str] = []
    fake.script("old", lambda req: calls.append("called") or "ok")
    exp = wb.Experiment(
        "r", pd.DataFrame({"q": ["x"]}), [wb.Variant("v", model="fake/old", user="{{ q }}")]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", WorkbenchWarning)  # stop at the warning, to see when
        with pytest.raises(WorkbenchWarning, match=r"fake/old retires on .*, in 10 days"):
            exp.run()
    assert calls == []  # it came before any call
    with pytest.warns(WorkbenchWarning, match=r"workbench check prompts/<name> --model fake/new"):
        res = exp.run()
    assert calls == ["called"] and res.df["output"].tolist() == ["ok"]


def test_exporting_a_retiring_model_warns(fake: FakeProvider, tmp_path: Path) -> None:
    res = wb.Experiment(
        "r", pd.DataFrame({"q": ["x"]}), [wb.Variant("v", model="fake/gone", user="{{ q }}")]
    ).run()
    wb.models.register("fake/gone", retires="2020-01-01")
    with pytest.warns(WorkbenchWarning, match=r"fake/gone was retired on 2020-01-01"):
        res.export("v", name="gone", to=tmp_path / "prompts")


def test_a_model_far_from_retirement_runs_quietly(fake: FakeProvider) -> None:
    later = (date.today() + timedelta(days=90)).isoformat()
    wb.models.register("fake/later", retires=later)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wb.Experiment(
            "q", pd.DataFrame({"q": ["x"]}), [wb.Variant("v", model="fake/later", user="{{ q }}")]
        ).run()


def test_the_estimate_prices_the_shared_prefix_with_and_without_caching() -> None:
    v = wb.Variant("v", model="openai/gpt-6.2-sol", system=SYSTEM, user="{{ q }}",
                   params={"max_tokens": 50})  # fmt: skip
    short = wb.Variant("short", model="openai/gpt-6.2-sol", user="{{ q }}: answer briefly",
                       params={"max_tokens": 50})  # fmt: skip
    questions = ["one", "two", "three", "four"]  # no common start
    est = experiment([v, short], questions).estimate()
    by = est.by_variant.set_index("variant")
    model = wb.models.resolve("openai/gpt-6.2-sol", wb.config.get_settings())
    prefix = model.count_tokens([{"role": "system", "content": SYSTEM}]).total
    assert by.loc["v", "prefix_tokens"] == prefix
    assert 0.9 < by.loc["v", "cacheable_share"] < 1.0
    assert by.loc["v", "caching"] == ""
    # By hand: the first call writes the prefix ($2.50 / 1M), the other three read it ($0.10).
    plan = experiment([v], questions).plan()
    sizes = [c.est_input_tokens for c in plan.cells]
    rest = [(n - prefix) * 2.0 + 50 * 10.0 for n in sizes]
    hand = (rest[0] + prefix * 2.5 + sum(r + prefix * 0.1 for r in rest[1:])) / 1e6
    assert by.loc["v", "cost_cached_usd"] == pytest.approx(hand)
    assert by.loc["v", "cost_usd"] == pytest.approx(sum(n * 2.0 + 500.0 for n in sizes) / 1e6)
    assert by.loc["short", "prefix_tokens"] == 0  # the rows share no prefix
    assert by.loc["short", "cost_cached_usd"] == by.loc["short", "cost_usd"]
    assert est.cost_cached_usd == pytest.approx(by["cost_cached_usd"].sum())
    assert "of the prompt is a prefix every row shares: with prompt caching at most $" in str(est)


def test_the_estimate_says_what_anthropic_needs_to_cache() -> None:
    asked = {"cache_control": {"type": "ephemeral"}}
    plain = wb.Variant("plain", model="anthropic/claude-sonnet-4-6", system=SYSTEM, user="{{ q }}")
    cached = plain.replace(name="cached", params=asked)
    by = experiment([plain, cached], ["a", "b"]).estimate().by_variant.set_index("variant")
    assert by.loc["plain", "caching"].startswith("Anthropic caches only when asked: add params")
    assert by.loc["plain", "cost_cached_usd"] == by.loc["plain", "cost_usd"]
    assert by.loc["cached", "caching"] == ""
    assert by.loc["cached", "cost_cached_usd"] < by.loc["cached", "cost_usd"]


def test_a_short_shared_prefix_is_not_cached(srv: MockServer) -> None:
    est = experiment([variant("openai")], ["a b", "c d"]).estimate()
    row = est.by_variant.iloc[0]
    assert 0 < row["prefix_tokens"] < 1024
    assert row["caching"] == "a shared prefix under 1024 tokens is not cached"
    assert row["cost_cached_usd"] == row["cost_usd"]
    assert run(experiment([variant("openai")], ["a b"])).df["cached_input_tokens"].isna().all()
