"""How hard to push a provider: concurrency, requests/tokens per minute, retries with backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from workbench.config import Limits
from workbench.errors import ProviderError

__all__ = ["ProviderGate", "RetryPolicy", "TokenBucket", "call_with_retries"]


class TokenBucket:
    """A bucket of ``per_minute`` units refilling continuously; ``take`` waits for enough."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` units are available, then spend them."""
        amount = min(amount, self.capacity)  # one oversized request still goes, alone
        async with self._lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


class ProviderGate:
    """Concurrency and rate limits of one provider, plus a shared pause after a 429."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.slots = asyncio.Semaphore(limits.concurrency)
        self.requests = TokenBucket(limits.rpm) if limits.rpm else None
        self.tokens = TokenBucket(limits.tpm) if limits.tpm else None
        self.resume_at = 0.0

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
) -> object:
    """Run ``call`` inside the gate; retry retryable ProviderErrors; raise the last one."""
    attempt = 0
    while True:
        async with gate.slots:
            await gate.admit(tokens)
            try:
                return await asyncio.wait_for(call(), policy.timeout + 5.0)
            except TimeoutError:
                error = ProviderError(
                    f"no reply within {policy.timeout:g} s", kind="timeout", retryable=True
                )
            except ProviderError as exc:
                error = exc
        attempt += 1
        if not error.retryable or attempt > policy.max_retries:
            if attempt > 1:
                error.args = (f"{error.args[0]} (after {attempt} attempts)",)
            raise error
        wait = policy.delay(attempt, error, rng)
        if error.retry_after is not None:
            gate.back_off(wait)
        await asyncio.sleep(wait)
