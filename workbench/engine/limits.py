"""How hard to push a provider: concurrency, requests/tokens per minute, retries with backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from workbench.config import Limits
from workbench.errors import ProviderError

__all__ = [
    "ProviderGate",
    "RetryPolicy",
    "Slots",
    "Stopped",
    "TokenBucket",
    "call_with_retries",
]


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


class Slots:
    """A FIFO semaphore for the concurrency cap. ``asyncio.Semaphore`` scans all its waiters on
    every acquire (``locked()``) and release: with hundreds of workers queued for a provider's
    slots that scan was a hot spot. Here a release hands the slot straight to the oldest live
    waiter, so ``free > 0`` means nobody waits and an acquire is O(1)."""

    def __init__(self, value: int) -> None:
        self.free = value
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self.free > 0:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, then cancelled: pass it on
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # cancelled waiters are done: skipped
                waiter.set_result(None)
                return
        self.free += 1


class ProviderGate:
    """Concurrency and rate limits of one provider, plus a shared pause after a 429."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.slots = Slots(limits.concurrency or 1)
        self.requests = TokenBucket(limits.rpm) if limits.rpm else None
        self.tokens = TokenBucket(limits.tpm) if limits.tpm else None
        self.resume_at = 0.0
        self.in_flight = 0
        """Requests sent and not yet answered."""

    async def admit(self, tokens: int) -> None:
        """Wait for rate-limit room (call while holding a slot)."""
        pause = self.resume_at - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(tokens)

    def back_off(self, seconds: float) -> None:
        """The provider asked everyone to wait (Retry-After): pause new calls for that long."""
        self.resume_at = max(self.resume_at, time.monotonic() + seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a provider's Retry-After wins when it gives one."""

    max_retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    timeout: float = 60.0

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if error.retry_after is not None:
            return min(error.retry_after, self.cap * 4) + rng.uniform(0, 0.1)
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

    Once ``stopped()`` is true no new attempt starts (:class:`Stopped` instead); a request
    already sent is left to finish, so what was paid for is kept. ``settle(reply)`` (e.g. saving
    it) is awaited before the slot is given back, still counted in flight, outside the timeout."""
    attempt = 0
    while True:
        async with gate.slots:
            await gate.admit(tokens)
            if stopped():
                raise Stopped
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
                    if settle is not None:
                        await settle(reply)
                    return reply
            finally:
                gate.in_flight -= 1
        attempt += 1
        if not error.retryable or attempt > policy.max_retries:
            if attempt > 1:
                error.args = (f"{error.args[0]} (after {attempt} attempts)",)
            raise error
        if stopped():
            raise Stopped
        wait = policy.delay(attempt, error, rng)
        if error.retry_after is not None:
            gate.back_off(wait)
        await asyncio.sleep(wait)
