"""What every provider's batch transport shares: splitting requests into batches within the
provider's limits, and turning what a batch says of one request into a
:class:`~workbench.providers.base.BatchResult` the way a real-time call would fail.

The contract itself (``BatchAPI``, ``BatchItem``, ``BatchResult``, ``BatchStatus``) is in
:mod:`workbench.providers.base`: a provider with a batch API says so on its class
(``Provider.batch_limits``) and returns a ``BatchAPI`` from ``Provider.batches()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from workbench.errors import ConfigError, ProviderError
from workbench.providers.base import BatchItem, BatchLimits, BatchResult, Response, status_error
from workbench.providers.sdk_errors import from_sdk_exception

__all__ = [
    "error_message",
    "http_failure",
    "not_run",
    "sdk_call",
    "split_batches",
    "unusable",
]


async def sdk_call(call: Awaitable[Any], provider: str) -> Any:
    """Await an SDK call of a batch API; its exceptions become ProviderError as in real time."""
    try:
        return await call
    except ProviderError:
        raise
    except Exception as exc:
        raise from_sdk_exception(exc, provider) from None


def split_batches(
    items: Sequence[BatchItem],
    limits: BatchLimits,
    size: Callable[[BatchItem], int],
    *,
    group_of: Callable[[BatchItem], str] = lambda item: str(item.request.model),
) -> list[list[BatchItem]]:
    """Items in batches of one group each (``group_of``: the model, or what the provider's
    :meth:`~workbench.providers.base.BatchAPI.group` says) within ``limits`` (requests and
    bytes), in order. A single request larger than a whole batch is refused before anything is
    sent."""
    by_model: dict[str, list[BatchItem]] = {}
    for item in items:
        by_model.setdefault(group_of(item), []).append(item)
    out: list[list[BatchItem]] = []
    for group in by_model.values():
        batch: list[BatchItem] = []
        used = 0
        for item in group:
            n = size(item)
            if n > limits.max_bytes:
                raise ConfigError(
                    f"One request to {item.request.model} is {n:,} bytes, more than a whole "
                    f"batch may hold ({limits.max_bytes:,}); run it in real time "
                    f'(mode="realtime") or shorten the prompt.'
                )
            if batch and (len(batch) >= limits.max_requests or used + n > limits.max_bytes):
                out.append(batch)
                batch, used = [], 0
            batch.append(item)
            used += n
        if batch:
            out.append(batch)
    return out


def not_run(outcome: str, batch_id: str, detail: str = "") -> BatchResult:
    """The result of a request its batch never ran (``cancelled``, ``expired``, ``failed``)."""
    why = {
        "cancelled": "the batch was cancelled before this request ran",
        "expired": "the batch expired before this request ran",
        "failed": "the provider refused the whole batch",
    }.get(outcome, f"the batch ended ({outcome}) before this request ran")
    detail = f": {detail}" if detail else ""
    error = ProviderError(
        f"not run: {why} ({batch_id}{detail}); run again to send it", kind=f"batch_{outcome}"
    )
    return BatchResult(Response.failure(error))


def http_failure(status: int, message: str, provider: str) -> BatchResult:
    """A request of a batch answered with HTTP ``status``, as a real-time call would fail."""
    error = status_error(status, f"{provider} HTTP {status} (in a batch): {message}")
    return BatchResult(Response.failure(error), retryable=error.retryable)


def unusable(provider: str, detail: str) -> BatchResult:
    """A result line that cannot be read."""
    error = ProviderError(
        f"{provider}: unusable batch result ({detail})", kind="bad_response", retryable=True
    )
    return BatchResult(Response.failure(error), retryable=True)


def error_message(body: Mapping[str, Any] | None) -> str:
    """The message of an API error body (``{"error": {"message": ...}}``), else its text."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])[:500]
    return str(body)[:500]
