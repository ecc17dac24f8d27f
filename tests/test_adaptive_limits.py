"""Rate limits that adapt instead of failing: a provider's 429s and overloads shrink the calls
allowed in flight (AIMD), the wait it asks for is honoured once, and refusals while it answers
other calls never turn a cell into an error; the progress line says why a run is held back.

First the parts on their own (arithmetic, slots, a fake clock), then whole runs through the real
openai / anthropic SDKs against the loopback mock server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.config import Limits
from workbench.engine.limits import (
    AdaptiveLimit,
    ProviderGate,
    RetryPolicy,
    Slots,
    call_with_retries,
    limit_note,
)
from workbench.engine.progress import NullProgress, Tally
from workbench.errors import ProviderError
from workbench.providers import ChatRequest
from workbench.providers.base import parse_retry_after, status_error
from workbench.providers.fake import FakeProvider
from workbench.testing.mockserver import MockServer

# -- the in-flight limit, as arithmetic ---------------------------------------------------------


def test_a_congestion_event_shrinks_the_limit_once_not_once_per_refused_call() -> None:
    limit = AdaptiveLimit(40)
    sent = limit.epoch  # 40 calls sent together, 20 refused
    assert limit.refused(sent)
    assert limit.slots == 30
    for _ in range(19):
        assert not limit.refused(sent)  # sent before the shrink: nothing new
    assert limit.slots == 30
    assert limit.refused(limit.epoch)  # a call sent after the shrink is refused: shrink again
    assert limit.slots == 22


def test_the_limit_never_falls_below_one_and_grows_back_a_slot_per_round() -> None:
    limit = AdaptiveLimit(8)
    for _ in range(20):
        limit.refused(limit.epoch)
    assert (limit.slots, limit.value) == (1, 1.0)
    rounds = 0
    while limit.slots < 8:
        for _ in range(limit.slots):  # one round: every call in flight answered once
            limit.answered()
        rounds += 1
    assert rounds == 9  # 1 -> 8 additively: about one slot per round
    for _ in range(100):
        limit.answered()
    assert limit.value == 8.0  # never above the configured concurrency


# -- slots of a changing size -------------------------------------------------------------------


def test_a_smaller_limit_takes_effect_as_calls_finish_and_retries_go_first() -> None:
    async def scenario() -> list[str]:
        slots = Slots(3)
        order: list[str] = []
        for _ in range(3):
            await slots.acquire()
        slots.resize(1)  # nobody is cancelled: three calls still hold slots
        fresh = asyncio.create_task(_take(slots, "fresh", order))
        retry = asyncio.create_task(_take(slots, "retry", order, retry=True))
        await asyncio.sleep(0)
        slots.release()
        slots.release()  # two finished: still 1 held, the limit is 1
        await asyncio.sleep(0)
        assert order == [] and slots.held == 1
        slots.release()  # the last one finished: the retry goes first, then the fresh call
        await asyncio.gather(fresh, retry)
        slots.resize(4)
        assert (slots.held, slots.free) == (0, 4)
        return order

    assert asyncio.run(scenario()) == ["retry", "fresh"]


def test_a_larger_limit_wakes_waiters_at_once() -> None:
    async def scenario() -> int:
        slots = Slots(1)
        await slots.acquire()
        order: list[str] = []
        waiting = [asyncio.create_task(_take(slots, str(i), order)) for i in range(3)]
        await asyncio.sleep(0)
        slots.resize(3)
        await asyncio.gather(*waiting)
        return len(order)

    assert asyncio.run(scenario()) == 3


async def _take(slots: Slots, name: str, order: list[str], retry: bool = False) -> None:
    await slots.acquire(retry=retry)
    order.append(name)
    slots.release()


# -- the gate: pause at the floor, the progress note ----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rate_limited(retry_after: float | None = 1.0) -> ProviderError:
    return status_error(429, "mock HTTP 429: slow down", retry_after)


def test_a_refusal_pauses_everyone_only_at_one_call_in_flight_and_only_as_long_as_asked() -> None:
    clock = Clock()
    changes: list[str] = []
    gate = ProviderGate(Limits(2), "mock", on_limit=lambda: changes.append(gate.note()))
    gate.clock = clock
    gate.refused(rate_limited(), gate.adaptive.epoch, asked=1.0)
    assert gate.adaptive.slots == 1 and gate.resume_at == 0.0  # shrank: no pause for others
    assert changes == ["mock: 1 of 2 calls in flight after HTTP 429 rate limited"]
    gate.refused(rate_limited(), gate.adaptive.epoch, asked=1.0)
    assert gate.resume_at == 101.0  # at the floor: the asked second, not more
    clock.now = 100.5
    gate.refused(rate_limited(), gate.adaptive.epoch, asked=0.2)
    assert gate.resume_at == 101.0  # a shorter ask does not cut the pause short either
    # The refused call itself waits what was asked plus a little jitter: never less than the
    # pause, so it does not wait for the pause again when it comes back.
    delay = RetryPolicy().delay(1, rate_limited(1.0), random.Random(3))
    assert 1.0 <= delay <= 1.1
    assert 100.0 + delay >= gate.resume_at
    gate.succeeded()
    assert gate.note() == ""  # 2 of 2 again: the note is cleared
    assert changes[-1] == ""


def test_overloads_shrink_the_limit_and_are_named_in_the_note() -> None:
    gates = [ProviderGate(Limits(8), "anthropic"), ProviderGate(Limits(4), "openai")]
    overloaded = status_error(529, "anthropic HTTP 529: Overloaded")
    assert overloaded.kind == "overloaded"
    gates[0].refused(overloaded, 0, asked=0.5)
    assert limit_note(gates) == "anthropic: 6 of 8 calls in flight after HTTP 529 overloaded"
    gates[1].refused(status_error(503, "openai HTTP 503: The engine is overloaded"), 0, 0.5)
    assert limit_note(gates).endswith("; openai: 3 of 4 calls in flight after HTTP 503 overloaded")
    assert status_error(503, "proxy HTTP 503: Service Unavailable").kind == "server"


def test_retry_after_is_read_from_seconds_milliseconds_and_http_dates() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "1"}) == 0.25
    date = parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert date == 0.0  # in the past: go now
    assert RetryPolicy(cap=1.0).asked(rate_limited(3600.0)) == 4.0  # within reason


# -- call_with_retries: what counts against max_retries -------------------------------------------


def attempts_of(
    failures: Callable[[ProviderGate, int], ProviderError | None], policy: RetryPolicy
) -> tuple[int, object]:
    """Run one call whose attempt ``n`` fails with ``failures(gate, n)`` (None: answered)."""
    gate = ProviderGate(Limits(4), "mock")
    count = 0

    async def call() -> object:
        nonlocal count
        count += 1
        error = failures(gate, count)
        if error is not None:
            raise error
        return "answer"

    async def go() -> object:
        try:
            return await call_with_retries(call, gate, policy, 1, random.Random(0))
        except ProviderError as exc:
            return exc

    outcome = asyncio.run(go())
    return count, outcome


def test_refusals_while_the_provider_answers_others_never_fail_a_call() -> None:
    def refused_nine_times(gate: ProviderGate, n: int) -> ProviderError | None:
        if n <= 9:
            gate.succeeded()  # another call to this provider was answered meanwhile
            return rate_limited(0.0)
        return None

    assert attempts_of(refused_nine_times, RetryPolicy(max_retries=0)) == (10, "answer")


def test_a_provider_that_answers_nobody_fails_the_call_and_says_why() -> None:
    count, error = attempts_of(lambda gate, n: rate_limited(0.0), RetryPolicy(max_retries=2))
    assert count == 4  # the first refusal is free, then 3 count: max_retries + 1
    assert str(error) == (
        "mock HTTP 429: slow down (after 4 attempts; no call to mock was answered meanwhile)"
    )


def test_a_call_refused_forever_while_others_pass_still_ends() -> None:
    def always(gate: ProviderGate, n: int) -> ProviderError:
        gate.succeeded()
        return rate_limited(0.0)

    count, error = attempts_of(always, RetryPolicy(max_retries=1, max_attempts=12))
    assert count == 12
    assert str(error) == (
        "mock HTTP 429: slow down (after 12 attempts; mock kept refusing it while answering "
        "other calls: lower the concurrency, or make this request smaller)"
    )


def test_server_errors_keep_the_normal_retry_budget() -> None:
    def broken(gate: ProviderGate, n: int) -> ProviderError:
        gate.succeeded()  # others pass: a 500 still counts every time
        return status_error(500, "mock HTTP 500: boom")

    count, error = attempts_of(broken, RetryPolicy(max_retries=2, base=0.001))
    assert count == 3
    assert str(error) == "mock HTTP 500: boom (after 3 attempts)"


def test_a_refused_slot_does_not_go_to_the_next_call_when_the_limit_shrank() -> None:
    async def scenario() -> list[str]:
        gate = ProviderGate(Limits(2), "mock")
        policy = RetryPolicy(max_retries=3)
        events: list[str] = []
        release_long = asyncio.Event()

        def job(name: str, body: Callable[[], Awaitable[object]]) -> Awaitable[object]:
            async def call() -> object:
                events.append(f"{name} sent")
                return await body()

            return call_with_retries(call, gate, policy, 1, random.Random(0))

        async def long() -> object:
            await release_long.wait()
            return "long"

        refusals = iter([rate_limited(0.0)])

        async def refused_once() -> object:
            error = next(refusals, None)
            if error is not None:
                raise error
            return "again"

        async def fresh() -> object:
            return "fresh"

        tasks = [asyncio.create_task(job("long", long))]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(job("refused", refused_once)))
        tasks.append(asyncio.create_task(job("fresh", fresh)))
        for _ in range(5):
            await asyncio.sleep(0)
        assert gate.adaptive.slots == 1  # 2 -> 1: "long" still holds the only slot
        assert events == ["long sent", "refused sent"]  # "fresh" waits for it
        release_long.set()
        await asyncio.gather(*tasks)
        return events

    events = asyncio.run(scenario())
    assert events[2:] == ["refused sent", "fresh sent"]  # the retry first, then the fresh call


def test_calls_waiting_with_a_slot_give_it_back_when_the_limit_shrinks() -> None:
    async def scenario() -> list[tuple[int, int]]:
        gate = ProviderGate(Limits(4), "mock")
        gate.resume_at = gate.clock() + 0.05  # four calls take slots, then wait in admit()
        sent: list[tuple[int, int]] = []  # (calls in flight, limit) as each call is sent

        async def call() -> object:
            sent.append((gate.in_flight, gate.adaptive.slots))
            await asyncio.sleep(0.01)
            return "ok"

        tasks = [
            asyncio.create_task(call_with_retries(call, gate, RetryPolicy(), 1, random.Random(0)))
            for _ in range(4)
        ]
        await asyncio.sleep(0)
        assert gate.slots.held == 4
        for _ in range(3):  # three congestion events while they wait: 4 -> 3 -> 2 -> 1
            gate.refused(rate_limited(0.0), gate.adaptive.epoch, asked=0.0)
        assert gate.adaptive.slots == 1
        await asyncio.gather(*tasks)
        return sent

    sent = asyncio.run(scenario())
    assert sent[0] == (1, 1)  # one went; three gave their slots back and queued
    assert all(in_flight <= limit for in_flight, limit in sent)  # then as answers grew it


# -- whole runs: the note, on the fake provider ---------------------------------------------------


class Notes(NullProgress):
    """Records the limit note each time the run shows progress, and the final tally."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.final: dict[str, str] = {}

    def update(self, tally: Tally) -> None:
        self.seen.append(tally.notes.get("limit", ""))

    def finish(self, tally: Tally, status: str, message: str) -> None:
        self.final = dict(tally.notes)


