"""Provider batches from Python and the ``workbench batches`` command: list them with their
state, counts and age; wait for one and collect its results into the cache (attach); cancel one;
and :class:`BatchRun`, the handle ``exp.run(mode="batch", wait=False)`` returns.

Every look at a provider goes through a :class:`~workbench.engine.dispatcher.Dispatcher` and
the same :class:`~workbench.engine.batch.BatchPhase` a run uses, so state, results and the cache
are kept the same way.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from workbench.config import Settings, get_settings
from workbench.engine.batch import BatchPhase
from workbench.engine.dispatcher import Dispatcher
from workbench.engine.progress import Progress
from workbench.engine.store import Store, StoredBatch, open_readonly
from workbench.engine.sync import run_blocking
from workbench.errors import ConfigError
from workbench.providers.base import ModelId
from workbench.run_results import Results

__all__ = ["BatchRun", "attach", "batch_table", "batches", "cancel", "describe"]


def batches(*, refresh: bool = True, settings: Settings | None = None) -> pd.DataFrame:
    """Every provider batch in the store, newest first: provider, ids, experiment, state,
    counts and age. ``refresh`` first asks the providers about the open ones (needs their
    keys; a batch whose provider cannot be reached keeps its last known state)."""
    settings = settings or get_settings()
    store = open_readonly(settings.store_path)
    if store is None:
        return batch_table([])
    with store:
        found = store.batches()
    if refresh and any(b.open for b in found):
        _follow(settings, [b.id for b in found if b.open], collect=False)
        with Store(settings.store_path) as writable:
            found = writable.batches()
    return batch_table(found)


def attach(
    ref: str, *, settings: Settings | None = None, progress: Progress | None = None
) -> StoredBatch:
    """Wait for one batch (workbench's id or the provider's) to end and save its results to the
    cache, journaled to the run that submitted it; a later run of that experiment finds them
    there. Returns the batch as it ended."""
    settings = settings or get_settings()
    batch = _find(ref, settings)
    problems = _follow(settings, [batch.id], collect=True, progress=progress)
    with Store(settings.store_path) as store:
        ended = store.batch(batch.id)
    assert ended is not None
    if ended.open and problems:
        raise ConfigError(" ".join(problems))
    return ended


def cancel(ref: str, *, settings: Settings | None = None) -> StoredBatch:
    """Ask the provider to cancel one batch; requests it already answered are kept (collected
    by the next run or ``attach``)."""
    settings = settings or get_settings()
    batch = _find(ref, settings)
    if not batch.open or batch.provider_batch is None:
        why = "has ended" if not batch.open else "was never confirmed by its provider"
        raise ConfigError(f"Batch {ref} {why}: nothing to cancel.")
    provider_id = batch.provider_batch

    async def go(stop: asyncio.Event) -> None:
        with Store(settings.store_path) as store:
            async with Dispatcher(store, settings, stop=stop) as dispatcher:
                api = dispatcher.batch_api(_model(batch))
                if api is None:
                    raise ConfigError(f"{batch.provider} has no batch API here.")
                status = await api.cancel(provider_id)
                store.update_batch(batch.id, state=status.state, checked=time.time())

    run_blocking(go)
    return _find(ref, settings)


def describe(batch: StoredBatch, now: float | None = None) -> str:
    """One line: ids, provider, state, counts, age."""
    state = batch.state if batch.open else f"{batch.outcome} (collected)"
    return (
        f"{batch.id}  {batch.provider_batch or '-':24} {batch.model:28} {batch.experiment:16} "
        f"{state:22} {batch.succeeded}/{batch.total} answered, {batch.failed} failed  "
        f"{_age((now or time.time()) - batch.created)} old"
    )


def batch_table(found: Sequence[StoredBatch], now: float | None = None) -> pd.DataFrame:
    """Batches as a table, one row each."""
    now = now or time.time()
    rows = [
        {
            "batch": b.id,
            "provider_batch": b.provider_batch,
            "provider": b.provider,
            "model": b.model,
            "experiment": b.experiment,
            "run_id": b.run_id,
            "purpose": b.purpose,
            "state": b.state,
            "outcome": b.outcome,
            "requests": b.total,
            "answered": b.succeeded,
            "failed": b.failed,
            "age": _age(now - b.created),
            "collected": not b.open,
            "message": b.message,
        }
        for b in found
    ]
    columns = ["batch", "provider_batch", "provider", "model", "experiment", "run_id"]
    columns += ["purpose", "state", "outcome", "requests", "answered", "failed", "age"]
    return pd.DataFrame(rows, columns=[*columns, "collected", "message"])


@dataclass
class BatchRun:
    """A ``mode="batch"`` run submitted without waiting (``exp.run(mode="batch", wait=False)``):
    its requests wait in provider batches. ``status()`` looks at them now; ``results()`` waits
    for them, collects them and scores the run. After a kernel restart, make the handle again
    the same way: the run re-attaches to its batches and submits nothing twice."""

    experiment: str
    run_id: str
    batch_ids: tuple[str, ...]
    """Workbench's ids of the batches the run waits for."""
    settings: Settings = field(repr=False)
    collect: Callable[[], Results] = field(repr=False)
    message: str = ""

    def _batches(self) -> list[StoredBatch]:
        with Store(self.settings.store_path) as store:
            return [b for b in (store.batch(i) for i in self.batch_ids) if b is not None]

    def status(self) -> pd.DataFrame:
        """Each batch as its provider reports it now: state, counts, age."""
        _follow(self.settings, list(self.batch_ids), collect=False)
        return batch_table(self._batches())

    def ready(self) -> bool:
        """True when every batch has ended (``results()`` then returns without waiting)."""
        self.status()
        return all(b.outcome is not None for b in self._batches())

    def results(self) -> Results:
        """Wait for the batches, collect them and score the run (the experiment runs again in
        batch mode: cached and collected cells cost nothing again)."""
        return self.collect()

    def cancel(self) -> pd.DataFrame:
        """Cancel every batch still open (answered requests are kept; ``results()`` collects
        them, the rest are error rows a later run sends again)."""
        for b in self._batches():
            if b.open and b.provider_batch is not None:
                cancel(b.id, settings=self.settings)
        return batch_table(self._batches())

    def __repr__(self) -> str:
        lines = [describe(b) for b in self._batches()]
        head = f"<BatchRun {self.experiment!r} {self.run_id}: {len(lines)} batch(es)"
        tail = "res = handle.results() waits for them and collects>"
        return "\n".join([head, *(f"  {line}" for line in lines), tail])

    def _repr_html_(self) -> str:
        table = batch_table(self._batches()).drop(columns=["message"])
        return (
            f"<p><b>{html.escape(self.experiment)}</b> {html.escape(self.run_id)}: waiting in "
            f"provider batches. <code>res = handle.results()</code> waits for them and collects "
            f'(after a restart: run the same <code>exp.run(mode="batch", wait=False)</code> '
            f"again, nothing is submitted twice).</p>" + table.to_html(index=False, na_rep="–")
        )


def _follow(
    settings: Settings, ids: list[str], *, collect: bool, progress: Progress | None = None
) -> list[str]:
    """Look at (and, with ``collect``, wait for and collect) these batches; what went wrong."""

    async def go(stop: asyncio.Event) -> list[str]:
        with Store(settings.store_path) as store:
            async with Dispatcher(store, settings, stop=stop) as dispatcher:
                phase = BatchPhase(dispatcher, run_id="", experiment="")
                await phase.follow(ids, collect=collect, progress=progress)
                return phase.problems

    return run_blocking(go)


def _find(ref: str, settings: Settings) -> StoredBatch:
    store = open_readonly(settings.store_path)
    found = None
    if store is not None:
        with store:
            found = store.batch(ref)
    if found is None:
        raise ConfigError(
            f"No batch {ref!r} in the store at {settings.store_path}; `workbench batches` lists "
            "them (workbench's wbb-... ids and the providers' ids both work)."
        )
    return found


def _model(batch: StoredBatch) -> ModelId:
    return ModelId(batch.provider, batch.model.split("/", 1)[1])


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
