"""The HTTP client handed to the openai / anthropic SDKs (both sit on ``httpx2``).

httpcore's connection pool scans every connection of the pool, probing idle sockets, twice per
request: at 200 concurrent calls that scan was most of the CPU per call. Requests are therefore
spread over several small pools (one transport each, sharing one TLS context), each request to
the pool with the fewest requests waiting for their answer; a pool is added only when every pool
has ``POOL_SIZE`` waiting, so a few calls at a time stay on one pool. With proxy environment
variables set, the SDK's own client is used (a custom transport would bypass the proxy).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["POOL_SIZE", "sdk_http_client"]

POOL_SIZE = 4
"""Requests waiting per pool before another pool is opened."""
MAX_POOLS = 64

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def _proxied() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.lower()) for v in _PROXY_VARS)


def sdk_http_client(default_client: type[Any], *, auth: tuple[str, str] | None = None) -> Any:
    """An instance of the SDK's ``DefaultAsyncHttpxClient`` (its timeouts, redirects) over
    several small connection pools; ``None`` (the SDK's default) when a proxy is configured and
    there is no ``auth``."""
    if _proxied():
        return default_client(auth=auth) if auth else None
    import httpx2

    class _PooledTransport(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self._ssl = httpx2.create_ssl_context()  # once: loading the CA bundle takes ~60 ms
            self._pools: list[httpx2.AsyncHTTPTransport] = []
            self._waiting: list[int] = []

        def _add_pool(self) -> None:
            limits = httpx2.Limits(
                max_connections=None, max_keepalive_connections=POOL_SIZE, keepalive_expiry=5.0
            )
            self._pools.append(httpx2.AsyncHTTPTransport(verify=self._ssl, limits=limits))
            self._waiting.append(0)

        async def handle_async_request(self, request: Any) -> Any:
            if not self._pools or (
                min(self._waiting) >= POOL_SIZE and len(self._pools) < MAX_POOLS
            ):
                self._add_pool()
            i = self._waiting.index(min(self._waiting))
            self._waiting[i] += 1
            try:
                return await self._pools[i].handle_async_request(request)
            finally:
                self._waiting[i] -= 1

        async def aclose(self) -> None:
            for pool in self._pools:
                await pool.aclose()

    return default_client(transport=_PooledTransport(), auth=auth)