def test_the_progress_line_says_why_the_run_is_held_back_then_clears(fake: FakeProvider) -> None:
    refusals = iter(range(2))

    def overloaded_at_first(request: ChatRequest) -> str:
        if next(refusals, None) is not None:
            raise ProviderError(
                "fake HTTP 529: overloaded", kind="overloaded", retryable=True, status=529
            )
        return "ok"

    fake.script("busy", overloaded_at_first, latency=0.001)
    wb.configure(max_retries=0, backoff_base=0.001)
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(120)]}))
    exp = wb.Experiment("held", ds, [wb.Variant("v", model="fake/busy", user="{{ q }}")])
    notes = Notes()
    res = exp.run(progress=notes)
    assert res.df["error"].isna().all()  # max_retries=0, and no cell lost to the overloads
    held = {n for n in notes.seen if n}
    assert held and all(n.startswith("fake: ") for n in held)
    assert any(n.endswith("of 16 calls in flight after HTTP 529 overloaded") for n in held)
    assert notes.seen[-1] == "" and "limit" not in notes.final  # grown back: cleared
    line = Tally(notes={"limit": sorted(held)[0]}).line()
    assert line.endswith(" · " + sorted(held)[0])  # shown in the text progress line


# -- whole runs through the real SDKs against the loopback mock server -------------------------

