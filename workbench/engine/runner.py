"""Run a plan's grid: cache first, then the calls through the run's dispatcher, each result
journaled before it is counted and shown."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.engine.batch import BatchPhase
from workbench.engine.dispatcher import CallResult, Dispatcher, NotRun
from workbench.engine.outcome import CellOutcome
from workbench.engine.plan import Cell, Plan
from workbench.engine.progress import Finished, Progress, Tally
from workbench.engine.tool_loop import run_loop

__all__ = ["CellOutcome", "RunOutcome", "execute", "missing_cells"]


@dataclass
class RunOutcome:
    """Outcomes by cell index (None: never ran), how the run ended, and why."""

    outcomes: list[CellOutcome | None]
    status: str = "complete"
    """complete, interrupted, budget, or submitted (waiting in provider batches)."""
    message: str = ""
    tally: Tally = field(default_factory=Tally)


Group = tuple[Any, ...]
"""Cells answered together (:attr:`Cell.group`): the same request and tool loop."""

YOUNG_GC_THRESHOLD = 20_000
"""Allocations between young-generation collections while a run goes (Python's default: 700)."""


class _FrozenHeap:
    """While runs are going, what existed before the first began (the libraries, the data, the
    plan) sits in the garbage collector's permanent generation (``gc.freeze``), so its full
    passes scan only what the runs made, and young collections are rarer (most objects of a call
    die with it, by reference counting): the collector took ~15% of the CPU per call at 200
    concurrent calls, each full pass over a notebook's heap ~0.1 s. Undone (``gc.unfreeze``, the
    thresholds as they were) when the last run ends; objects frozen by someone else (a pre-fork
    server, say) are left alone. Off with the ``gc_tuning`` setting."""

    lock = threading.Lock()  # runs in several threads (run_blocking) count as one
    runs = 0
    managed = False
    thresholds: tuple[int, int, int] = (700, 10, 10)

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        if not self.enabled:
            return
        cls = type(self)
        with cls.lock:
            if cls.runs == 0:
                cls.managed = gc.get_freeze_count() == 0
                if cls.managed:
                    gc.freeze()
                cls.thresholds = gc.get_threshold()
                gc.set_threshold(max(cls.thresholds[0], YOUNG_GC_THRESHOLD), *cls.thresholds[1:])
            cls.runs += 1

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        cls = type(self)
        with cls.lock:
            cls.runs -= 1
            if cls.runs == 0:
                gc.set_threshold(*cls.thresholds)
                if cls.managed:
                    cls.managed = False
                    gc.unfreeze()


async def execute(
    plan: Plan,
    dispatcher: Dispatcher,
    *,
    run_id: str,
    progress: Progress,
    batches: BatchPhase | None = None,
) -> RunOutcome:
    """Run every cell of ``plan``; never raises for a failed call. A stop (the dispatcher's
    ``stop`` event) or the budget ends it early, keeping what finished. With ``batches`` (a
    ``mode="batch"`` run) the cells whose provider has a batch API go in provider batches, the
    others in real time, at the same time; then the judge calls in a second batch phase."""
    store = dispatcher.store
    outcomes: list[CellOutcome | None] = [None] * len(plan.cells)
    result = RunOutcome(outcomes)
    tally = result.tally
    tally.total = len(plan.cells)

    cached = dispatcher.from_cache(c.as_call() for c in plan.cells)
    # A tool loop whose first step is cached still runs its other steps (from the store too).
    done_now = [c for c in plan.cells if c.key in cached and c.loop is None]
    for cell in done_now:  # identical cells: the first carries the cost, as on the first run
        hit = cached[cell.key]
        outcomes[cell.index] = CellOutcome(hit.response, True, hit.cost_usd)
    _share_cost(plan, outcomes, cached)
    store.journal_cached(run_id, [(c.index, c.key) for c in done_now])
    tally.cached = tally.done = len(done_now)
    charged = {c.key for c in done_now}
    looped = {c.key for c in plan.cells if c.loop is not None}
    """First requests of tool loops: a single call with the same request may find it stored."""

    # Identical requests collapse into one call (one tool loop) whose result the cells share.
    groups: dict[Group, list[Cell]] = defaultdict(list)
    for cell in plan.cells:
        if outcomes[cell.index] is None:
            groups[cell.group].append(cell)
    every = dict(groups)
    if batches is not None:  # what goes in provider batches; the rest in real time
        _take_batched(groups, batches, looped)
    by_provider: dict[str, list[Group]] = defaultdict(list)
    for group, cells in groups.items():
        by_provider[cells[0].request.model.provider].append(group)

    progress.start(tally, dispatcher.ledger.limit)
    dispatcher.on_note = tally.note
    started = time.monotonic()

    def shown_for(group: Group) -> Callable[..., None]:
        """What to do right after the commit that holds the (last) call of ``group``."""
        cells = every[group]
        first = cells[0]

        def shown(done: CallResult, trajectory: list[dict[str, Any]] | None = None) -> None:
            response = done.response
            for i, cell in enumerate(cells):  # one call paid for all: the first carries it
                outcomes[cell.index] = CellOutcome(
                    response, done.cached, done.cost_usd if i == 0 else 0.0, trajectory
                )
            tally.done += len(cells)
            tally.cached += len(cells) if done.cached else 0
            tally.failed += 0 if response.ok else len(cells)
            tally.recent.append(
                Finished(first.variant, first.row_id, first.repeat, response.text, response.error)
            )
            tally.spent = dispatcher.ledger.total
            tally.rate = (tally.done - tally.cached) / max(time.monotonic() - started, 1e-9)
            for name, note in dispatcher.progress_notes():
                tally.note(name, note)
            progress.update(tally)

        return shown

    async def one(group: Group) -> None:
        cells = groups[group]
        first = cells[0]
        key = first.key
        shown = shown_for(group)
        journal = [(run_id, c.index) for c in cells]
        try:
            if first.loop is None:
                done = await dispatcher.call(
                    first.as_call(), journal=journal, on_commit=shown, cached=key in looped
                )
                if outcomes[first.index] is None:  # answered by a tool loop's first step
                    shown(done)
                return
            hit = cached.get(key)
            if hit is not None and key in charged:  # its cost is carried by another cell
                hit = CallResult(hit.response, 0.0, True)
            charged.add(key)
            loop = await run_loop(
                first.as_call(), first.loop, dispatcher, journal=journal, first_result=hit
            )
        except NotRun:
            return  # never sent (or stopped midway, its steps saved): the cell stays "not run"
        if loop.cached:
            store.journal_cached(run_id, [(c.index, key) for c in cells])
        shown(CallResult(loop.response, loop.cost_usd, loop.cached), loop.trajectory)

    def going() -> bool:
        return not dispatcher.ledger.exhausted and not dispatcher.stopped

    async def worker(queue: list[Group]) -> None:
        while queue and going():
            await one(queue.pop())

    tasks: list[asyncio.Task[None]] = []
    stop = dispatcher.stop
    with _FrozenHeap(dispatcher.settings.gc_tuning):  # the collector skips what existed before
        try:
            for name, keyed in by_provider.items():
                queue = list(reversed(keyed))  # pop() from the end keeps plan order
                concurrency = dispatcher.limits(name).concurrency or 1
                # Twice as many workers as slots: one backing off does not idle a slot.
                for _ in range(min(len(keyed), 2 * concurrency)):
                    tasks.append(asyncio.create_task(worker(queue)))
            if batches is not None:
                batched = batches.run(lambda key: shown_for((key, None)), tally, progress)
                tasks.append(asyncio.create_task(batched))
            everything: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*tasks))
            # Workers cancelled by a stop fail the gather: retrieve it so asyncio logs no traceback.
            everything.add_done_callback(lambda f: None if f.cancelled() else f.exception())
            watchers: list[asyncio.Future[Any]] = [everything]
            if stop is not None:
                watchers.append(asyncio.ensure_future(stop.wait()))
            await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
            for watcher in watchers[1:]:
                watcher.cancel()
            if stop is not None and stop.is_set():
                # Let requests already sent finish and be saved (bounded), so none is paid twice.
                deadline = time.monotonic() + dispatcher.settings.timeout + 5.0
                while any(g.in_flight for g in dispatcher.gates) and time.monotonic() < deadline:
                    await asyncio.wait([everything], timeout=0.05)
            if everything.done():
                everything.result()  # a bug in a worker surfaces here instead of vanishing
                if batches is not None and going():
                    await batches.judges(outcomes)  # the second phase, once every output is known
        except asyncio.CancelledError:
            result.status = "interrupted"
            raise
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            dispatcher.commits.flush()  # answered but not yet committed: commit (and count) now
            if result.status == "complete" and any(o is None for o in outcomes):
                result.status = "budget" if dispatcher.ledger.exhausted else "interrupted"
                if batches is not None and not batches.wait and not dispatcher.stopped:
                    result.status = "submitted" if batches.pending else result.status
            tally.spent = dispatcher.ledger.total
            result.message = _message(result, tally, dispatcher.ledger.limit)
            if batches is not None:
                result.message = f"{result.message} {batches.message()}".strip()
            progress.finish(tally, result.status, result.message)
    if dispatcher.commits.error is not None:
        raise dispatcher.commits.error
    return result


