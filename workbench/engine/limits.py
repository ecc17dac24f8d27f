"""How hard to push a provider: calls in flight (adapting to its refusals), requests and tokens
per minute, retries with backoff.

The in-flight limit of each provider follows AIMD, as TCP's congestion window or Inspect AI's
adaptive connections do: a refusal (429, or an overload: 529, 503 "overloaded") shrinks it by
``SHRINK`` once per congestion event, and each answered call grows it by ``1 / limit`` (about
one slot per round of calls) back up to the configured concurrency. A refused call waits what
the provider asked (Retry-After) and goes again ahead of fresh calls; its refusals count against
``max_retries`` only when no other call to that provider was answered meanwhile
(:func:`call_with_retries`), so a concurrency set too high makes a run slower, not lossy.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from workbench.config import Limits
from workbench.errors import ProviderError

__all__ = [
    "AdaptiveLimit",
    "ProviderGate",
    "RetryPolicy",
    "Slots",
    "Stopped",
    "TokenBucket",
    "call_with_retries",
    "limit_note",
]

REFUSAL_KINDS = frozenset({"rate_limit", "overloaded"})
"""``ProviderError.kind`` of a provider saying "slow down" rather than "this failed"."""

SHRINK = 0.75
"""Factor applied to the in-flight limit on each congestion event."""

RETRY_AFTER_JITTER = 0.1
"""A wait the provider asked for is lengthened by up to this fraction (at most 1 s), so the
calls it refused together do not all come back at the same instant."""


class Stopped(Exception):
    """A stopped run started no new attempt of this call."""


BURST_SECONDS = 2.0
"""A rate limit lets through at most this many seconds' worth of units at once."""


