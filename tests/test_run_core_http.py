"""The one ledger through the real openai SDK against the loopback mock: a free grid model graded
by a paid judge — the estimate counts the judge calls, the budget stops them."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import workbench as wb
from workbench.providers.fake import FakeProvider
from workbench.testing.mockserver import MockServer

JUDGE = "openai/gpt-4o-mini"


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "Ju7dGe2Lp9Xw4Qz8Rt3Vn6Bm1Kc5Hs0Fa")
    with MockServer() as server:
        wb.configure(provider_urls={"openai": server.openai_base_url}, max_retries=0)
        # A judge priced so that one call's most cost is ~$0.21 (200 output tokens + input).
        wb.models.register(JUDGE, input_per_1m=1000.0, output_per_1m=1000.0)
        yield server


def judged(budget_usd: float | None = None) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"question {i}" for i in range(4)]}))
    variant = wb.Variant("v", model="fake/echo", user="{{ q }}", params={"max_tokens": 10})
    judge = wb.scorers.judge("Is it an answer?", model=JUDGE)
    return wb.Experiment("judged", ds, [variant], [judge], budget_usd=budget_usd)


def test_the_estimate_prices_judge_calls_on_a_free_grid(
    srv: MockServer, fake: FakeProvider
) -> None:
    est = judged().estimate()
    assert est.cost_usd == 0.0 and est.judge_calls == 4
    assert est.judge_cost_usd is not None and est.judge_cost_usd >= 4 * 200 * 1000 / 1e6
    assert srv.stats()["requests_total"] == 0  # no call to estimate


def test_the_budget_stops_judge_calls_sent_through_the_sdk(
    srv: MockServer, fake: FakeProvider
) -> None:
    res = judged(budget_usd=0.3).run()
    assert fake.calls["echo"] == 4
    assert srv.stats()["successes"] == 1  # one judge call fit under the budget
    stopped = res.df["judge_reason"].str.contains("not made: the budget of \\$0.3000 was reached")
    assert stopped.sum() == 3
    assert res.record.spend.not_made == 3 and 0 < res.record.spend.scoring_usd <= 0.3
    assert "3 judge call(s) not made at the budget" in res.message
