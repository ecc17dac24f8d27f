"""The run core: one dispatcher and one ledger for grid and judge calls, providers handed to a
run, unpriced models, typed run records, rendered parts with their origin."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import workbench as wb
from workbench.errors import BudgetError
from workbench.providers.fake import FakeProvider
from workbench.results.columns import COLUMNS, documented
from workbench.results.record import RECORD_VERSION

JUDGE = "GRADE: PASS\nREASON: fine"


def rows(n: int = 4) -> wb.Dataset:
    return wb.Dataset(pd.DataFrame({"q": [f"question {i}" for i in range(n)]}))


def judged(fake: FakeProvider, *, budget_usd: float | None = None, n: int = 4) -> wb.Experiment:
    """A free grid model (fake/echo) graded by a judge on a priced model."""
    fake.script("judge", JUDGE)
    wb.models.register("fake/judge", input_per_1m=1000.0, output_per_1m=1000.0)
    variant = wb.Variant("v", model="fake/echo", user="{{ q }}", params={"max_tokens": 20})
    judge = wb.scorers.judge("Is it an answer?", model="fake/judge")
    return wb.Experiment("judged", rows(n), [variant], [judge], budget_usd=budget_usd)


# -- one ledger: judges in the estimate and under the budget ---------------------------------


def test_the_estimate_counts_the_judge_calls_it_can_plan(fake: FakeProvider) -> None:
    est = judged(fake).estimate()
    assert est.cost_usd == 0.0  # the grid model is free ...
    assert est.judge_calls == 4  # ... but four paid judge calls are planned
    assert est.judge_cost_usd is not None and est.judge_cost_usd > 0
    assert est.total_cost_usd == pytest.approx(est.judge_cost_usd)
    row = est.by_scorer.iloc[0]
    assert (row["scorer"], row["model"], row["calls"]) == ("judge", "fake/judge", 4)
    # at most: the judge's own max_tokens (200) per call at $1000/1M, plus its input
    assert est.judge_cost_usd >= 4 * 200 * 1000 / 1e6
    assert "scoring: 4 judge calls, cost at most $" in str(est)
    assert fake.calls.total() == 0  # estimating makes no call


def test_after_a_run_the_estimate_knows_the_judge_calls_are_cached(fake: FakeProvider) -> None:
    exp = judged(fake)
    exp.run()
    again = exp.estimate()
    assert (again.calls, again.judge_calls, again.judge_cost_usd) == (0, 0, 0.0)


def test_the_budget_caps_judge_spend_and_says_what_it_stopped(fake: FakeProvider) -> None:
    # A judge call may cost ~$0.26 (its 200 output tokens at $1000/1M and its input) and costs
    # ~$0.07: after the first, the next one's most cost no longer fits under $0.30.
    exp = judged(fake, budget_usd=0.3)
    res = exp.run()
    assert fake.calls["echo"] == 4  # the free grid ran whole
    assert fake.calls["judge"] == 1  # the budget stopped the other judge calls
    reasons = list(res.df["judge_reason"])
    assert sum("not made: the budget of $0.3000 was reached" in r for r in reasons) == 3
    assert res.df["judge_pass"].isna().sum() == 3  # unscored, never a silent fail
    assert "3 judge call(s) not made at the budget" in res.message
    assert res.record.spend.not_made == 3
    assert 0 < res.record.spend.scoring_usd <= 0.3


# -- unpriced models run; the estimate says so; a budget refuses only what it cannot bound ---


def test_an_unknown_model_of_a_known_provider_runs_unpriced(fake: FakeProvider) -> None:
    wb.models.register("fake/brand-new", input_per_1m=None, output_per_1m=None)
    variant = wb.Variant("v", model="fake/brand-new", user="{{ q }}")
    exp = wb.Experiment("new", rows(2), [variant])
    est = exp.estimate()
    assert est.cost_usd is None and est.unpriced == ("fake/brand-new",)
    assert "Unpriced (cost unknown): fake/brand-new" in str(est)
    assert "wb.models.register('fake/brand-new'" in str(est)
    res = exp.run()
    assert res.df["error"].isna().all()
    assert res.df["cost_usd"].isna().all()  # unknown, not 0
    assert res.summary()["cost_usd"].isna().all()
    assert res.record.spend.unpriced_calls == 2


def test_a_budget_refuses_to_start_only_when_it_cannot_bound_the_spend(fake: FakeProvider) -> None:
    wb.models.register("fake/brand-new", input_per_1m=None, output_per_1m=None)
    variant = wb.Variant("v", model="fake/brand-new", user="{{ q }}")
    with pytest.raises(BudgetError, match="fake/brand-new would be called and have no price"):
        wb.Experiment("new", rows(2), [variant], budget_usd=1.0).run()
    assert fake.calls.total() == 0
    wb.Experiment("new", rows(2), [variant]).run()  # no budget: it runs
    again = wb.Experiment("new", rows(2), [variant], budget_usd=1.0).run()  # all cached: bounded
    assert again.df["cached"].all()


# -- providers handed to a run ---------------------------------------------------------------


def test_each_run_can_be_handed_its_own_provider_instance() -> None:
    first, second = FakeProvider().script("x", "one"), FakeProvider().script("x", "two")
    variant = wb.Variant("v", model="fake/x", user="{{ q }}")
    a = wb.Experiment("a", rows(2), [variant], providers=[first], store="a").run()
    b = wb.Experiment("b", rows(2), [variant], providers=[second], store="b").run()
    assert set(a.df["output"]) == {"one"} and set(b.df["output"]) == {"two"}
    assert (first.calls["x"], second.calls["x"]) == (2, 2)  # counted per instance


def test_a_handed_provider_serves_judge_calls_too() -> None:
    fake = FakeProvider().script("judge", JUDGE)
    variant = wb.Variant("v", model="fake/echo", user="{{ q }}")
    judge = wb.scorers.judge("ok?", model="fake/judge")
    res = wb.Experiment("j", rows(3), [variant], [judge], providers={"fake": fake}).run()
    assert res.df["judge_pass"].all() and fake.calls["judge"] == 3


# -- the typed run record and the declared columns -------------------------------------------


def test_the_run_record_says_how_the_run_was_made(fake: FakeProvider) -> None:
    exp = judged(fake)
    res = exp.run()
    record = res.record
    assert record.version == RECORD_VERSION and record.kind == "run"
    assert (
        record.variants[0].model == "fake/echo" and record.variant("v").params["max_tokens"] == 20
    )
    assert record.dataset.fingerprint == exp.dataset.fingerprint and record.dataset.rows == 4
    assert record.models == ("fake/echo",) and record.scorer_columns == ("judge",)
    assert record.spend.judge_calls == 4 and record.spend.scoring_usd > 0
    assert record.finished >= record.started
    plain = json.loads(json.dumps(record.to_dict()))  # plain data
    assert plain["variants"][0]["name"] == "v" and plain["version"] == RECORD_VERSION


def test_every_column_is_declared_once_with_what_it_holds() -> None:
    docs = documented()
    assert list(docs) == [c.name for c in COLUMNS] and all(docs.values())
    res = wb.Experiment("c", rows(1), [wb.Variant("v", model="fake/echo", user="{{ q }}")]).run()
    assert [c for c in res.df.columns if c in docs] == list(docs)


def test_rendered_messages_carry_their_origin() -> None:
    variant = wb.Variant(
        "v",
        system="Be brief.",
        messages=[
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And {{ q }}?"},
            {"role": "assistant", "content": "?"},
        ],
        history="chat",
        user="{{ q }}",
    )
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    rendered = variant.render({"q": "x", "chat": chat})
    assert [(p.origin, p.label) for p in rendered.parts] == [
        ("system", "system"),
        ("example", "example 1 (user)"),
        ("example", "example 1 (assistant)"),
        ("turn", "turn 1 (user)"),
        ("turn", "turn 1 (assistant)"),
        ("history", "history 1 (user)"),
        ("history", "history 2 (assistant)"),
        ("user", "user"),
    ]
    assert rendered == [{"role": p.role, "content": p.content} for p in rendered.parts]


def test_a_free_run_estimate_offers_no_savings() -> None:
    system = "You answer questions about capitals in one word. " * 20  # a long shared prefix
    v = wb.Variant("v", model="fake/echo", system=system, user="{{ q }}")
    text = str(wb.Experiment("free", rows(), [v]).estimate())
    assert "cost at most $0.0000" in text
    assert "prompt caching" not in text and "batch" not in text  # nothing to save on free calls
