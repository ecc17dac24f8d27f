"""Provider batches as a run mode (``mode="batch"``): the cells not already cached go to the
providers' batch APIs at about half the price, through the run's dispatcher and its ledger.

Journaled before it is paid: a batch and each request's custom id -> cache key (and the cells
of the run) are committed to the store before the batch is submitted, and the provider's batch
id right after the provider accepts it, before anything else happens. A later run of the same
requests (after a restart, a Ctrl-C, a killed process) finds those open batches and waits for
them again instead of submitting anew; a submission whose id was never recorded is found at the
provider by its tag (or size and time). Results go to the same response cache as real-time
calls; per-request errors become error rows, and the retryable ones go again in a follow-up
batch (up to ``max_retries`` times).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from workbench.engine.dispatcher import Dispatcher, OnCommit
from workbench.engine.outcome import CellOutcome
from workbench.engine.plan import Call, Cell
from workbench.engine.progress import Progress, Tally
from workbench.engine.store import StoredBatch
from workbench.errors import ProviderError, WorkbenchError
from workbench.providers.base import BatchAPI, BatchItem, BatchStatus, ModelId, Response
from workbench.providers.batch import not_run, split_batches

__all__ = ["BATCH_ID_PREFIX", "BatchPhase", "poll_waits"]

T = TypeVar("T")

LONG = 10.0
"""Uploading a batch or downloading its results may take this many times ``timeout``."""

MAYBE_MADE = frozenset({"timeout", "connection", "server", "bad_response"})
"""Errors after which the provider may have made the batch though its answer was lost."""

BATCH_ID_PREFIX = "wbb-"
"""Workbench's own batch ids (the provider's come once it accepts the batch)."""


def poll_waits(longest: float) -> Iterable[float]:
    """Seconds between looks at a batch: from a second (or ``longest``, if shorter), doubling
    up to ``longest``."""
    wait = min(1.0, longest)
    while True:
        yield wait
        wait = min(wait * 2, longest)


@dataclass
class _Want:
    """A request this run wants answered by a batch: its call and the cells it answers (none
    for a judge call, which only fills the cache for the scorers)."""

    call: Call
    cells: Sequence[Cell] = ()
    reserved: float | None = None
    """What the ledger holds for it (None: nothing; it was paid for by an earlier run)."""
    rounds: int = 0
    """Times this run submitted it."""


@dataclass
class BatchPhase:
    """The batches of one run: what :func:`~workbench.engine.runner.execute` hands to them
    (:meth:`take`), then submits, waits for and collects (:meth:`run`); judge calls follow in
    a second phase (:meth:`judges`)."""

    dispatcher: Dispatcher
    run_id: str
    experiment: str
    wait: bool = True
    """Wait for the batches (False: submit, then return; a later run collects)."""
    plan_judges: Callable[[Sequence[CellOutcome | None]], Sequence[Call]] | None = None
    """The judge calls the scorers will make for these cell outcomes (a second batch phase)."""
    wants: dict[str, _Want] = field(default_factory=dict)
    mine: list[str] = field(default_factory=list)
    """Workbench ids of the batches this run waits for."""
    problems: list[str] = field(default_factory=list)
    """What the run's message says about its batches (expired, cancelled, out of contact)."""
    _following: bool = False
    """Looking at batches for ``workbench batches`` (:meth:`follow`), not running cells."""
    _to_submit: list[str] = field(default_factory=list)
    _unreachable: set[str] = field(default_factory=set)
    _shown: Callable[[str], OnCommit | None] = lambda key: None
    _tally: Tally | None = None
    _progress: Progress | None = None

    # -- what the runner asks -------------------------------------------------------------------
    def take(self, groups: dict[str, list[Cell]]) -> None:
        """Remove from ``groups`` (key -> identical cells) the requests batches will answer:
        those already in an open batch (re-attached) and those whose provider has a batch API
        (submitted); the rest stay for real-time calls."""
        calls = {key: cells[0].as_call() for key, cells in groups.items()}
        for key in self._claim(calls, groups):
            del groups[key]

    def _claim(self, calls: dict[str, Call], cells: dict[str, list[Cell]]) -> list[str]:
        store = self.dispatcher.store
        held = store.open_batch_keys(calls)
        taken = []
        for key, call in calls.items():
            if key not in held and self.dispatcher.batch_api(call.request.model) is None:
                continue
            self.wants[key] = _Want(call, cells.get(key, ()))
            taken.append(key)
            if key in held:
                if held[key] not in self.mine:
                    self.mine.append(held[key])
            else:
                self._to_submit.append(key)
        return taken

    @property
    def pending(self) -> list[StoredBatch]:
        """This run's batches whose results are not collected yet."""
        return [b for b in self._stored() if b.open]

    async def run(
        self, shown: Callable[[str], OnCommit | None], tally: Tally, progress: Progress
    ) -> None:
        """Submit what :meth:`take` kept, then (when ``wait``) wait for every batch of the run
        and collect it; ``shown(key)`` tells the runner about each answered request."""
        self._shown, self._tally, self._progress = shown, tally, progress
        await self._submit(self._to_submit)
        self._to_submit = []
        if self.wait:
            await self._wait()
        self._note()

    async def judges(self, outcomes: Sequence[CellOutcome | None]) -> None:
        """The second phase: the judge calls the scorers will make, in batches where their
        provider has a batch API, so the scorers find them in the cache (the rest, and any call
        the scorers make that was not planned, go in real time)."""
        if self.plan_judges is None or self.dispatcher.stopped or not self.wait or self.pending:
            return  # judged only once every output is there
        calls = {c.key: c for c in self.plan_judges(outcomes)}
        cached = self.dispatcher.store.get_many(list(calls))
        wanted = {k: c for k, c in calls.items() if k not in cached and k not in self.wants}
        await self._submit(self._claim(wanted, {}))
        if self.wait:
            await self._wait()
        self._note()

    async def follow(
        self, batch_ids: Sequence[str], *, collect: bool, progress: Progress | None = None
    ) -> None:
        """Look at these batches once (``collect=False``), or wait for them and collect them
        into the cache, journaled to the runs that submitted them (``workbench batches``)."""
        self.mine, self._following = list(batch_ids), True
        if progress is not None:
            self._tally, self._progress = Tally(), progress
            self._tally.total = sum(b.total for b in self._stored())
            progress.start(self._tally, None)
        if collect:
            await self._wait()
        else:
            for batch in self.pending:
                await self._check(batch, collect=False)
        self._note()
        if progress is not None and self._tally is not None:
            ended = "interrupted" if collect and self.pending else "complete"
            progress.finish(self._tally, ended, " ".join(self.problems))

    def message(self) -> str:
        """What the run says about its batches."""
        parts = list(self.problems)
        pending = self.pending
        if pending:
            waiting = sum(b.total for b in pending)
            ids = ", ".join(b.provider_batch or b.id for b in pending)
            parts.append(
                f"{waiting} request(s) wait in {len(pending)} provider batch(es) ({ids}): run "
                f'again (mode="batch") or `workbench batches --attach ID` to collect them; '
                "nothing is submitted twice."
            )
        return " ".join(parts)

    # -- submitting -----------------------------------------------------------------------------
    async def _submit(self, keys: Sequence[str]) -> None:
        ledger = self.dispatcher.ledger
        by_model: dict[ModelId, list[_Want]] = {}
        for key in keys:
            want = self.wants[key]
            if want.rounds == 0:  # a follow-up keeps what the first submission reserved
                want.reserved = want.call.max_cost(batch=True)
                if self.dispatcher.stopped or not ledger.reserve(want.reserved, want.call.purpose):
                    del self.wants[key]  # not run: stopped, or over the budget
                    continue
            want.rounds += 1
            by_model.setdefault(want.call.request.model, []).append(want)
        for model, wants in by_model.items():
            api = self.dispatcher.batch_api(model)
            assert api is not None
            items = {f"wb-{i}": want for i, want in enumerate(wants)}
            batch_items = [BatchItem(cid, want.call.request) for cid, want in items.items()]
            for chunk in split_batches(batch_items, api.limits, api.size, group_of=api.group):
                await self._submit_one(api, model, [(i, items[i.custom_id]) for i in chunk])

    async def _submit_one(
        self, api: BatchAPI, model: ModelId, chunk: Sequence[tuple[BatchItem, _Want]]
    ) -> None:
        store = self.dispatcher.store
        purpose = chunk[0][1].call.purpose
        batch = StoredBatch(
            id=BATCH_ID_PREFIX + uuid.uuid4().hex[:16],
            provider=model.provider,
            model=str(model),
            provider_batch=None,
            run_id=self.run_id,
            experiment=self.experiment,
            purpose=purpose,
            created=time.time(),
            state="submitting",
            outcome=None,
            total=len(chunk),
            succeeded=0,
            failed=0,
            checked=None,
            collected=None,
            message="",
        )
        # Journaled before it is paid: a killed process leaves a row that finds the batch again.
        held = store.add_batch(
            batch, [(i.custom_id, w.call.key, [c.index for c in w.cells]) for i, w in chunk]
        )
        for other in dict.fromkeys(held.values()):  # just submitted by another process: wait
            if other not in self.mine:
                self.mine.append(other)
        chunk = [(i, w) for i, w in chunk if w.call.key not in held]
        if not chunk:
            return
        batch = dataclasses.replace(batch, total=len(chunk))
        items = [i for i, _ in chunk]
        try:
            provider_id = await self._retry(lambda: self._send(api, batch, items), None)
        except ProviderError as exc:
            store.update_batch(
                batch.id, state="refused", outcome="failed", collected=time.time(), message=str(exc)
            )
            self.problems.append(f"A {model} batch was refused: {exc}.")
            await asyncio.gather(*(self._record(w, Response.failure(exc)) for _, w in chunk))
            return
        store.update_batch(batch.id, provider_batch=provider_id, state="submitted")
        self.mine.append(batch.id)
        self._note()

    async def _send(self, api: BatchAPI, batch: StoredBatch, items: Sequence[BatchItem]) -> str:
        """Submit once. When the answer was lost (a timeout, a dropped connection, a server
        error) the provider may have made the batch anyway: look for it before trying again,
        so that a batch is never paid twice."""
        try:
            return await self._timed(api.submit(items, batch.id), LONG)
        except ProviderError as exc:
            if exc.kind not in MAYBE_MADE:
                raise
            found = await self._timed(api.find(batch.id, batch.created, batch.total, self._known()))
            if found is None:
                raise
            return found

    def _known(self) -> set[str]:
        """Provider batch ids the store already holds."""
        return {b.provider_batch for b in self.dispatcher.store.batches() if b.provider_batch}

    async def _timed(self, call: Awaitable[T], scale: float = 1.0) -> T:
        """``call`` within ``scale`` times the ``timeout`` setting, else a timeout error."""
        limit = self.dispatcher.settings.timeout * scale
        try:
            return await asyncio.wait_for(call, limit)
        except TimeoutError:
            raise ProviderError(
                f"no answer from the batch API within {limit:g} s", kind="timeout", retryable=True
            ) from None

    async def _retry(self, action: Callable[[], Awaitable[T]], scale: float | None = 1.0) -> T:
        """``action()`` (a call of the batch API) within ``scale`` times the ``timeout``
        setting (None: ``action`` times itself), retried on retryable errors with the backoff
        of real-time calls."""
        policy = self.dispatcher.policy
        attempt = 0
        while True:
            try:
                return await (action() if scale is None else self._timed(action(), scale))
            except ProviderError as exc:
                attempt += 1
                if not exc.retryable or attempt > policy.max_retries or self.dispatcher.stopped:
                    raise
                await self._sleep(policy.delay(attempt, exc, self.dispatcher.rng))

    # -- waiting --------------------------------------------------------------------------------
    async def _wait(self) -> None:
        waits = iter(poll_waits(self.dispatcher.settings.batch_poll))
        while not self.dispatcher.stopped:
            looking = [b for b in self.pending if b.id not in self._unreachable]
            if not looking:
                break
            for batch in looking:
                await self._check(batch)
            self._note()
            if any(b.id not in self._unreachable for b in self.pending):
                await self._sleep(next(waits))
        self._collected_elsewhere()

    def _collected_elsewhere(self) -> None:
        """Requests of this run whose batch another run (another kernel) collected: their
        answers are in the cache."""
        calls = [w.call for w in self.wants.values() if w.cells]
        for key, hit in self.dispatcher.from_cache(calls).items():
            want = self.wants.pop(key)
            self.dispatcher.ledger.settle(want.reserved, 0.0, want.call.purpose)
            self.dispatcher.store.journal_cached(self.run_id, [(c.index, key) for c in want.cells])
            shown = self._shown(key)
            if shown is not None:
                shown(hit)

    async def _check(self, batch: StoredBatch, *, collect: bool = True) -> None:
        model = ModelId(batch.provider, batch.model.split("/", 1)[1])
        try:
            api = self.dispatcher.batch_api(model)
        except WorkbenchError as exc:  # a key or SDK missing here
            api, why = None, str(exc)
        else:
            why = f"{batch.provider} has no batch API here"
        if api is None:
            self._unreachable.add(batch.id)
            self.problems.append(f"Batch {batch.provider_batch or batch.id}: {why}.")
            return
        provider_id = batch.provider_batch or await self._recover(api, batch)
        if provider_id is None:
            return
        store = self.dispatcher.store
        try:
            status = await self._retry(lambda: api.status(provider_id))
        except ProviderError as exc:
            self._lost(batch, provider_id, exc)
            return
        store.update_batch(
            batch.id,
            state=status.state,
            total=status.total or batch.total,
            succeeded=status.succeeded,
            failed=status.failed,
            checked=time.time(),
            message=status.message,
            outcome=status.outcome,
        )
        if status.ended and collect:
            await self._collect(api, batch, provider_id, status)

    async def _recover(self, api: BatchAPI, batch: StoredBatch) -> str | None:
        """The provider's id of a batch whose submission was never confirmed, or None (not
        found: its requests are submitted again; or not yet to be looked for)."""
        store = self.dispatcher.store
        if time.time() - batch.created < 2 * self.dispatcher.settings.timeout + 5:
            return None  # maybe still being submitted by another process: look again later
        known = self._known()
        try:
            found = await self._retry(lambda: api.find(batch.id, batch.created, batch.total, known))
        except ProviderError as exc:
            self._lost(batch, None, exc)
            return None
        if found is not None:
            store.update_batch(batch.id, provider_batch=found, state="submitted")
            return found
        store.update_batch(
            batch.id,
            outcome="lost",
            collected=time.time(),
            message="the provider never accepted it; its requests are sent again",
        )
        again = [key for key, _ in store.batch_requests(batch.id).values() if key in self.wants]
        await self._submit(again)
        return None

    def _lost(self, batch: StoredBatch, provider_id: str | None, exc: ProviderError) -> None:
        if exc.kind == "not_found":  # deleted, or another account's: its requests go again
            self.dispatcher.store.update_batch(
                batch.id, outcome="lost", collected=time.time(), message=str(exc)
            )
            self.problems.append(
                f"Batch {provider_id or batch.id} is unknown to {batch.provider} ({exc}); run "
                "again to send its requests anew."
            )
            return
        self._unreachable.add(batch.id)
        self.problems.append(
            f"Could not reach {batch.provider} about batch {provider_id or batch.id} ({exc})."
        )

    async def _collect(
        self, api: BatchAPI, batch: StoredBatch, provider_id: str, status: BatchStatus
    ) -> None:
        try:
            results = await self._retry(lambda: api.results(provider_id), LONG)
        except ProviderError as exc:
            self._lost(batch, provider_id, exc)
            return
        outcome = status.outcome or "completed"
        again: list[str] = []
        saving: list[Awaitable[None]] = []
        for custom_id, (key, cells) in self.dispatcher.store.batch_requests(batch.id).items():
            result = results.get(custom_id) or not_run(outcome, provider_id, status.message)
            want = self.wants.get(key)
            if want is None:  # not asked by this run: saved, journaled to the run that asked
                journal = [(batch.run_id, cell) for cell in cells]
                saving.append(
                    self.dispatcher.commits.add(
                        key, batch.model, result.response, journal, lambda: None
                    )
                )
                continue
            retry_limit = self.dispatcher.policy.max_retries
            if result.retryable and want.rounds <= retry_limit and not self.dispatcher.stopped:
                again.append(key)
                continue
            saving.append(self._record(want, result.response))
        await asyncio.gather(*saving)
        self.dispatcher.store.update_batch(batch.id, outcome=outcome, collected=time.time())
        if outcome != "completed":
            answered = sum(1 for r in results.values() if r.response.ok)
            self.problems.append(
                f"{batch.provider} batch {provider_id} {outcome}: {answered} of {batch.total} "
                f"requests answered (kept{'; ' + status.message if status.message else ''}); "
                "run again to send the rest."
            )
        if again:
            await self._submit(again)

    async def _record(self, want: _Want, response: Response) -> None:
        key = want.call.key
        self.wants.pop(key, None)
        journal = [(self.run_id, c.index) for c in want.cells]
        await self.dispatcher.record(
            want.call,
            response,
            reserved=want.reserved,
            journal=journal,
            on_commit=self._shown(key) if want.cells else None,
            ahead=not want.cells,
        )

    # -- progress -------------------------------------------------------------------------------
    def _stored(self) -> list[StoredBatch]:
        store = self.dispatcher.store
        return [b for b in (store.batch(i) for i in self.mine) if b is not None]

    def _note(self) -> None:
        """Each batch's state and counts, under the run's progress line."""
        if self._tally is None:
            return
        parts = []
        for b in self._stored():
            name = b.provider_batch or "submitting"
            what = f"{b.outcome}, collected" if not b.open else b.state
            judge = " (judges)" if b.purpose == "judge" else ""
            parts.append(f"{b.provider} {name}{judge}: {what}, {b.succeeded}/{b.total} answered")
        self._tally.note("batch", "batches: " + "; ".join(parts) if parts else "")
        if self._following:  # no cells here: the counts are the batches'
            stored = self._stored()
            self._tally.done = sum(b.succeeded + b.failed for b in stored)
            self._tally.failed = sum(b.failed for b in stored)
        if self._progress is not None:
            self._progress.update(self._tally)

    async def _sleep(self, seconds: float) -> None:
        stop = self.dispatcher.stop
        if stop is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