class TokenBucket:
    """``per_minute`` units refilling continuously, with a burst of ``BURST_SECONDS`` worth.

    A request larger than the burst still goes (when the bucket is full) and leaves the bucket
    in debt, so the average stays within the limit."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` units (or a full bucket, for a bigger request) are there."""
        need = min(amount, self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= need:
                    self.level -= amount
                    return
                await asyncio.sleep((need - self.level) / self.rate)


class AdaptiveLimit:
    """The in-flight limit of one provider (AIMD), as plain arithmetic: no clock, no waiting.

    ``value`` starts at ``ceiling`` (the configured concurrency), never exceeds it and never
    falls below 1. A congestion event is a refusal of an attempt sent after the latest shrink:
    calls that were already in flight when the limit shrank say nothing new when they are
    refused too, so they do not shrink it again."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.value = float(ceiling)
        self.epoch = 0
        """Shrinks so far: each attempt remembers the epoch it was sent in."""

    @property
    def slots(self) -> int:
        """Calls allowed in flight now."""
        return max(1, int(self.value))

    def refused(self, sent_epoch: int) -> bool:
        """An attempt sent in ``sent_epoch`` was refused; True if that is a new congestion event
        (the limit shrank, or stays at 1)."""
        if sent_epoch < self.epoch:
            return False
        self.value = max(1.0, self.value * SHRINK)
        self.epoch += 1
        return True

    def answered(self) -> None:
        """A call was answered: grow by ``1 / value`` (one slot per round of calls)."""
        if self.value < self.ceiling:
            self.value = min(float(self.ceiling), self.value + 1.0 / self.value)


class Slots:
    """A FIFO semaphore of a size that can change (the adaptive in-flight limit).

    ``asyncio.Semaphore`` scans all its waiters on every acquire and release: with hundreds of
    workers queued for a provider's slots that scan was a hot spot. Here a release hands the slot
    straight to the oldest live waiter, so an acquire with ``held < limit`` is O(1). Calls being
    retried queue ahead of fresh ones: a call that waited what the provider asked goes at once,
    not behind the rest of the run. Shrinking takes effect as calls finish (none is cancelled).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._retries: deque[asyncio.Future[None]] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return max(0, self.limit - self.held)

    async def acquire(self, retry: bool = False) -> None:
        """Wait for a slot; ``retry`` queues ahead of calls making their first attempt."""
        if self.held < self.limit:  # then nobody waits: every release or resize wakes waiters
            self.held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._retries if retry else self._waiters).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, then cancelled: pass it on
            raise

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Give a slot back: to the oldest waiter still waiting if the limit allows."""
        self.held -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        """Change the limit; a larger one wakes waiters at once."""
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self.held < self.limit:
            queue = self._retries or self._waiters
            if not queue:
                return
            waiter = queue.popleft()
            if not waiter.done():  # cancelled waiters are done: skipped
                self.held += 1
                waiter.set_result(None)


def _refusal(error: ProviderError) -> str:
    what = "rate limited" if error.kind == "rate_limit" else "overloaded"
    return f"HTTP {error.status} {what}" if error.status else what


class ProviderGate:
    """Limits of one provider: calls in flight (adaptive), requests and tokens per minute, and a
    shared pause when it refuses even one call at a time."""

    def __init__(
        self,
        limits: Limits,
        name: str = "provider",
        on_limit: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.name = name
        self.adaptive = AdaptiveLimit(limits.concurrency or 1)
        self.slots = Slots(limits.concurrency or 1)
        self.requests = TokenBucket(limits.rpm) if limits.rpm else None
        self.tokens = TokenBucket(limits.tpm) if limits.tpm else None
        self.on_limit = on_limit
        """Called whenever the number of calls allowed in flight changes (see :meth:`note`)."""
        self.clock = clock
        self.resume_at = 0.0
        self.in_flight = 0
        """Requests sent and not yet answered."""
        self.answered = 0
        """Calls answered so far."""
        self.why = ""
        """The latest refusal that shrank the limit, e.g. ``HTTP 429 rate limited``."""

    async def admit(self, tokens: int) -> None:
        """Wait for rate-limit room (call while holding a slot)."""
        pause = self.resume_at - self.clock()
        if pause > 0:
            await asyncio.sleep(pause)
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(tokens)

    def succeeded(self) -> None:
        """A call was answered: count it and grow the limit."""
        self.answered += 1
        before = self.adaptive.slots
        self.adaptive.answered()
        if self.adaptive.slots != before:
            self._resized()

    def refused(self, error: ProviderError, sent_epoch: int, asked: float) -> None:
        """The provider refused an attempt sent in ``sent_epoch`` and asked to wait ``asked``
        seconds: shrink the limit (call before that attempt's slot is released). A refusal when
        only one call may go already pauses new attempts for what was asked, no longer."""
        at_floor = self.adaptive.slots == 1
        before = self.adaptive.slots
        if not self.adaptive.refused(sent_epoch):
            return
        self.why = _refusal(error)
        if at_floor:
            self.resume_at = max(self.resume_at, self.clock() + asked)
        if self.adaptive.slots != before:
            self._resized()

    def _resized(self) -> None:
        self.slots.resize(self.adaptive.slots)
        if self.on_limit is not None:
            self.on_limit()

    def note(self) -> str:
        """Why this provider gets fewer calls than configured, or ``""`` when it does not."""
        slots, ceiling = self.adaptive.slots, self.adaptive.ceiling
        if slots >= ceiling:
            return ""
        return f"{self.name}: {slots} of {ceiling} calls in flight after {self.why}"


def limit_note(gates: Iterable[ProviderGate]) -> str:
    """The progress note (topic ``"limit"``) of every provider held below its concurrency."""
    return "; ".join(note for gate in gates if (note := gate.note()))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a provider's Retry-After wins when it gives one."""

    max_retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    timeout: float = 60.0
    max_attempts: int = 30
    """Attempts of one call in all (at least ``max_retries + 2``), refusals that did not count
    against ``max_retries`` included: a call refused again and again while the provider answers
    others (a request too large for its token limit, say) still ends, as an error row."""

    def asked(self, error: ProviderError) -> float | None:
        """Seconds the provider asked to wait (Retry-After), within reason."""
        if error.retry_after is None:
            return None
        return min(error.retry_after, self.cap * 4)

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        asked = self.asked(error)
        if asked is not None:
            return asked + rng.uniform(0, min(1.0, RETRY_AFTER_JITTER * asked))
        return rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


async def call_with_retries(
    call: Callable[[], Awaitable[object]],
    gate: ProviderGate,
    policy: RetryPolicy,
    tokens: int,
    rng: random.Random,
    stopped: Callable[[], bool] = lambda: False,
    settle: Callable[[object], Awaitable[None]] | None = None,
) -> object:
    """Run ``call`` inside the gate; retry retryable ProviderErrors; raise the last one.

    A refusal (429, overload) shrinks the gate's limit and is retried after the wait the
    provider asked for. It counts against ``policy.max_retries`` only if no call to that provider
    was answered since this call's previous attempt was sent (a first refusal never counts): a
    provider that answers others is pacing us, one that answers nobody is down. Other retryable
    errors (5xx, timeouts, dropped connections) always count; no call makes more than
    ``policy.max_attempts`` attempts.

    Once ``stopped()`` is true no new attempt starts (:class:`Stopped` instead); a request
    already sent is left to finish, so what was paid for is kept. ``settle(reply)`` (e.g. saving
    it) is awaited before the slot is given back, still counted in flight, outside the timeout."""
    attempts = counted = 0
    previous: int | None = None  # gate.answered when the previous attempt was sent
    most = max(policy.max_attempts, policy.max_retries + 2)
    while True:
        await gate.slots.acquire(retry=attempts > 0)
        try:
            await gate.admit(tokens)
            while gate.slots.held > gate.slots.limit:  # it shrank while this call waited
                gate.slots.release()
                await gate.slots.acquire(retry=True)
            if stopped():
                raise Stopped
            epoch, answered = gate.adaptive.epoch, gate.answered
            gate.in_flight += 1
            try:
                try:
                    async with asyncio.timeout(policy.timeout + 5.0):  # no task, as wait_for
                        reply = await call()
                except TimeoutError:
                    error = ProviderError(
                        f"no reply within {policy.timeout:g} s", kind="timeout", retryable=True
                    )
                except ProviderError as exc:
                    error = exc
                else:
                    gate.succeeded()
                    if settle is not None:
                        await settle(reply)
                    return reply
            finally:
                gate.in_flight -= 1
            attempts += 1
            wait = policy.delay(attempts, error, rng)
            refused = error.kind in REFUSAL_KINDS
            if refused:  # shrink before this slot can go to another call
                asked = policy.asked(error)
                gate.refused(error, epoch, wait if asked is None else asked)
        finally:
            gate.slots.release()
        counts = not refused or gate.answered == previous
        counted += counts
        previous = answered
        if not error.retryable or counted > policy.max_retries:
            why = f"; no call to {gate.name} was answered meanwhile" if refused else ""
            raise _gave_up(error, attempts, why)
        if attempts >= most:
            raise _gave_up(
                error,
                attempts,
                f"; {gate.name} kept refusing it while answering other calls: lower the "
                f"concurrency, or make this request smaller",
            )
        if stopped():
            raise Stopped
        await asyncio.sleep(wait)


def _gave_up(error: ProviderError, attempts: int, why: str) -> ProviderError:
    if attempts > 1:
        error.args = (f"{error.args[0]} (after {attempts} attempts{why})",)
    return error
