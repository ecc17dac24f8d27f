"""Streamed calls through the official SDKs: the raw HTTP response of a POST (the SDK's auth,
headers, timeouts and error classes), read as server-sent events, and each provider's
accumulator turning them into the body a non-streamed call would have returned.

A stream that ends before the provider's last event is *cut*: :func:`stream_post` raises a
retryable :class:`~workbench.errors.ProviderError`, so the dispatcher retries the call and
nothing partial is cached.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from workbench.errors import ProviderError
from workbench.providers.sdk_errors import from_sdk_exception

__all__ = ["Accumulator", "cut", "sse_events", "stream_post"]

_decode = json.JSONDecoder().decode
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
"""Both SDKs return the unread HTTP response of a request carrying this header set to
``stream`` (what their ``with_streaming_response`` does)."""


class Accumulator(Protocol):
    """Collects one API's events; ``done`` once its last event arrived. Events named in
    ``skip`` carry nothing it needs and are not even parsed."""

    done: bool
    first_token_at: float | None
    skip: frozenset[str]

    def add(self, event: str, data: Mapping[str, Any]) -> None: ...

    def body(self) -> dict[str, Any]: ...


def cut(provider: str, why: str) -> ProviderError:
    """The error of a stream that ended before its reply did (retried; never cached)."""
    return ProviderError(
        f"{provider}: connection lost: the stream was cut before the reply ended ({why})",
        kind="connection",
        retryable=True,
    )


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, bytes]]:
    """(event, data) of each server-sent event in a byte stream; ``event`` is "" when the server
    named none. Bytes in, bytes out (``json.loads`` takes them): no text decoding per line."""
    buf = b""
    async for chunk in chunks:
        buf = (buf + chunk).replace(b"\r\n", b"\n")
        *blocks, buf = buf.split(b"\n\n")
        for block in blocks:
            found = _event(block)
            if found is not None:
                yield found
    found = _event(buf)
    if found is not None:
        yield found


def _event(block: bytes) -> tuple[str, bytes] | None:
    if block.startswith(b"data: ") and b"\n" not in block:  # the usual shapes, fast
        return "", block[6:]
    if block.startswith(b"event: "):
        head, _, rest = block.partition(b"\n")
        if rest.startswith(b"data: ") and b"\n" not in rest:
            return head[7:].decode("utf-8", "replace").strip(), rest[6:]
    event, data = "", list[bytes]()
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
    return (event, b"\n".join(data)) if data else None


async def stream_post(
    client: Any,
    path: str,
    body: Mapping[str, Any],
    timeout: float,
    provider: str,
    acc: Accumulator,
) -> tuple[dict[str, Any], float | None]:
    """POST ``body`` (with ``stream`` set) and feed each event to ``acc``; returns the body the
    events add up to and the seconds (perf_counter) when the first token came."""
    import httpx2

    try:
        response = await client.post(
            path,
            cast_to=httpx2.Response,
            body=body,
            options={"timeout": timeout, "headers": {RAW_RESPONSE_HEADER: "stream"}},
        )
    except Exception as exc:
        raise from_sdk_exception(exc, provider) from None
    try:
        async for event, data in sse_events(response.aiter_bytes()):
            if event in acc.skip:
                continue
            if data == b"[DONE]":
                acc.add("[DONE]", {})
                continue
            try:
                parsed = _decode(data.decode())
            except ValueError:  # UnicodeDecodeError and json.JSONDecodeError alike
                parsed = None
            if not isinstance(parsed, dict):
                raise ProviderError(
                    f"{provider}: unusable response (a streamed event is not a JSON object)",
                    kind="bad_response",
                    retryable=True,
                )
            acc.add(event or str(parsed.get("type", "")), parsed)
    except ProviderError:
        raise
    except Exception as exc:  # the connection dropped mid-stream
        raise cut(provider, type(exc).__name__) from None
    finally:
        await response.aclose()
    if not acc.done:
        raise cut(provider, "no final event")
    return acc.body(), acc.first_token_at


def now() -> float:
    """The clock first tokens are timed with (the providers' ``clock``)."""
    return time.perf_counter()
