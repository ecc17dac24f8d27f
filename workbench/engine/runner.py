"""Run a plan: cache first, then concurrent, rate-limited, retried calls; journal each result."""

from __future__ import annotations

import asyncio
import gc
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.config import Limits, Settings
from workbench.engine.limits import (
    ProviderGate,
    RetryPolicy,
    Stopped,
    call_with_retries,
    limit_note,
)
from workbench.engine.plan import Cell, Plan
from workbench.engine.progress import Finished, Progress, Tally
from workbench.engine.store import Store
from workbench.errors import ProviderError
from workbench.providers.base import Provider, Response
from workbench.providers.registry import create_provider

__all__ = ["CellOutcome", "RunOutcome", "execute"]


@dataclass
class CellOutcome:
    """What one cell ended as."""

    response: Response
    cached: bool
    cost_usd: float | None


@dataclass
class RunOutcome:
    """Outcomes by cell index (None: never ran), how the run ended, and why."""

    outcomes: list[CellOutcome | None]
    status: str = "complete"
    """complete, interrupted or budget."""
    message: str = ""
    tally: Tally = field(default_factory=Tally)


def _cost(cell: Cell, response: Response) -> float | None:
    if not response.ok:
        return 0.0
    input_tokens = (
        response.input_tokens if response.input_tokens is not None else cell.est_input_tokens
    )
    return cell.info.cost(input_tokens, response.output_tokens or 0)


class _Budget:
    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.exhausted = False

    def reserve(self, amount: float) -> bool:
        if self.limit is None:
            return True
        if self.exhausted or self.spent + self.reserved + amount > self.limit + 1e-12:
            self.exhausted = True
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float | None) -> None:
        self.reserved -= reserved if self.limit is not None else 0.0
        self.spent += reserved if actual is None else actual


YOUNG_GC_THRESHOLD = 20_000
"""Allocations between young-generation collections while a run goes (Python's default: 700)."""


class _FrozenHeap:
    """While runs are going, what existed before the first began (the libraries, the data, the
    plan) sits in the garbage collector's permanent generation (``gc.freeze``), so its full
    passes scan only what the runs made, and young collections are rarer (most objects of a call
    die with it, by reference counting): the collector took ~15% of the CPU per call at 200
    concurrent calls, each full pass over a notebook's heap ~0.1 s. Undone (``gc.unfreeze``, the
    thresholds as they were) when the last run ends; objects frozen by someone else (a pre-fork
    server, say) are left alone."""

    lock = threading.Lock()  # runs in several threads (run_blocking) count as one
    runs = 0
    managed = False
    thresholds: tuple[int, int, int] = (700, 10, 10)

    def __enter__(self) -> None:
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
        cls = type(self)
        with cls.lock:
            cls.runs -= 1
            if cls.runs == 0:
                gc.set_threshold(*cls.thresholds)
                if cls.managed:
                    cls.managed = False
                    gc.unfreeze()