MODELS = {
    "openai": "openai/gpt-6.2-sol",
    "anthropic": "anthropic/claude-haiku-4-5",
    "compatible": "mock/anything",
}


def experiment(kind: str, cells: int, concurrency: int, **kw: Any) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"{kind} question {i}" for i in range(cells)]}))
    variant = wb.Variant("v", model=MODELS[kind], user="{{ q }}", params={"max_tokens": 8})
    return wb.Experiment("limits", ds, [variant], concurrency=concurrency, **kw)


def run_all_answered(
    exp: wb.Experiment, srv: MockServer, calls_per_cell: int = 1
) -> tuple[wb.Results, Notes, dict[str, Any]]:
    """Run; every cell answered, no call paid twice; the notes shown and the server's counters."""
    notes = Notes()
    res = exp.run(progress=notes)
    stats = srv.stats()
    assert res.status == "complete"
    assert res.df["error"].isna().all(), res.df["error"].dropna().head().tolist()
    assert res.df["output"].str.startswith("mock: ").all()
    assert stats["successes"] == calls_per_cell * len(res.df)
    assert max(stats["fingerprints"].values()) == 1
    return res, notes, stats


@pytest.mark.parametrize("style", ["seconds", "ms"])
@pytest.mark.parametrize("kind", ["openai", "anthropic", "compatible"])
def test_a_429_storm_ends_with_every_cell_answered(srv: MockServer, kind: str, style: str) -> None:
    srv.set_faults(
        rate_limit_first=12, rate_limit_every=4, retry_after=0.05, retry_after_format=style
    )
    _, notes, stats = run_all_answered(experiment(kind, 60, concurrency=12), srv)
    assert stats["faults_fired"]["rate_limit"] >= 20
    provider = MODELS[kind].split("/")[0]
    held = [n for n in notes.seen if n]
    assert held and all(n.startswith(f"{provider}: ") for n in held)
    assert any(n.endswith(" of 12 calls in flight after HTTP 429 rate limited") for n in held)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_hard_cap_below_the_requested_concurrency_makes_the_run_slower_not_lossy(
    srv: MockServer, kind: str
) -> None:
    wb.configure(max_retries=0)  # refusals while the server answers others never count
    srv.set_faults(max_in_flight=4, latency=0.05, retry_after=0.1)
    _, notes, stats = run_all_answered(experiment(kind, 80, concurrency=16), srv)
    assert stats["over_capacity"] > 0
    assert stats["max_in_flight"] <= 4
    assert any(n.endswith("of 16 calls in flight after HTTP 429 rate limited") for n in notes.seen)


