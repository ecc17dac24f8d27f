"""A provider registered from outside the package runs an experiment, an estimate and a budget."""

from __future__ import annotations

import pandas as pd
import pytest
from acme_provider import AcmeProvider

import workbench as wb
from workbench.errors import ParamError
from workbench.providers import register
from workbench.providers.registry import limits_for


@pytest.fixture(autouse=True)
def _acme() -> None:
    register("acme", AcmeProvider)


def experiment(**params: object) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": ["one two", "three"]}))
    variant = wb.Variant("v", model="acme/anvil-1", user="{{ q }}", params=dict(params))
    return wb.Experiment("acme", ds, [variant], [wb.scorers.contains("acme")], repeats=2)


def test_an_experiment_runs_on_a_registered_provider() -> None:
    res = experiment().run()
    assert list(res.df["output"]) == ["acme: one two"] * 2 + ["acme: three"] * 2
    assert res.df["contains_pass"].all()
    # its own prices (fallback facts): 10 input tokens at $1/1M, 3 or 2 output tokens at $2/1M
    assert res.df["cost_usd"].tolist()[::2] == pytest.approx([16e-6, 14e-6])


def test_the_estimate_uses_its_tokenizer_reservation_and_prices() -> None:
    est = experiment().estimate()
    row = est.by_variant.iloc[0]
    # "one two" = 2 words + 2 overhead; "three" = 1 + 2: once per distinct request and repeat
    assert est.calls == 4 and row["input_tokens"] == 2 * 4 + 2 * 3
    assert row["max_output_tokens"] == 4 * 50  # its default_max_tokens
    assert est.cost_usd == pytest.approx((14 * 1.0 + 200 * 2.0) / 1e6)


def test_a_budget_counts_its_tokens_and_its_reservation() -> None:
    b = wb.budget(wb.Variant("v", model="acme/anvil-1", user="{{ q }}"), {"q": "a b c"})
    assert b.prompt_tokens == 5 and b.exact and b.method == "acme words"
    assert b.reserved_output == 50 and b.context_window == 1000


def test_its_facts_apply_before_any_call() -> None:
    assert limits_for("acme", wb.configure()).concurrency == 3
    with pytest.raises(ParamError, match="Acme does not accept parameter"):
        experiment(top_p=0.5).estimate()
