"""The core loop on the ``fake/...`` provider: table shape, caching, collapsing, errors,
retries, budgets, estimates, async and sync entry points, summaries and saving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import (
    BudgetError,
    ConfigError,
    MissingKeyError,
    ParamError,
    ProviderError,
    TemplateError,
)
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.results.columns import COLUMNS

QUIET = NullProgress()


def dataset(n: int = 3) -> wb.Dataset:
    cities = ["Paris", "Tokyo", "Rome", "Berlin", "Madrid"][:n]
    return wb.Dataset(
        pd.DataFrame(
            {
                "id": [f"r{i}" for i in range(n)],
                "question": [c.lower() for c in cities],
                "expected": cities,
            }
        )
    )


def echo(name: str = "echo", **kw: Any) -> wb.Variant:
    return wb.Variant(name, model="fake/echo", user="{{ question }}", **kw)


def experiment(variants: list[wb.Variant] | None = None, **kw: Any) -> wb.Experiment:
    kw.setdefault("scorers", ["contains"])
    return wb.Experiment("exp", kw.pop("ds", None) or dataset(), variants or [echo()], **kw)


def run(exp: wb.Experiment, **kw: Any) -> wb.Results:
    return exp.run(progress=QUIET, **kw)


def counting(name: str, reply: Callable[[ChatRequest], str] | None = None) -> list[ChatRequest]:
    """Script fake/<name> to record every request it is asked (including failures)."""
    seen: list[ChatRequest] = []

    def responder(request: ChatRequest) -> str:
        seen.append(request)
        return reply(request) if reply else last_user_text(request)

    current_fake().script(name, responder)
    return seen


# -- the table ------------------------------------------------------------------------------


def test_columns_exactly_declared_and_ordered() -> None:
    exp = experiment(
        [echo(), echo("upper").replace(model="fake/upper")],
        scorers=["contains", wb.scorers.exact(name="same")],
        repeats=2,
    )
    res = run(exp)
    result_columns = [c.name for c in COLUMNS if c.name != "row_id"]
    assert list(res.df.columns) == [
        "row_id",
        "id",
        "question",
        "expected",
        *result_columns,
        "contains",
        "contains_pass",
        "contains_reason",
        "same",
        "same_pass",
        "same_reason",
    ]
    assert res.scorers == ["contains", "same"]
    assert res.variants == ["echo", "upper"]


def test_one_row_per_row_variant_repeat_in_plan_order() -> None:
    exp = experiment([echo("a"), echo("b", system="x")], repeats=3)
    res = run(exp)
    assert len(res.df) == 3 * 2 * 3
    keys = list(zip(res.df["row_id"], res.df["variant"], res.df["repeat"], strict=True))
    assert keys == [(r, v, k) for r in ("r0", "r1", "r2") for v in ("a", "b") for k in range(3)]
    assert not res.df.duplicated(["row_id", "variant", "repeat"]).any()


def test_cell_values() -> None:
    res = run(
        experiment(
            [
                wb.Variant(
                    "u",
                    model="fake/upper",
                    system="Be brief.",
                    user="{{ question }}",
                    params={"max_tokens": 10},
                )
            ]
        )
    )
    first = res.df.iloc[0]
    assert first["row_id"] == "r0"
    assert first["question"] == "paris"
    assert first["model"] == "fake/upper"
    assert first["provider"] == "fake"
    assert json.loads(first["messages"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "paris"},
    ]
    assert first["output"] == "PARIS"
    assert pd.isna(first["error"])
    assert first["finish_reason"] == "stop"
    assert first["input_tokens"] == 3 + 4 + 3 + 4 + 2
    assert first["output_tokens"] == 2
    assert first["latency_ms"] >= 0
    assert first["cost_usd"] == 0.0
    assert not first["cached"]
    assert first["request_key"].startswith("wb1:")
    assert first["contains"] == 1.0
    assert first["contains_pass"]
    assert first["contains_reason"] == "contains 'Paris'"
    assert str(res.df["input_tokens"].dtype) == "Int64"
    assert str(res.df["contains_pass"].dtype) == "boolean"
    assert res.status == "complete"
    assert res.complete
    assert res.message == ""


def test_max_tokens_truncates_and_reports_length(fake: FakeProvider) -> None:
    fake.script("long", "one two three four five")
    res = run(
        experiment(
            [wb.Variant("v", model="fake/long", user="{{ question }}", params={"max_tokens": 2})],
            scorers=[],
        )
    )
    assert set(res.df["output"]) == {"one two"}
    assert set(res.df["finish_reason"]) == {"length"}


def test_dataset_column_named_like_result_column_is_prefixed() -> None:
    ds = wb.Dataset(pd.DataFrame({"question": ["a"], "output": ["given"], "row_id": ["7"]}))
    res = run(experiment(ds=ds, scorers=[]))
    assert list(res.df.columns[:4]) == ["row_id", "question", "input.output", "input.row_id"]
    assert res.df.loc[0, "input.output"] == "given"
    assert res.df.loc[0, "output"] == "a"
    assert res.df.loc[0, "row_id"] == "0"


def test_results_meta() -> None:
    exp = experiment()
    res = run(exp)
    assert res.experiment == "exp"
    assert res.record.dataset.fingerprint == exp.dataset.fingerprint
    assert res.record.models == ("fake/echo",)
    assert res.record.repeats == 1
    assert res.record.spend.calls_usd == 0.0
    assert "exp" in repr(res)
    assert "3 cells" in repr(res)


# -- the store: where it is and what it reuses ----------------------------------------------


def test_store_from_environment(tmp_path: Path) -> None:
    res = run(experiment())
    assert Path(res.record.store) == tmp_path / ".wb-store" / "store.sqlite"
    assert Path(res.record.store).is_file()


def test_store_argument_wins(tmp_path: Path) -> None:
    res = run(experiment(store=tmp_path / "mine"))
    assert Path(res.record.store) == tmp_path / "mine" / "store.sqlite"
    assert not (tmp_path / ".wb-store").exists()


def test_second_run_is_all_cached_and_makes_no_calls(fake: FakeProvider) -> None:
    exp = experiment([echo("a"), echo("b", system="Be brief.")], repeats=2)
    first = run(exp)
    assert fake.calls["echo"] == 12
    assert not first.df["cached"].any()
    second = run(exp)
    assert fake.calls["echo"] == 12
    assert second.df["cached"].all()
    assert second.status == "complete"
    same = [
        "row_id",
        "variant",
        "repeat",
        "output",
        "input_tokens",
        "output_tokens",
        "request_key",
        "contains_pass",
    ]
    pd.testing.assert_frame_equal(first.df[same], second.df[same])
    assert list(second.summary()["cached"]) == [6, 6]


def test_a_new_experiment_object_reuses_the_store(fake: FakeProvider) -> None:
    run(experiment(repeats=2))
    res = run(experiment(repeats=2))
    assert fake.calls["echo"] == 6
    assert res.df["cached"].all()


def test_changing_one_variant_recalls_only_that_variant(fake: FakeProvider) -> None:
    a, b = echo("a"), echo("b", system="Be brief.")
    run(experiment([a, b]))
    assert fake.calls["echo"] == 6
    res = run(experiment([a, b.replace(system="Be very brief.")]))
    assert fake.calls["echo"] == 9
    assert list(res.df.groupby("variant")["cached"].sum()) == [3, 0]


def test_changing_params_or_model_is_a_new_request(fake: FakeProvider) -> None:
    run(experiment([echo(params={"temperature": 0})]))
    run(experiment([echo(params={"temperature": 0.5})]))
    assert fake.calls["echo"] == 6
    run(experiment([echo(params={"temperature": 0.5}).replace(model="fake/upper")]))
    assert fake.calls["echo"] == 6
    assert fake.calls["upper"] == 3


def test_renaming_a_variant_is_cached(fake: FakeProvider) -> None:
    run(experiment([echo("old")]))
    res = run(experiment([echo("new")]))
    assert fake.calls["echo"] == 3
    assert res.df["cached"].all()
    assert set(res.df["variant"]) == {"new"}


def test_repeats_are_cached_separately() -> None:
    seen = counting("rep", lambda r: f"{last_user_text(r)}#{r.repeat}")
    exp = experiment([wb.Variant("v", model="fake/rep", user="{{ question }}")], repeats=3)
    res = run(exp)
    assert len(seen) == 9
    assert sorted({r.repeat for r in seen}) == [0, 1, 2]
    assert list(res.df["output"][:3]) == ["paris#0", "paris#1", "paris#2"]
    assert res.df["request_key"].nunique() == 9
    more = run(experiment([wb.Variant("v", model="fake/rep", user="{{ question }}")], repeats=4))
    assert len(seen) == 12  # only repeat 3 is new
    assert list(more.df["cached"]) == [True, True, True, False] * 3


def test_identical_cells_collapse_into_one_call() -> None:
    seen = counting("same")
    a = wb.Variant("a", model="fake/same", user="{{ question }}")
    exp = experiment([a, a.replace(name="b")], repeats=2)
    assert exp.estimate().calls == 6
    res = run(exp)
    assert len(seen) == 3 * 2
    assert len(res.df) == 12
    for variant in ("a", "b"):
        assert list(res.df[res.df["variant"] == variant]["output"]) == [
            "paris",
            "paris",
            "tokyo",
            "tokyo",
            "rome",
            "rome",
        ]
    assert not res.df["cached"].any()


def test_identical_rows_collapse_too() -> None:
    seen = counting("same")
    ds = wb.Dataset(pd.DataFrame({"question": ["x", "x", "y"], "expected": ["x", "x", "y"]}))
    res = run(experiment([wb.Variant("a", model="fake/same", user="{{ question }}")], ds=ds))
    assert len(seen) == 2
    assert list(res.df["output"]) == ["x", "x", "y"]


# -- failed calls -------------------------------------------------------------------------


def bad_for_tokyo(request: ChatRequest) -> str:
    if last_user_text(request) == "tokyo":
        raise ProviderError("model refused the request", kind="bad_request", status=400)
    return last_user_text(request)


def test_provider_error_becomes_an_error_row() -> None:
    seen = counting("picky", bad_for_tokyo)
    res = run(experiment([wb.Variant("v", model="fake/picky", user="{{ question }}")]))
    assert res.status == "complete"
    assert len(seen) == 3
    bad = res.df[res.df["row_id"] == "r1"].iloc[0]
    assert bad["error"] == "model refused the request"
    assert pd.isna(bad["output"])
    assert pd.isna(bad["input_tokens"])
    assert bad["cost_usd"] == 0.0
    assert pd.isna(bad["contains"])
    assert not bad["contains_pass"]  # a failed call fails every check
    assert bad["contains_reason"] == "call failed: model refused the request"
    assert res.df["error"].isna().sum() == 2
    summary = res.summary().iloc[0]
    assert summary["errors"] == 1
    assert summary["contains_pass_rate"] == 2 / 3


def test_errors_are_not_cached() -> None:
    seen = counting("picky", bad_for_tokyo)
    exp = experiment([wb.Variant("v", model="fake/picky", user="{{ question }}")])
    run(exp)
    assert exp.estimate().cached == 2
    assert exp.estimate().calls == 1
    res = run(exp)
    assert len(seen) == 4  # only the failed row is asked again
    assert list(res.df["cached"]) == [True, False, True]
    assert res.df.loc[1, "error"] == "model refused the request"


def test_non_retryable_error_is_not_retried() -> None:
    wb.configure(backoff_base=0.001)
    seen = counting("picky", bad_for_tokyo)
    run(experiment([wb.Variant("v", model="fake/picky", user="tokyo")], ds=dataset(1)))
    assert len(seen) == 1


def test_retryable_error_is_retried_and_succeeds(fake: FakeProvider) -> None:
    wb.configure(backoff_base=0.001)
    attempts: dict[str, int] = {}

    def flaky(request: ChatRequest) -> str:
        text = last_user_text(request)
        attempts[text] = attempts.get(text, 0) + 1
        if attempts[text] < 3:
            raise ProviderError("overloaded", kind="server", retryable=True, status=503)
        return text

    fake.script("flaky", flaky)
    res = run(experiment([wb.Variant("v", model="fake/flaky", user="{{ question }}")]))
    assert attempts == {"paris": 3, "tokyo": 3, "rome": 3}
    assert res.df["error"].isna().all()
    assert list(res.df["output"]) == ["paris", "tokyo", "rome"]
    assert res.df["contains_pass"].all()


def test_retries_give_up_after_max_retries(fake: FakeProvider) -> None:
    wb.configure(backoff_base=0.001, max_retries=2)
    attempts: list[int] = []

    def down(request: ChatRequest) -> str:
        attempts.append(1)
        raise ProviderError("service unavailable", kind="server", retryable=True, status=503)

    fake.script("down", down)
    res = run(experiment([wb.Variant("v", model="fake/down", user="x")], ds=dataset(1)))
    assert len(attempts) == 3
    assert res.df.loc[0, "error"] == "service unavailable (after 3 attempts)"
    assert res.status == "complete"


def test_scripted_response_object_with_error(fake: FakeProvider) -> None:
    from workbench.providers import Response

    fake.script(
        "resp", lambda r: Response(text="hi", input_tokens=5, output_tokens=1, finish_reason="stop")
    )
    res = run(experiment([wb.Variant("v", model="fake/resp", user="x")], ds=dataset(1), scorers=[]))
    assert res.df.loc[0, "output"] == "hi"
    assert res.df.loc[0, "input_tokens"] == 5


def test_scorer_error_does_not_end_the_run() -> None:
    def broken(output: str, row: Any) -> bool:
        raise RuntimeError("oops")

    res = run(experiment(scorers=[wb.scorers.custom(broken), "contains"]))
    assert res.df["broken_pass"].isna().all()
    assert set(res.df["broken_reason"]) == {"scorer error: RuntimeError: oops"}
    assert res.df["contains_pass"].all()


# -- budget ---------------------------------------------------------------------------------


def priced(**params: Any) -> wb.Variant:
    wb.models.register("fake/priced", input_per_1m=1000.0, output_per_1m=1000.0)
    return wb.Variant(
        "p", model="fake/priced", user="{{ question }}", params={"max_tokens": 5, **params}
    )


def test_budget_stops_scheduling(fake: FakeProvider) -> None:
    exp = experiment([priced()], ds=dataset(5), budget_usd=0.03, concurrency=1)
    full = exp.estimate()
    assert full.cost_usd is not None
    assert full.cost_usd > 0.03
    res = run(exp)
    assert res.status == "budget"
    assert not res.complete
    assert "Stopped scheduling at the budget of $0.0300" in res.message
    assert "raise budget_usd" in res.message
    ran = res.df[res.df["error"].isna()]
    not_run = res.df[res.df["error"].notna()]
    assert 1 <= len(ran) < 5
    assert len(ran) == fake.calls["priced"]
    assert f"{len(not_run)} of 5 cells not run" in res.message
    assert set(not_run["error"]) == {"not run: stopped at the budget"}
    assert not_run["output"].isna().all()
    assert (not_run["cost_usd"] == 0.0).all()
    assert not not_run["cached"].any()
    assert not_run["contains_pass"].isna().all()
    assert (ran["cost_usd"] > 0).all()
    assert res.record.spend.calls_usd == pytest.approx(ran["cost_usd"].sum())
    assert res.record.spend.calls_usd <= 0.03


def test_budget_run_resumes_paying_only_for_the_rest(fake: FakeProvider) -> None:
    exp = experiment([priced()], ds=dataset(5), concurrency=1)
    first = run(exp, budget_usd=0.03)
    done = int(first.df["error"].isna().sum())
    assert exp.estimate().cached == done
    second = run(exp, budget_usd=1.0)
    assert second.status == "complete"
    assert fake.calls["priced"] == 5
    assert int(second.df["cached"].sum()) == done
    assert second.record.spend.calls_usd == pytest.approx(
        second.df[~second.df["cached"]]["cost_usd"].sum()
    )


def test_cost_of_priced_fake() -> None:
    res = run(experiment([priced()], ds=dataset(1)))
    row = res.df.iloc[0]
    # paris: input 3 + 4 + 2 = 9 tokens, output 2 tokens, at $1000 per 1M each.
    assert (row["input_tokens"], row["output_tokens"]) == (9, 2)
    assert row["cost_usd"] == pytest.approx(11 * 1000 / 1e6)
    assert res.summary().iloc[0]["cost_usd"] == pytest.approx(0.011)


def test_zero_budget_runs_nothing_but_cached(fake: FakeProvider) -> None:
    res = run(experiment([priced()], budget_usd=0))
    assert fake.calls["priced"] == 0
    assert res.status == "budget"
    assert res.df["error"].eq("not run: stopped at the budget").all()


def test_budget_needs_prices(fake: FakeProvider) -> None:
    wb.models.register("fake/noprice", input_per_1m=None, output_per_1m=None)
    exp = experiment([wb.Variant("v", model="fake/noprice", user="{{ question }}")], budget_usd=1.0)
    with pytest.raises(
        BudgetError, match=r"cannot bound the spend: fake/noprice would be called and have no price"
    ):
        run(exp)
    assert fake.calls["noprice"] == 0
    assert exp.estimate().cost_usd is None


@pytest.mark.parametrize("bad", [-1, "10"])
def test_bad_budget(bad: Any) -> None:
    with pytest.raises(ConfigError, match="budget_usd must be a number >= 0"):
        experiment(budget_usd=bad)


# -- estimate ------------------------------------------------------------------------------


def test_estimate_before_and_after_a_run(fake: FakeProvider) -> None:
    exp = experiment([priced(), echo()], repeats=2)
    before = exp.estimate()
    assert before.cells == 12
    assert before.cached == 0
    assert before.calls == 12
    # Input: 3 reply priming + 4 per message + ceil(len/4) per question.
    per_row = {"paris": 9, "tokyo": 9, "rome": 8}
    assert before.input_tokens == 2 * 2 * sum(per_row.values())
    # max_tokens 5 for the priced variant; echo reserves its max_output, capped at 4096.
    assert before.max_output_tokens == 6 * 5 + 6 * 4096
    assert before.cost_usd == pytest.approx(2 * (sum(per_row.values()) + 15) * 1000 / 1e6)
    table = before.by_variant.set_index("variant")
    assert table.loc["p", "calls"] == 6
    assert table.loc["echo", "calls"] == 6
    assert table.loc["echo", "cost_usd"] == 0.0
    assert "12 cells: 0 cached, 12 calls to make" in str(before)
    assert fake.calls.total() == 0  # estimating makes no calls

    run(exp)
    after = exp.estimate()
    assert (after.cells, after.cached, after.calls) == (12, 12, 0)
    assert after.input_tokens == 0
    assert after.max_output_tokens == 0
    assert after.cost_usd == 0.0
    assert "at most $0.0000" in str(after)


def test_estimate_needs_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    exp = experiment(
        [
            wb.Variant(
                "v", model="openai/gpt-6.2-sol", user="{{ question }}", params={"max_tokens": 100}
            )
        ]
    )
    est = exp.estimate()
    assert est.calls == 3
    assert est.cost_usd == pytest.approx((est.input_tokens * 2.0 + 300 * 10.0) / 1e6)


# -- async and sync entry points ----------------------------------------------------------


@pytest.mark.asyncio
async def test_arun_in_async_test(fake: FakeProvider) -> None:
    res = await experiment(repeats=2).arun(progress=QUIET)
    assert len(res.df) == 6
    assert res.df["contains_pass"].all()
    assert fake.calls["echo"] == 6


def test_arun_under_asyncio_run() -> None:
    res = asyncio.run(experiment().arun(progress=QUIET))
    assert list(res.df["output"]) == ["paris", "tokyo", "rome"]


def test_run_inside_a_running_event_loop() -> None:
    """Jupyter runs cells inside an event loop; run() must still work there."""

    async def cell() -> wb.Results:
        asyncio.get_running_loop()  # we are inside a loop, like a notebook cell
        return experiment().run(progress=QUIET)

    res = asyncio.run(cell())
    assert res.status == "complete"
    assert list(res.df["output"]) == ["paris", "tokyo", "rome"]


def test_default_progress_reports_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    experiment().run()
    err = capsys.readouterr().err
    assert "exp: 3/3 done · 0 cached · 0 failed · 0 left" in err


# -- summary, leaderboard, save ----------------------------------------------------------


def scored_results() -> wb.Results:
    current_fake().script("half", {"paris": "Paris!", "tokyo": "Kyoto"})  # rome echoes: a pass
    exp = experiment(
        [
            wb.Variant("good", model="fake/upper", user="{{ question }}"),
            wb.Variant("half", model="fake/half", user="{{ question }}"),
        ],
        scorers=["contains", wb.scorers.exact(name="exact")],
        repeats=2,
    )
    return run(exp)


def test_summary_values() -> None:
    s = scored_results().summary().set_index("variant")
    assert list(s.index) == ["good", "half"]
    assert s.loc["good", "n"] == 6
    assert s.loc["good", "errors"] == 0
    assert s.loc["good", "cached"] == 0
    assert s.loc["good", "model"] == "fake/upper"
    assert s.loc["good", "contains_pass_rate"] == 1.0
    assert s.loc["good", "contains_mean"] == 1.0
    assert s.loc["good", "exact_pass_rate"] == 0.0  # "PARIS" is not "Paris"
    assert s.loc["half", "contains_pass_rate"] == pytest.approx(2 / 3)
    assert s.loc["half", "exact_pass_rate"] == 0.0
    assert s.loc["good", "output_tokens"] == pytest.approx((2 + 2 + 1) / 3)
    assert s.loc["good", "cost_usd"] == 0.0
    assert s.loc["good", "latency_p50_ms"] >= 0
    assert s.loc["good", "latency_p95_ms"] >= s.loc["good", "latency_p50_ms"]


def test_leaderboard_ranks_by_first_scorer() -> None:
    board = scored_results().leaderboard()
    assert list(board["rank"]) == [1, 2]
    assert list(board["variant"]) == ["good", "half"]


def test_leaderboard_without_scorers_ranks_by_errors(fake: FakeProvider) -> None:
    fake.script("broken", lambda r: (_ for _ in ()).throw(ProviderError("no", kind="auth")))
    res = run(experiment([wb.Variant("bad", model="fake/broken", user="x"), echo()], scorers=[]))
    assert list(res.leaderboard()["variant"]) == ["echo", "bad"]
    assert list(res.summary()["errors"]) == [3, 0]


def test_save_csv_and_read_back(tmp_path: Path) -> None:
    res = scored_results()
    path = res.save(tmp_path / "out" / "r.csv")
    assert path == tmp_path / "out" / "r.csv"
    back = pd.read_csv(path, dtype={"row_id": str})
    assert list(back.columns) == list(res.df.columns)
    assert len(back) == 12
    assert list(back["output"]) == list(res.df["output"])
    assert list(back["contains_pass"]) == list(res.df["contains_pass"])


def test_save_jsonl_and_read_back(tmp_path: Path) -> None:
    res = scored_results()
    path = res.save(tmp_path / "r.jsonl")
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert len(records) == 12
    assert list(records[0]) == list(res.df.columns)
    assert records[0]["row_id"] == "r0"
    assert records[0]["output"] == "PARIS"
    assert records[0]["contains_pass"] is True
    assert records[0]["input_tokens"] == 9
    assert records[0]["cached"] is False
    assert records[0]["error"] is None


def test_save_jsonl_with_errors_and_missing_values(tmp_path: Path, fake: FakeProvider) -> None:
    fake.script("picky", bad_for_tokyo)
    res = run(experiment([wb.Variant("v", model="fake/picky", user="{{ question }}")]))
    records = [json.loads(line) for line in res.save(tmp_path / "r.jsonl").read_text().splitlines()]
    assert records[1]["output"] is None
    assert records[1]["input_tokens"] is None
    assert records[1]["contains_pass"] is False  # a failed call fails its checks
    assert records[1]["contains"] is None
    assert records[1]["error"] == "model refused the request"


def test_save_parquet_and_read_back(tmp_path: Path) -> None:
    res = scored_results()
    back = pd.read_parquet(res.save(tmp_path / "r.parquet"))
    assert list(back.columns) == list(res.df.columns)
    assert list(back["output"]) == list(res.df["output"])
    assert list(back["input_tokens"]) == list(res.df["input_tokens"])
    assert list(back["contains_pass"]) == list(res.df["contains_pass"])


def test_save_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(wb.WorkbenchError, match=r"Cannot save results as '\.xlsx'"):
        scored_results().save(tmp_path / "r.xlsx")


# -- checks before any call ------------------------------------------------------------------


def test_missing_key_raised_before_any_call(
    monkeypatch: pytest.MonkeyPatch, fake: FakeProvider
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    exp = experiment([echo(), wb.Variant("gpt", model="openai/gpt-6.2-sol", user="{{ question }}")])
    with pytest.raises(MissingKeyError) as info:
        run(exp)
    assert info.value.env_var == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in str(info.value)
    assert "local/smollm2" in str(info.value)
    assert fake.calls.total() == 0


def test_missing_anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    exp = experiment(
        [
            wb.Variant(
                "c",
                model="anthropic/claude-haiku-4-5",
                user="{{ question }}",
                params={"max_tokens": 10},
            )
        ]
    )
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        run(exp)


def test_unknown_param_lists_accepted(fake: FakeProvider) -> None:
    exp = experiment([echo(params={"temprature": 0})])
    with pytest.raises(ParamError) as info:
        run(exp)
    message = str(info.value)
    assert "Variant 'echo' (fake/echo)" in message
    assert "['temprature']" in message
    assert "Accepted:" in message
    assert "temperature" in message
    assert "max_tokens" in message
    with pytest.raises(ParamError):
        exp.estimate()
    assert fake.calls.total() == 0


def test_openai_rejects_provider_specific_param() -> None:
    exp = experiment(
        [wb.Variant("v", model="openai/gpt-6.2-sol", user="{{ question }}", params={"top_k": 5})]
    )
    with pytest.raises(ParamError, match=r"does not accept parameter\(s\) \['top_k'\]"):
        exp.plan()


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"temperature": 2.5}, r"temperature must be a number from 0\.0 to 2\.0, got 2\.5"),
        ({"temperature": -0.1}, "temperature must be a number"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"temperature": True}, "temperature must be a number"),
        ({"top_p": 1.5}, "top_p must be a number from 0.0 to 1.0"),
        ({"max_tokens": 0}, "max_tokens must be a whole number >= 1"),
        ({"max_tokens": 10.5}, "max_tokens must be a whole number >= 1"),
        ({"seed": "x"}, "seed must be a whole number"),
        ({"stop": 3}, "stop must be a string or a list of strings"),
    ],
)
def test_param_values_checked(params: dict[str, Any], pattern: str, fake: FakeProvider) -> None:
    with pytest.raises(ParamError, match=pattern):
        run(experiment([echo(params=params)]))
    assert fake.calls.total() == 0


def test_max_tokens_above_model_max_output() -> None:
    exp = experiment(
        [
            wb.Variant(
                "v", model="openai/gpt-4o-mini", user="{{ question }}", params={"max_tokens": 20000}
            )
        ]
    )
    with pytest.raises(
        ParamError,
        match=r"max_tokens=20000 is more than openai/gpt-4o-mini "
        r"can produce \(16384\)",
    ):
        exp.estimate()


def test_max_tokens_at_model_max_is_fine() -> None:
    exp = experiment(
        [
            wb.Variant(
                "v", model="openai/gpt-4o-mini", user="{{ question }}", params={"max_tokens": 16384}
            )
        ]
    )
    assert exp.estimate().max_output_tokens == 3 * 16384


def test_template_variable_not_in_dataset() -> None:
    with pytest.raises(TemplateError) as info:
        experiment([wb.Variant("v", model="fake/echo", user="{{ question }} {{ answer }}")])
    message = str(info.value)
    assert "Variant 'v' uses {{ answer }}, which is not a column" in message
    assert "Columns: id, question, expected." in message


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"repeats": 0}, "repeats must be a whole number >= 1"),
        ({"repeats": True}, "repeats must be a whole number"),
        ({"concurrency": 0}, "concurrency must be a whole number >= 1"),
    ],
)
def test_bad_experiment_arguments(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        experiment(**kwargs)


def test_duplicate_variant_names() -> None:
    with pytest.raises(ConfigError, match=r"repeated: \['a'\]"):
        experiment([echo("a"), echo("a", system="x")])


def test_dataset_from_dataframe_and_path(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("question,expected\nparis,Paris\n", encoding="utf-8")
    by_path = wb.Experiment("e", tmp_path / "q.csv", [echo()], scorers=["contains"])
    by_str = wb.Experiment("e", "q.csv", [echo()], scorers=["contains"])
    by_df = wb.Experiment(
        "e",
        pd.DataFrame({"question": ["paris"], "expected": ["Paris"]}),
        [echo()],
        scorers=["contains"],
    )
    assert by_path.dataset.fingerprint == by_str.dataset.fingerprint == by_df.dataset.fingerprint
    assert run(by_df).df["contains_pass"].all()


def test_default_model_from_settings() -> None:
    wb.configure(default_model="fake/upper")
    res = run(experiment([wb.Variant("v", user="{{ question }}")]))
    assert set(res.df["model"]) == {"fake/upper"}
    assert list(res.df["output"]) == ["PARIS", "TOKYO", "ROME"]


def test_identical_cells_are_charged_once_on_the_first_run_and_on_a_cached_rerun() -> None:
    wb.models.register("fake/priced", input_per_1m=1000.0, output_per_1m=1000.0)
    a = wb.Variant("a", model="fake/priced", user="{{ question }}")
    exp = experiment([a, a.replace(name="b")])
    first, again = run(exp), run(exp)
    for res in (first, again):
        costs = res.df.pivot(index="row_id", columns="variant", values="cost_usd")
        assert (costs["a"] > 0).all() and (costs["b"] == 0).all()
    assert list(again.df["cost_usd"]) == list(first.df["cost_usd"])
    assert again.df["cached"].all()