class _GroupCommit:
    """Completed calls committed together: one write transaction for the calls that finish in
    the same turn of the event loop. Each call's ``shown`` callback (record, count, show) runs
    right after the commit that holds it, in the same step, so a call is journaled before it is
    shown even if its task is cancelled meanwhile; :meth:`add` returns the future of that commit
    (which fails as the commit did)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[tuple[str, str, Response, list[tuple[str, int]]]] = []
        self.shown: list[Callable[[], None]] = []
        self.batch: asyncio.Future[None] | None = None
        self.error: BaseException | None = None

    def add(
        self,
        key: str,
        model: str,
        response: Response,
        journal: list[tuple[str, int]],
        shown: Callable[[], None],
    ) -> asyncio.Future[None]:
        if self.batch is None:
            loop = asyncio.get_running_loop()
            self.batch = loop.create_future()
            loop.call_soon(self.flush)
        self.pending.append((key, model, response, journal))
        self.shown.append(shown)
        return self.batch

    def flush(self) -> None:
        """Commit what is pending now (also called directly when the run ends)."""
        pending, shown, batch = self.pending, self.shown, self.batch
        self.pending, self.shown, self.batch = [], [], None
        error: BaseException | None = None
        try:
            self.store.put_many(pending)
        except Exception as exc:  # nothing committed: nothing shown
            error = exc
        else:
            for show in shown:
                try:
                    show()
                except Exception as exc:
                    error = error or exc
        if error is not None:
            self.error = self.error or error
        if batch is not None and not batch.done():
            if error is None:
                batch.set_result(None)
            else:
                batch.set_exception(error)
                batch.exception()  # retrieved: the run raises it (``self.error``) if no waiter does


async def execute(
    plan: Plan,
    store: Store,
    settings: Settings,
    *,
    run_id: str,
    progress: Progress,
    budget_usd: float | None = None,
    concurrency: int | None = None,
    stop: asyncio.Event | None = None,
    seed: int = 0,
) -> RunOutcome:
    """Run every cell of ``plan``; never raises for a failed call. ``stop`` ends it early."""
    outcomes: list[CellOutcome | None] = [None] * len(plan.cells)
    result = RunOutcome(outcomes)
    tally = result.tally
    tally.total = len(plan.cells)

    cached = store.get_many([c.key for c in plan.cells])
    charged: set[str] = set()
    for cell in plan.cells:
        if cell.key in cached:  # identical cells: the first carries the cost, as on the first run
            response = cached[cell.key]
            cost = 0.0 if cell.key in charged else _cost(cell, response)
            charged.add(cell.key)
            outcomes[cell.index] = CellOutcome(response, True, cost)
    store.journal_cached(run_id, [(c.index, c.key) for c in plan.cells if c.key in cached])
    tally.cached = tally.done = sum(1 for o in outcomes if o is not None)

    # Identical requests collapse into one call whose result every such cell shares.
    groups: dict[str, list[Cell]] = defaultdict(list)
    for cell in plan.cells:
        if cell.key not in cached:
            groups[cell.key].append(cell)
    by_provider: dict[str, list[str]] = defaultdict(list)
    for key, cells in groups.items():
        by_provider[cells[0].request.model.provider].append(key)

    budget = _Budget(budget_usd)
    tally.spent = 0.0
    progress.start(tally, budget_usd)
    policy = RetryPolicy(
        max_retries=settings.max_retries,
        timeout=settings.timeout,
        base=settings.backoff_base,
        cap=settings.backoff_cap,
    )
    rng = random.Random(seed)
    providers: dict[str, Provider] = {}
    started = time.monotonic()
    commits = _GroupCommit(store)

    async def one(provider: Provider, gate: ProviderGate, key: str) -> None:
        cells = groups[key]
        first = cells[0]
        reserve = first.max_cost() or 0.0
        if not budget.reserve(reserve):
            return
        tokens = first.est_input_tokens + first.max_output_tokens

        async def finish(reply: object) -> None:
            """Commit the call's result, then record and show it: journaled before shown."""
            assert isinstance(reply, Response)
            response = reply
            cost = _cost(first, response)
            budget.settle(reserve, cost)

            def shown() -> None:  # runs right after the commit that holds this call
                for i, cell in enumerate(cells):  # one call paid for all: the first carries it
                    outcomes[cell.index] = CellOutcome(response, False, cost if i == 0 else 0.0)
                tally.done += len(cells)
                tally.failed += 0 if response.ok else len(cells)
                tally.recent.append(
                    Finished(
                        first.variant, first.row_id, first.repeat, response.text, response.error
                    )
                )
                tally.spent = budget.spent
                tally.rate = (tally.done - tally.cached) / max(time.monotonic() - started, 1e-9)
                tally.note(provider.name, provider.progress_note())
                progress.update(tally)

            journal = [(run_id, c.index) for c in cells]
            await commits.add(key, str(first.request.model), response, journal, shown)

        try:
            # A reply is committed before its slot goes to another call, so no more than
            # ``concurrency`` answered calls are ever uncommitted (lost if the process dies).
            await call_with_retries(
                lambda: provider.generate(first.request, settings.timeout),
                gate,
                policy,
                tokens,
                rng,
                stopped=lambda: bool(stop and stop.is_set()),
                settle=finish,
            )
        except ProviderError as exc:
            await finish(Response.failure(exc))
        except Stopped:
            budget.settle(reserve, 0.0)
            return  # never sent: the cell stays "not run"

    async def worker(provider: Provider, gate: ProviderGate, queue: list[str]) -> None:
        while queue and not budget.exhausted and not (stop and stop.is_set()):
            await one(provider, gate, queue.pop())

    tasks: list[asyncio.Task[None]] = []
    gates: list[ProviderGate] = []
    with _FrozenHeap():  # the collector skips what existed before the run
        try:
            for name, keys in by_provider.items():
                model = groups[keys[0]][0].request.model
                providers[name] = provider = create_provider(model, settings)
                limits = settings.limits_for(name)
                if concurrency:
                    limits = Limits(concurrency, limits.rpm, limits.tpm)
                gate = ProviderGate(
                    limits, name, on_limit=lambda: tally.note("limit", limit_note(gates))
                )
                gates.append(gate)
                queue = list(reversed(keys))  # pop() from the end keeps plan order
                # Twice as many workers as slots: one backing off does not idle a slot.
                for _ in range(min(len(keys), 2 * limits.concurrency)):
                    tasks.append(asyncio.create_task(worker(provider, gate, queue)))
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
                deadline = time.monotonic() + settings.timeout + 5.0
                while any(g.in_flight for g in gates) and time.monotonic() < deadline:
                    await asyncio.wait([everything], timeout=0.05)
            if everything.done():
                everything.result()  # a bug in a worker surfaces here instead of vanishing
        except asyncio.CancelledError:
            result.status = "interrupted"
            raise
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            commits.flush()  # calls answered but not yet committed: commit (and count) them now
            for provider in providers.values():
                await provider.aclose()
            if result.status == "complete" and any(o is None for o in outcomes):
                result.status = "budget" if budget.exhausted else "interrupted"
            result.message = _message(result, tally, budget_usd)
            progress.finish(tally, result.status, result.message)
    if commits.error is not None:
        raise commits.error
    return result


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
