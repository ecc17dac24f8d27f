"""Runs in provider batches (``mode="batch"``) through the real openai / anthropic SDKs against the
mock server's batch APIs: end to end, the cache shared with real-time runs, a provider without a
batch API in the same run, failed, cancelled and expired requests, judges in a second phase,
the estimate side by side, per-batch limits, the budget, and a handle that outlives the kernel.

Everything is proven by what the mock saw (batches created, chat calls, request fingerprints).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from batch_cases import (
    MODELS,
    batch_server,
    chat_calls,
    created,
    point_at,
    questions,
    stored_batches,
    variant,
)

import workbench as wb
from workbench.batch_runs import BatchRun
from workbench.engine.batch import poll_waits
from workbench.engine.progress import NullProgress, Tally
from workbench.errors import ConfigError
from workbench.models.catalog import model_info
from workbench.providers.base import BatchItem, BatchLimits, ChatRequest, ModelId, ModelInfo
from workbench.providers.batch import split_batches
from workbench.providers.fake import FakeProvider
from workbench.providers.openai_chat import OpenAIProvider
from workbench.testing.mockcore import fingerprint
from workbench.testing.mockserver import MockServer

KINDS = list(MODELS)


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with batch_server(monkeypatch) as server:
        yield server


def batch_cost(info: ModelInfo, row: Any) -> float | None:
    """What a row's call costs at the model's batch prices."""
    return info.cost(
        row.input_tokens,
        row.output_tokens,
        cached=0 if pd.isna(row.cached_input_tokens) else int(row.cached_input_tokens),
        written=0 if pd.isna(row.cache_write_tokens) else int(row.cache_write_tokens),
        tier="batch",
    )


def unstreamed(bodies: list[dict[str, Any]]) -> set[str]:
    """Fingerprints of real-time request bodies without their streaming keys (how the reply
    travels): what a batch line of the same request must be."""
    transport = ("stream", "stream_options")
    return {fingerprint({k: v for k, v in b.items() if k not in transport}) for b in bodies}


def batch_run(exp: wb.Experiment) -> wb.Results:
    res = exp.run(mode="batch", progress=NullProgress())
    assert isinstance(res, wb.Results)
    return res


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_run_end_to_end(srv: MockServer, kind: str) -> None:
    exp = wb.Experiment("e2e", questions(4), [variant(kind)])
    res = batch_run(exp)
    df = res.df
    assert res.status == "complete" and res.message == ""
    assert list(df["output"]) == [f"mock: q{i}" for i in range(4)]
    assert df["error"].isna().all() and not df["cached"].any()
    assert created(srv) == {kind: 1} and chat_calls(srv) == 0  # one batch, no real-time call
    (batch,) = stored_batches()
    assert batch.outcome == "completed" and not batch.open and batch.total == 4
    assert set(df["batch_id"]) == {batch.provider_batch}
    info = model_info(MODELS[kind])
    assert info.batch_input_per_1m == info.input_per_1m / 2  # type: ignore[operator]
    for row in df.itertuples():
        full = info.cost(row.input_tokens, row.output_tokens)
        assert full
        assert row.cost_usd == pytest.approx(full / 2)  # the batch price
        assert row.cost_usd == pytest.approx(batch_cost(info, row))
    assert res.record.mode == "batch"
    assert res.record.spend.calls_usd == pytest.approx(df["cost_usd"].sum())


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_line_is_exactly_what_a_real_time_call_sends(
    srv: MockServer, kind: str, tmp_path: object
) -> None:
    v = variant(kind, params={"max_tokens": 20, "temperature": 0.5, "stop": ["\n\n"]})
    batch_run(wb.Experiment("lines", questions(3), [v]))
    wb.configure(store=str(tmp_path) + "/other-store")  # nothing cached: every call is made
    exp = wb.Experiment("lines", questions(3), [v])
    real = exp.run(progress=NullProgress())  # streamed, as real-time calls are by default
    assert real.df["batch_id"].isna().all() and chat_calls(srv) == 3
    assert all(body["stream"] is True for body in srv.bodies())
    assert set(srv.stats()["batches"]["fingerprints"]) == unstreamed(srv.bodies())
    assert len(unstreamed(srv.bodies())) == 3


def test_the_cache_is_shared_both_ways(srv: MockServer) -> None:
    v = variant("openai")
    first = wb.Experiment("shared", questions(4), [v]).run(progress=NullProgress())
    assert chat_calls(srv) == 4 and first.df["batch_id"].isna().all()

    res = batch_run(wb.Experiment("shared", questions(6), [v]))  # 4 answered in real time
    assert int(res.df["cached"].sum()) == 4
    (batch,) = stored_batches()
    assert batch.total == 2  # only the two new questions went in the batch
    assert chat_calls(srv) == 4

    again = wb.Experiment("shared", questions(6), [v]).run(progress=NullProgress())
    assert again.df["cached"].all() and chat_calls(srv) == 4  # batch answers reused in real time
    batched = again.df[again.df["batch_id"].notna()]
    assert list(batched["q"]) == ["q4", "q5"]
    info = model_info(MODELS["openai"])
    for row in batched.itertuples():  # a cached cell costs what it cost when it was made
        assert row.cost_usd == pytest.approx(batch_cost(info, row))


def test_a_provider_without_a_batch_api_runs_in_real_time_in_the_same_run(
    srv: MockServer,
) -> None:
    echo = FakeProvider().script("echo", lambda req: "real time: " + req.messages[-1]["content"])
    exp = wb.Experiment(
        "mixed", questions(3), [variant("openai"), variant("fake/echo", "fake")], providers=[echo]
    )
    est = exp.estimate()
    assert est.realtime_only == ("fake/echo",)
    assert "fake/echo: no batch API, run in real time" in str(est)
    res = batch_run(exp)
    df = res.df.set_index(["variant", "q"])
    assert res.status == "complete"
    assert echo.calls["echo"] == 3
    assert df.loc[("fake", "q1"), "output"] == "real time: q1"
    assert df.loc[("openai", "q1"), "output"] == "mock: q1"
    assert df.xs("fake")["batch_id"].isna().all() and df.xs("openai")["batch_id"].notna().all()
    assert created(srv) == {"openai": 1} and chat_calls(srv) == 0


# -- what goes wrong ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_failed_requests_become_error_rows_and_retryable_ones_go_again(
    srv: MockServer, kind: str
) -> None:
    srv.set_batch(fail={"q1": 400}, fail_once={"q2": 500})
    res = batch_run(wb.Experiment("fails", questions(4), [variant(kind)]))
    df = res.df.set_index("q")
    assert res.status == "complete"
    assert f"{kind} HTTP 400 (in a batch)" in df.loc["q1", "error"]
    assert pd.isna(df.loc["q1", "output"])
    assert df.loc["q2", "output"] == "mock: q2"  # the 500 went again in a follow-up batch
    assert df.drop(index="q1")["error"].isna().all()
    assert created(srv) == {kind: 2}
    assert [b.total for b in reversed(stored_batches())] == [4, 1]

    again = batch_run(wb.Experiment("fails", questions(4), [variant(kind)]))
    assert int(again.df["cached"].sum()) == 3  # errors are not cached: q1 is sent again
    assert created(srv) == {kind: 3}


@pytest.mark.parametrize("kind", KINDS)
def test_a_cancelled_batch_keeps_its_finished_requests(srv: MockServer, kind: str) -> None:
    srv.set_batch(delay=0.05, stall_after=2)  # two requests finish, then it waits
    exp = wb.Experiment("cancel", questions(5), [variant(kind)])
    handle = exp.run(mode="batch", wait=False, progress=NullProgress())
    assert isinstance(handle, BatchRun)
    time.sleep(0.2)
    table = handle.cancel()
    assert srv.stats()["batches"]["cancelled"] == {kind: 1}
    assert list(table["collected"]) == [False]
    res = handle.results()
    df = res.df.set_index("q")
    assert list(df["output"].dropna()) == ["mock: q0", "mock: q1"]
    for q in ("q2", "q3", "q4"):
        assert "not run: the batch was cancelled before this request ran" in df.loc[q, "error"]
    assert "cancelled: 2 of 5 requests answered (kept)" in res.message
    assert created(srv) == {kind: 1}

    srv.set_batch(stall_after=None)
    again = batch_run(exp)  # the three not run go in a new batch; the two kept are cached
    assert again.df["error"].isna().all() and int(again.df["cached"].sum()) == 2
    assert stored_batches()[0].total == 3


@pytest.mark.parametrize("kind", KINDS)
def test_an_expired_batch_is_reported_and_its_finished_requests_kept(
    srv: MockServer, kind: str
) -> None:
    srv.set_batch(delay=0.05, stall_after=1, expires_in=0.3)
    res = batch_run(wb.Experiment("expire", questions(3), [variant(kind)]))
    df = res.df.set_index("q")
    assert df.loc["q0", "output"] == "mock: q0"
    assert "not run: the batch expired before this request ran" in df.loc["q1", "error"]
    assert "expired: 1 of 3 requests answered (kept)" in res.message
    (batch,) = stored_batches()
    assert batch.outcome == "expired" and not batch.open


# -- judges, estimate, progress -----------------------------------------------------------------


def test_judges_go_in_a_second_batch_phase(srv: MockServer) -> None:
    # The mock echoes the judge's prompt, which holds the graded output: make that a grade.
    srv.set_answers({"q0": "GRADE: PASS", "q1": "GRADE: FAIL"})
    judge = wb.scorers.judge("Is it right?", model=MODELS["openai"])
    exp = wb.Experiment("judged", questions(2), [variant("anthropic")], scorers=[judge])
    res = batch_run(exp)
    df = res.df.set_index("q")
    assert list(df["judge_pass"]) == [True, False]
    assert created(srv) == {"anthropic": 1, "openai": 1}  # the grid, then the judges
    assert chat_calls(srv) == 0  # no judge call in real time
    assert [b.purpose for b in reversed(stored_batches())] == ["cell", "judge"]
    assert res.record.spend.judge_calls == 2
    assert (df["scoring_cost_usd"] > 0).all()


def test_the_estimate_shows_real_time_and_batch_cost_side_by_side(srv: MockServer) -> None:
    exp = wb.Experiment(
        "est", questions(3), [variant("openai"), variant("anthropic"), variant("fake/echo")]
    )
    est = exp.estimate()
    assert est.cost_usd and est.batch_cost_usd
    assert est.batch_cost_usd == pytest.approx(est.cost_usd / 2)  # fake/echo is free
    assert est.realtime_only == ("fake/echo",)
    table = est.by_variant.set_index("variant")
    assert table.loc["openai", "batch_cost_usd"] == pytest.approx(
        table.loc["openai", "cost_usd"] / 2
    )
    assert f'as a batch run (mode="batch") at most ${est.total_batch_cost_usd:.4f}' in str(est)


class Notes(NullProgress):
    """Remembers every batch note the progress was shown."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def update(self, tally: Tally) -> None:
        if tally.notes.get("batch"):
            self.seen.append(tally.notes["batch"])


