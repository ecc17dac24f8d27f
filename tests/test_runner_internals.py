"""The runner's speed mechanisms keep its promises: a call is committed before it is counted or
shown (group commit), slots are handed out first come first served and survive cancellation,
the garbage-collector settings of a run are undone when it ends, and ``put_many`` commits calls
together as ``put`` does one."""

from __future__ import annotations

import asyncio
import gc
import sqlite3

import pandas as pd
import pytest

import workbench as wb
from workbench.config import get_settings
from workbench.engine.limits import Slots
from workbench.engine.progress import NullProgress, Tally
from workbench.engine.store import Store
from workbench.errors import ProviderError
from workbench.providers import ChatRequest, Response
from workbench.providers.fake import FakeProvider


def experiment(n: int = 40, concurrency: int = 8) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(n)]}))
    return wb.Experiment(
        "commit", ds, [wb.Variant("v", model="fake/slow", user="{{ q }}")], concurrency=concurrency
    )


class Auditor(NullProgress):
    """Checks, every time the runner shows progress, that what it counts is already committed."""

    def __init__(self) -> None:
        self.checks = 0

    def update(self, tally: Tally) -> None:
        path = get_settings().store_path
        with sqlite3.connect(path) as db:  # another connection: sees only committed rows
            journaled = db.execute("SELECT COUNT(*) FROM run_cells").fetchone()[0]
        assert journaled >= tally.done - tally.cached, (journaled, tally.done)
        self.checks += 1


def test_every_counted_call_is_already_committed(fake: FakeProvider) -> None:
    def reply(request: ChatRequest) -> str:
        if request.messages[-1]["content"].endswith("7"):
            raise ProviderError("boom", kind="server", retryable=False)
        return "ok"

    fake.script("slow", reply, latency=0.01)
    auditor = Auditor()
    res = experiment().run(progress=auditor)
    assert auditor.checks == 40 and res.complete
    assert int(res.df["error"].notna().sum()) == 4  # q7, q17, q27, q37: journaled, not cached
    with Store(get_settings().store_path) as store:
        assert store.count_responses() == 36


def test_gc_settings_are_restored_after_a_run_even_a_failing_one(fake: FakeProvider) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    fake.script("slow", "ok")
    experiment(n=4).run(progress=NullProgress())
    assert (gc.get_threshold(), gc.get_freeze_count()) == before

    class Broken(NullProgress):
        def update(self, tally: Tally) -> None:
            raise RuntimeError("a progress display that breaks")

    with pytest.raises(RuntimeError, match="breaks"):
        experiment(n=6).run(progress=Broken())  # rows 4 and 5 are not cached: calls are made
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_slots_are_first_come_first_served_and_survive_cancellation() -> None:
    async def scenario() -> list[str]:
        slots = Slots(1)
        order: list[str] = []

        async def user(name: str, hold: float) -> None:
            async with slots:
                order.append(name)
                await asyncio.sleep(hold)

        first = asyncio.create_task(user("first", 0.05))
        await asyncio.sleep(0)
        waiters = {n: asyncio.create_task(user(n, 0.0)) for n in ("a", "b", "c")}
        await asyncio.sleep(0.01)
        waiters["b"].cancel()  # a cancelled waiter gives up its place, not the slot
        await asyncio.gather(first, *waiters.values(), return_exceptions=True)
        assert slots.free == 1 and not slots._waiters
        return order

    assert asyncio.run(scenario()) == ["first", "a", "c"]


def test_a_slot_handed_to_a_waiter_cancelled_at_that_moment_is_passed_on() -> None:
    async def scenario() -> None:
        slots = Slots(1)
        await slots.__aenter__()
        taken = asyncio.create_task(slots.__aenter__())
        after = asyncio.create_task(slots.__aenter__())
        await asyncio.sleep(0)
        slots.release()  # hands the slot to `taken` ...
        taken.cancel()  # ... which is cancelled before it runs: `after` gets the slot
        await asyncio.gather(taken, return_exceptions=True)
        await asyncio.wait_for(after, 1.0)
        assert slots.free == 0
        slots.release()
        assert slots.free == 1

    asyncio.run(scenario())


def test_put_many_commits_successes_and_journals_failures() -> None:
    ok = Response(text="hi", input_tokens=1, output_tokens=1, latency_ms=1.0)
    failed = Response(text=None, latency_ms=1.0, error="boom", error_kind="server")
    with Store(get_settings().store_path) as store:
        store.put_many(
            [("k1", "fake/x", ok, [("run", 0)]), ("k2", "fake/x", failed, [("run", 1), ("run", 2)])]
        )
        store.put_many([])
        assert store.count_responses() == 1
        assert set(store.get_many(["k1", "k2"])) == {"k1"}
        rows = store._db.execute("SELECT cell, key, error FROM run_cells ORDER BY cell").fetchall()
    assert rows == [(0, "k1", None), (1, "k2", "boom"), (2, "k2", "boom")]
