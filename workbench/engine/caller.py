"""Model calls outside the experiment grid (LLM judges), through the same store, limits and
retries as the grid: cached like any call, collapsed when identical, and their cost counted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.config import Settings
from workbench.engine.limits import ProviderGate, RetryPolicy, call_with_retries
from workbench.engine.plan import cache_key
from workbench.engine.store import Store
from workbench.errors import ProviderError
from workbench.models.catalog import model_info
from workbench.models.ids import parse_model_id
from workbench.prompts.render import Message
from workbench.providers.base import ChatRequest, Provider, Response
from workbench.providers.registry import create_provider

__all__ = ["CallResult", "ModelCaller"]


@dataclass(frozen=True)
class CallResult:
    """A judge call's response, its cost, and whether it came from the store."""

    response: Response
    cost_usd: float
    cached: bool


class ModelCaller:
    """``await caller(model, messages, params, repeat)``; one instance per run."""

    def __init__(self, store: Store, settings: Settings, seed: int = 0) -> None:
        self.store = store
        self.settings = settings
        self.policy = RetryPolicy(
            max_retries=settings.max_retries,
            timeout=settings.timeout,
            base=settings.backoff_base,
            cap=settings.backoff_cap,
        )
        self.rng = random.Random(seed)
        self._providers: dict[str, tuple[Provider, ProviderGate]] = {}
        self._inflight: dict[str, asyncio.Future[CallResult]] = {}
        self._charged: set[str] = set()
        """Keys whose cost a result already carried: a shared call is counted once per run."""
        self.spent = 0.0
        self.calls = 0

    async def __call__(
        self,
        model: str,
        messages: Sequence[Message],
        params: Mapping[str, Any] | None = None,
        repeat: int = 0,
    ) -> CallResult:
        mid = parse_model_id(model, self.settings)
        request = ChatRequest(mid, tuple(messages), dict(sorted((params or {}).items())), repeat)
        key = cache_key(request)
        if key in self._inflight:
            shared = await asyncio.shield(self._inflight[key])
            return CallResult(shared.response, 0.0, shared.cached)
        hit = self.store.get_many([key]).get(key)
        if hit is not None:
            cost = 0.0 if key in self._charged else self._cost(model, hit)
            self._charged.add(key)
            return CallResult(hit, cost, True)
        future: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._call(request, key)
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
            del self._inflight[key]

    async def _call(self, request: ChatRequest, key: str) -> CallResult:
        name = request.model.provider
        if name not in self._providers:
            provider = create_provider(request.model, self.settings)
            gate = ProviderGate(self.settings.limits_for(name), name)
            self._providers[name] = (provider, gate)
        provider, gate = self._providers[name]
        try:
            reply = await call_with_retries(
                lambda: provider.generate(request, self.settings.timeout),
                gate,
                self.policy,
                4096,
                self.rng,
            )
            assert isinstance(reply, Response)
            response = reply
        except ProviderError as exc:
            response = Response.failure(exc)
        self.store.put(key, str(request.model), response)
        self.calls += 1
        cost = self._cost(str(request.model), response)
        self._charged.add(key)
        self.spent += cost
        return CallResult(response, cost, False)

    def _cost(self, model: str, response: Response) -> float:
        if not response.ok:
            return 0.0
        info = model_info(model, self.settings)
        return info.cost(response.input_tokens or 0, response.output_tokens or 0) or 0.0

    async def aclose(self) -> None:
        """Close every provider this caller opened."""
        for provider, _ in self._providers.values():
            await provider.aclose()
        self._providers.clear()