def test_progress_shows_each_batch_state_and_counts_while_polling(srv: MockServer) -> None:
    srv.set_batch(delay=0.4)
    notes = Notes()
    exp = wb.Experiment("progress", questions(3), [variant("openai"), variant("anthropic")])
    exp.run(mode="batch", progress=notes)
    text = "\n".join(notes.seen)
    assert "openai batch_mock" in text and "anthropic msgbatch_mock" in text
    assert "in_progress, 0/3 answered" in text
    assert "completed, collected, 3/3 answered" in notes.seen[-1]


# -- limits and budget --------------------------------------------------------------------------


class SmallBatchesOpenAI(OpenAIProvider):
    """OpenAI with tiny batches, to see runs split at the provider's limits."""

    batch_limits = BatchLimits(max_requests=3, max_bytes=1_000_000)


def test_a_run_splits_batches_at_the_provider_limits(srv: MockServer) -> None:
    srv.set_batch(max_requests=3)  # the mock refuses a bigger one, as the API would
    small = SmallBatchesOpenAI("openai", srv.openai_base_url)
    res = batch_run(wb.Experiment("split", questions(7), [variant("openai")], providers=[small]))
    assert res.df["error"].isna().all()
    assert sorted(b.total for b in stored_batches()) == [1, 3, 3]
    assert created(srv) == {"openai": 3}