def test_a_cap_with_500s_and_dropped_connections_still_answers_every_cell(
    srv: MockServer,
) -> None:
    wb.configure(max_retries=6)
    srv.set_faults(max_in_flight=5, latency=0.02, retry_after=0.1, error_rate=0.05, drop_rate=0.05)
    *_, stats = run_all_answered(experiment("compatible", 100, concurrency=20), srv)
    fired = stats["faults_fired"]
    assert stats["over_capacity"] > 0 and fired["error"] > 0 and fired["drop"] > 0


@pytest.mark.parametrize(("kind", "status"), [("anthropic", 529), ("openai", 503)])
def test_overloads_are_paced_like_429s(srv: MockServer, kind: str, status: int) -> None:
    wb.configure(max_retries=1)
    srv.set_faults(overload_rate=0.25, seed=2)
    _, notes, stats = run_all_answered(experiment(kind, 60, concurrency=8), srv)
    assert stats["faults_fired"]["overload"] > 5
    assert any(n.endswith(f"after HTTP {status} overloaded") for n in notes.seen)


def test_a_provider_refusing_every_call_ends_the_run_with_error_rows_that_say_why(
    srv: MockServer,
) -> None:
    wb.configure(max_retries=2)
    srv.set_faults(rate_limit_every=1, retry_after=0.01)
    res = experiment("openai", 3, concurrency=4).run(progress=NullProgress())
    assert res.status == "complete"
    assert (
        list(res.df["error"])
        == [
            "openai HTTP 429: Rate limit reached (mock). Please try again later. "
            "(after 4 attempts; no call to openai was answered meanwhile)"
        ]
        * 3
    )
    assert srv.stats()["requests_total"] == 12


def test_judge_calls_under_the_same_storm_all_succeed(srv: MockServer) -> None:
    wb.configure(limits={"mock": Limits(concurrency=12)}, max_retries=0)
    srv.set_faults(max_in_flight=3, latency=0.02, retry_after=0.05)
    judge = wb.scorers.judge("The answer repeats the question.", model="mock/judge")
    exp = experiment("compatible", 30, concurrency=12, scorers=[judge])
    res, _, stats = run_all_answered(exp, srv, calls_per_cell=2)  # the answer, then its judge
    reasons = res.df["judge_reason"]
    assert reasons.str.startswith("judge reply not understood: 'mock: ").all()  # answered
    assert stats["over_capacity"] > 0
