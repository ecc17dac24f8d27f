"""Anthropic's Message Batches through the official SDK: one ``POST /v1/messages/batches`` of
requests (each the Messages API body a real-time call sends), results read as JSONL."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import ProviderError
from workbench.providers.base import (
    BatchAPI,
    BatchItem,
    BatchResult,
    BatchStatus,
)
from workbench.providers.batch import (
    error_message,
    http_failure,
    not_run,
    sdk_call,
    unusable,
)

__all__ = ["AnthropicBatches"]

_STATUS_OF_ERROR = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""HTTP status of each error type, so a request failed in a batch is classified (retryable or
not) exactly as the same failure in real time."""
_NOT_RUN = {"canceled": "cancelled", "expired": "expired"}


class AnthropicBatches(BatchAPI):
    """Message Batches of one Anthropic provider instance (its client, base URL and key)."""

    def _entry(self, item: BatchItem) -> dict[str, Any]:
        return {"custom_id": item.custom_id, "params": self.provider.request_body(item.request)}

    def size(self, item: BatchItem) -> int:
        return len(json.dumps(self._entry(item), ensure_ascii=False).encode()) + 1

    async def _sdk(self, call: Any) -> Any:
        return await sdk_call(call, self.provider.name)

    def _api(self) -> Any:
        return self.client().messages.batches

    async def submit(self, items: Sequence[BatchItem], tag: str) -> str:
        # Message Batches keep no metadata: ``find`` matches a lost submission by time and size.
        batch = await self._sdk(self._api().create(requests=[self._entry(i) for i in items]))
        return str(batch.id)

    async def status(self, batch_id: str) -> BatchStatus:
        return _status(await self._sdk(self._api().retrieve(batch_id)))

    async def cancel(self, batch_id: str) -> BatchStatus:
        return _status(await self._sdk(self._api().cancel(batch_id)))

    async def list(self) -> list[BatchStatus]:
        page = await self._sdk(self._api().list(limit=100))
        return [_status(b) for b in page.data]

    async def results(self, batch_id: str) -> dict[str, BatchResult]:
        decoder = await self._sdk(self._api().results(batch_id))

        async def read() -> list[dict[str, Any]]:
            return [item.to_dict(mode="json") async for item in decoder]

        lines = await self._sdk(read())
        return {str(line.get("custom_id")): self._result(line, batch_id) for line in lines}

    def _result(self, line: Mapping[str, Any], batch_id: str) -> BatchResult:
        name = self.provider.name
        result = line.get("result")
        if not isinstance(result, Mapping):
            return unusable(name, "a line without a result")
        kind = result.get("type")
        if kind in _NOT_RUN:
            return not_run(_NOT_RUN[str(kind)], batch_id)
        if kind == "errored":
            outer = result.get("error") or {}
            inner = outer.get("error", outer) if isinstance(outer, Mapping) else {}
            status = _STATUS_OF_ERROR.get(str(inner.get("type")), 500)
            return http_failure(status, error_message(outer), name)
        if kind != "succeeded" or not isinstance(result.get("message"), Mapping):
            return unusable(name, f"result type {kind!r}")
        try:
            parsed = self.provider.response_from_body(dict(result["message"]))
        except ProviderError as exc:
            return unusable(name, str(exc))
        parsed.batch = batch_id
        return BatchResult(parsed)


def _status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    outcome = None
    if batch.processing_status == "ended":
        if batch.cancel_initiated_at is not None:
            outcome = "cancelled"
        elif counts.expired:
            outcome = "expired"
        else:
            outcome = "completed"
    total = counts.processing + counts.succeeded + counts.errored + counts.canceled
    return BatchStatus(
        id=batch.id,
        state=batch.processing_status,
        outcome=outcome,
        total=total + counts.expired,
        succeeded=counts.succeeded,
        failed=counts.errored,
        created=batch.created_at.timestamp(),
    )