def test_split_batches_respects_requests_bytes_and_models() -> None:
    def item(i: int, model: str = "m") -> BatchItem:
        request = ChatRequest(ModelId("openai", model), ({"role": "user", "content": "x"},))
        return BatchItem(f"wb-{i}", request)

    items = [item(0), item(1, "other"), item(2), item(3), item(4)]
    split = split_batches(items, BatchLimits(10, 25), lambda i: 10)
    assert [[i.custom_id for i in b] for b in split] == [
        ["wb-0", "wb-2"],
        ["wb-3", "wb-4"],
        ["wb-1"],
    ]
    with pytest.raises(ConfigError, match="more than a whole batch may hold"):
        split_batches(items, BatchLimits(10, 5), lambda i: 10)


def test_the_budget_caps_what_is_submitted(srv: MockServer) -> None:
    exp = wb.Experiment("budget", questions(5), [variant("openai", params={"max_tokens": 50})])
    one = exp.plan().cells[0].as_call().max_cost(batch=True)
    assert one
    res = exp.run(mode="batch", budget_usd=2.5 * one, progress=NullProgress())
    assert isinstance(res, wb.Results)
    assert res.status == "budget"
    assert stored_batches()[0].total == 2
    assert int(res.df["error"].isna().sum()) == 2


# -- a handle that outlives the kernel ------------------------------------------------------------


