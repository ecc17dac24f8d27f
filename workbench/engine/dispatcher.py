"""The one path for every model call of a run: grid cells, judge and pairwise calls alike.

A :class:`Dispatcher` owns, per run: the providers and their gates (concurrency, rate limits,
adaptive in-flight limits), the retry policy, the cache lookup, in-flight collapsing of identical
requests, the group commit to the store, and one :class:`Ledger` of cost that the budget caps.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from workbench.engine.plan import Call, make_call
from workbench.engine.store import Store
from workbench.errors import ProviderError
from workbench.models.resolved import Model, resolve
from workbench.prompts.render import Message
from workbench.providers.base import BatchAPI, ModelId, Provider, Response
from workbench.providers.registry import create_provider, limits_for

__all__ = ["Call", "CallResult", "Dispatcher", "Ledger", "NotRun"]


@dataclass(frozen=True)
class CallResult:
    """A call's response, what it cost this run (None: unpriced), and whether it was cached."""

    response: Response
    cost_usd: float | None
    cached: bool


class NotRun(Exception):
    """The call was not made: the run was stopped, or the budget would not allow it."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
        """``stopped`` or ``budget``."""


@dataclass
class Ledger:
    """Every cost of a run, and the budget that caps all of it (judges included).

    Before a call is sent its most possible cost is reserved; when it returns, the reservation is
    replaced by what it cost. A call whose reservation would pass the budget is not made."""

    limit: float | None = None
    spent: dict[str, float] = field(default_factory=dict)
    """USD spent by purpose (``cell``, ``judge``) at catalog prices."""
    unpriced: Counter[str] = field(default_factory=Counter)
    """Calls made on models without a price, by purpose (their cost is unknown)."""
    refused: Counter[str] = field(default_factory=Counter)
    """Calls not made because of the budget, by purpose."""
    reserved: float = 0.0
    exhausted: bool = False

    @property
    def total(self) -> float:
        """USD spent so far, all purposes."""
        return sum(self.spent.values())

    def reserve(self, amount: float | None, purpose: str) -> bool:
        """Hold ``amount`` for a call; False (and the call counted as refused) when it would pass
        the budget."""
        if self.limit is None:
            return True
        need = amount or 0.0
        if self.exhausted or self.total + self.reserved + need > self.limit + 1e-12:
            self.exhausted = True
            self.refused[purpose] += 1
            return False
        self.reserved += need
        return True

    def settle(self, reserved: float | None, actual: float | None, purpose: str) -> None:
        """Replace a reservation with what the call cost (None: unpriced)."""
        if self.limit is not None:
            self.reserved -= reserved or 0.0
        if actual is None:
            self.unpriced[purpose] += 1
        else:
            self.spent[purpose] = self.spent.get(purpose, 0.0) + actual


Journal = Sequence[tuple[str, int]]
OnCommit = Callable[[CallResult], None]


class _GroupCommit:
    """Completed calls committed together: one write transaction for the calls that finish in the
    same turn of the event loop. Each call's ``on_commit`` runs right after the commit that holds
    it, in the same step, so a call is journaled before it is shown even if its task is
    cancelled meanwhile; :meth:`add` returns the future of that commit."""

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
        journal: Journal,
        shown: Callable[[], None],
    ) -> asyncio.Future[None]:
        if self.batch is None:
            loop = asyncio.get_running_loop()
            self.batch = loop.create_future()
            loop.call_soon(self.flush)
        self.pending.append((key, model, response, list(journal)))
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


class Dispatcher:
    """Makes every model call of one run (use as ``async with``)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        budget_usd: float | None = None,
        concurrency: int | None = None,
        stop: asyncio.Event | None = None,
        seed: int = 0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.concurrency = concurrency
        self.stop = stop
        self.ledger = Ledger(budget_usd)
        self.policy = RetryPolicy(
            max_retries=settings.max_retries,
            timeout=settings.timeout,
            base=settings.backoff_base,
            cap=settings.backoff_cap,
        )
        self.rng = random.Random(seed)
        self.commits = _GroupCommit(store)
        self._providers: dict[str, Provider] = {}
        self._gates: dict[str, ProviderGate] = {}
        self._models: dict[str, Model] = {}
        self._inflight: dict[str, asyncio.Future[CallResult]] = {}
        self._charged: set[str] = set()
        """Keys whose cost a result already carried: a shared call is counted once per run."""
        self.calls: Counter[str] = Counter()
        """Calls sent to a provider (not cached), by purpose."""
        self.on_note: Callable[[str, str], None] = lambda topic, text: None
        """Told why the run goes slower than it could (e.g. ``Tally.note``): the ``limit`` topic
        when a provider's calls in flight are held below its concurrency, and why."""

    async def __aenter__(self) -> Dispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what the grid and the scorers use -------------------------------------------------
    @property
    def stopped(self) -> bool:
        """True once the run was asked to stop."""
        return bool(self.stop and self.stop.is_set())

    def limits(self, provider: str) -> Limits:
        """The limits a provider runs under in this run."""
        limits = limits_for(provider, self.settings)
        if self.concurrency:
            limits = Limits(self.concurrency, limits.rpm, limits.tpm)
        return limits

    def gate(self, provider: str) -> ProviderGate:
        """The gate of one provider (made on first use)."""
        if provider not in self._gates:
            self._gates[provider] = ProviderGate(
                self.limits(provider),
                provider,
                on_limit=lambda: self.on_note("limit", limit_note(self._gates.values())),
            )
        return self._gates[provider]

    @property
    def gates(self) -> list[ProviderGate]:
        """Every gate in use."""
        return list(self._gates.values())

    def progress_notes(self) -> list[tuple[str, str]]:
        """(provider, note) for each provider in use: why it runs slower than it could."""
        return [(name, p.progress_note()) for name, p in self._providers.items()]

    def from_cache(self, calls: Iterable[Call]) -> dict[str, CallResult]:
        """Cached results for these calls by key; the first result of a key carries its cost
        (as on the run that paid for it), identical ones cost 0."""
        calls = list(calls)
        found = self.store.get_many([c.key for c in calls])
        out: dict[str, CallResult] = {}
        for call in calls:
            if call.key in found and call.key not in out:
                out[call.key] = self._charge(call, found[call.key], cached=True)
        return out

    def _charge(self, call: Call, response: Response, *, cached: bool) -> CallResult:
        """The result with its cost: what the call cost when it was made (for a cached one, on
        the run that paid for it; the ledger counts only this run's calls), 0 when an identical
        call already carried it."""
        if call.key in self._charged:
            return CallResult(response, 0.0, cached)
        self._charged.add(call.key)
        return CallResult(response, call.cost(response), cached)

    async def call(
        self,
        call: Call,
        *,
        journal: Journal = (),
        on_commit: OnCommit | None = None,
        cached: bool = True,
    ) -> CallResult:
        """Make one call (or share an identical one in flight, or answer from the store when
        ``cached``); raise :class:`NotRun` when stopped or over budget. ``on_commit`` runs right
        after the result is committed to the store (with ``journal``: (run_id, cell) pairs)."""
        if call.key in self._inflight:
            shared = await asyncio.shield(self._inflight[call.key])
            return CallResult(shared.response, 0.0, shared.cached)
        if cached:
            hit = self.store.get_many([call.key]).get(call.key)
            if hit is not None:
                return self._charge(call, hit, cached=True)
        future: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._inflight[call.key] = future
        try:
            result = await self._send(call, journal, on_commit)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters get it via shield
            raise
        finally:
            del self._inflight[call.key]

    def provider(self, model: ModelId) -> Provider:
        """The provider instance serving ``model`` in this run (made on first use)."""
        if model.provider not in self._providers:
            self._providers[model.provider] = create_provider(model, self.settings)
        return self._providers[model.provider]

    def batch_api(self, model: ModelId) -> BatchAPI | None:
        """The batch API of the provider serving ``model``; None when it has none."""
        if self.provider_class(model).batch_limits is None:
            return None
        return self.provider(model).batches()

    def provider_class(self, model: ModelId) -> type[Provider]:
        """The class of the provider serving ``model`` (its facts), without making one."""
        if model.provider in self._providers:
            return type(self._providers[model.provider])
        return self.model(str(model)).provider

    async def record(
        self,
        call: Call,
        response: Response,
        *,
        reserved: float | None,
        journal: Journal = (),
        on_commit: OnCommit | None = None,
        ahead: bool = False,
    ) -> CallResult:
        """A call's response, made now (in real time or in a provider batch): charged to the
        ledger in place of what was ``reserved``, committed to the store with ``journal``, then
        shown (``on_commit``) — journaled before shown. A call made ``ahead`` of its asker (a
        judge call sent in a batch for the scorer to find in the cache) leaves its cost for
        that cache hit to carry."""
        if ahead:
            result = CallResult(response, call.cost(response), cached=False)
        else:
            result = self._charge(call, response, cached=False)
        self.ledger.settle(reserved, result.cost_usd, call.purpose)
        self.calls[call.purpose] += 1

        def shown() -> None:
            if on_commit is not None:
                on_commit(result)

        await self.commits.add(call.key, str(call.request.model), response, journal, shown)
        return result

    async def _send(self, call: Call, journal: Journal, on_commit: OnCommit | None) -> CallResult:
        if self.stopped:
            raise NotRun("stopped")
        reserve = call.max_cost()
        if not self.ledger.reserve(reserve, call.purpose):
            raise NotRun("budget")
        provider = self.provider(call.request.model)
        gate = self.gate(call.request.model.provider)
        done: list[CallResult] = []

        async def settle(reply: object) -> None:
            """Commit the call's result, then show it: journaled before shown."""
            assert isinstance(reply, Response)
            kept = self.record(call, reply, reserved=reserve, journal=journal, on_commit=on_commit)
            done.append(await kept)

        tokens = call.est_input_tokens + call.max_output_tokens
        try:
            # A reply is committed before its slot goes to another call, so no more than
            # ``concurrency`` answered calls are ever uncommitted (lost if the process dies).
            await call_with_retries(
                lambda: provider.generate(call.request, self.settings.timeout),
                gate,
                self.policy,
                tokens,
                self.rng,
                stopped=lambda: self.stopped,
                settle=settle,
            )
        except ProviderError as exc:
            await settle(Response.failure(exc))
        except Stopped:
            self.ledger.settle(reserve, 0.0, call.purpose)
            raise NotRun("stopped") from None
        return done[-1]

    # -- judges ----------------------------------------------------------------------------
    def model(self, model: str) -> Model:
        """A resolved model (cached per run)."""
        if model not in self._models:
            self._models[model] = resolve(model, self.settings)
        return self._models[model]

    def judge_call(
        self,
        model: str,
        messages: Sequence[Message],
        params: Mapping[str, Any] | None = None,
        repeat: int = 0,
    ) -> Call:
        """The :class:`Call` a scorer's model call makes."""
        return make_call(self.model(model), messages, params or {}, repeat, purpose="judge")

    async def judge(
        self,
        model: str,
        messages: Sequence[Message],
        params: Mapping[str, Any] | None = None,
        repeat: int = 0,
    ) -> CallResult:
        """A scorer's model call (``ScoreContext.call``): a call not made (budget, stop) comes
        back as a failed response saying why."""
        try:
            return await self.call(self.judge_call(model, messages, params, repeat))
        except NotRun as exc:
            why = (
                f"not made: the budget of ${self.ledger.limit:.4f} was reached"
                if exc.why == "budget"
                else "not made: the run was stopped"
            )
            return CallResult(Response(text=None, error=why, error_kind=exc.why), 0.0, False)

    async def aclose(self) -> None:
        """Commit what is pending and close every provider this run opened."""
        self.commits.flush()
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