def _take_batched(groups: dict[Group, list[Cell]], batches: BatchPhase, looped: set[str]) -> None:
    """Remove from ``groups`` what provider batches answer: single calls (a tool loop runs our
    tools between its calls, so it runs in real time, as does a call a tool loop may make)."""
    offered = {
        cells[0].key: cells
        for cells in groups.values()
        if cells[0].loop is None and cells[0].key not in looped
    }
    left = dict(offered)
    batches.take(left)  # removes what the batches took
    for key in offered.keys() - left.keys():
        del groups[(key, None)]


def _share_cost(
    plan: Plan, outcomes: list[CellOutcome | None], cached: dict[str, CallResult]
) -> None:
    """Cells answered by the same cached call: the first carries its cost, the rest cost 0."""
    seen: set[str] = set()
    for cell in plan.cells:
        done = outcomes[cell.index]
        if done is None or cell.key not in cached:
            continue
        if cell.key in seen:
            done.cost_usd = 0.0
        seen.add(cell.key)


def _message(result: RunOutcome, tally: Tally, budget_usd: float | None) -> str:
    missing = sum(1 for o in result.outcomes if o is None)
    if result.status == "budget":
        return (
            f"Stopped scheduling at the budget of ${budget_usd:.4f}: {missing} of {tally.total} "
            f"cells not run (spent ${tally.spent:.4f}). Finished calls are cached: raise budget_usd "
            f"and run again to pay only for the rest."
        )
    if result.status == "interrupted":
        return (
            f"Interrupted: {tally.total - missing} of {tally.total} cells finished and are saved; "
            f"run again to resume and pay only for the {missing} missing."
        )
    return ""


def missing_cells(plan: Plan, outcomes: Sequence[CellOutcome | None]) -> list[Cell]:
    """Cells that did not run."""
    return [c for c in plan.cells if outcomes[c.index] is None]