def test_wait_false_returns_a_handle_whose_results_work_after_a_restart(srv: MockServer) -> None:
    srv.set_batch(delay=60)
    exp = wb.Experiment("later", questions(3), [variant("openai"), variant("anthropic")])
    handle = exp.run(mode="batch", wait=False, progress=NullProgress())
    assert isinstance(handle, BatchRun)
    assert not handle.ready()
    assert set(handle.status()["state"]) == {"in_progress"}
    assert "res = handle.results()" in repr(handle)
    submitted = created(srv)
    assert submitted == {"openai": 1, "anthropic": 1}
    est = exp.estimate()  # what waits in the batches is paid for: a batch run pays no more
    assert est.in_batches == 6 and est.batch_cost_usd == 0.0 and est.cost_usd
    assert "6 cells wait in provider batches already paid for" in str(est)

    # A kernel restart: nothing of the first session is left but the store.
    wb.config.reset_settings()
    point_at(srv)
    exp = wb.Experiment("later", questions(3), [variant("openai"), variant("anthropic")])
    again = exp.run(mode="batch", wait=False, progress=NullProgress())
    assert isinstance(again, BatchRun)
    assert set(again.batch_ids) == set(handle.batch_ids)  # re-attached, nothing new submitted
    assert created(srv) == submitted
    srv.set_batch(delay=0)
    res = again.results()
    assert res.status == "complete" and res.df["error"].isna().all()
    assert created(srv) == submitted and chat_calls(srv) == 0
    assert len(res.df) == 6


def test_wait_false_needs_batch_mode() -> None:
    exp = wb.Experiment("x", questions(1), [variant("fake/echo")])
    with pytest.raises(ConfigError, match='wait=False needs mode="batch"'):
        exp.run(wait=False, mode="realtime", progress=NullProgress())  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="Unknown mode 'bulk'"):
        exp.run(mode="bulk", progress=NullProgress())


def test_arun_in_batch_mode(srv: MockServer) -> None:
    import asyncio

    exp = wb.Experiment("async", questions(2), [variant("openai")])
    res = asyncio.run(exp.arun(mode="batch", progress=NullProgress()))
    assert res.df["error"].isna().all() and created(srv) == {"openai": 1}


def test_polls_back_off_from_a_second_up_to_batch_poll() -> None:
    assert list(itertools.islice(poll_waits(60.0), 9)) == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert list(itertools.islice(poll_waits(0.05), 3)) == [0.05] * 3
