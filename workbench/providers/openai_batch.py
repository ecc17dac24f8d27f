"""OpenAI's Batch API through the official SDK: a JSONL file of requests uploaded with the Files
API, ``POST /v1/batches``, results read back from the output and error files. A batch serves one
endpoint: Chat Completions lines, or Responses API lines (``params={"api": "responses"}``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
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

__all__ = ["ENDPOINT", "RESPONSES_ENDPOINT", "OpenAIBatches", "endpoint"]

ENDPOINT = "/v1/chat/completions"
RESPONSES_ENDPOINT = "/v1/responses"
TAG = "workbench_submission"
"""The metadata key naming the workbench submission a batch belongs to."""

_OUTCOMES = {state: state for state in ("completed", "cancelled", "expired", "failed")}
"""The batch statuses after which nothing more happens."""
_NOT_RUN = {"batch_expired": "expired", "batch_cancelled": "cancelled"}
"""Error codes of requests a batch never ran."""


class OpenAIBatches(BatchAPI):
    """Batches of one OpenAI provider instance (its client, base URL and key)."""

    def _line(self, item: BatchItem) -> dict[str, Any]:
        body = self.provider.request_body(item.request)
        url = endpoint(item)
        return {"custom_id": item.custom_id, "method": "POST", "url": url, "body": body}

    def size(self, item: BatchItem) -> int:
        return len(_jsonl([self._line(item)]))

    def group(self, item: BatchItem) -> str:
        return f"{item.request.model} {endpoint(item)}"

    async def _sdk(self, call: Any) -> Any:
        return await sdk_call(call, self.provider.name)

    async def submit(self, items: Sequence[BatchItem], tag: str) -> str:
        client = self.client()
        data = _jsonl([self._line(item) for item in items])
        uploaded = await self._sdk(
            client.files.create(file=(f"{tag}.jsonl", data, "application/jsonl"), purpose="batch")
        )
        batch = await self._sdk(
            client.batches.create(
                input_file_id=uploaded.id,
                endpoint=endpoint(items[0]),
                completion_window="24h",
                metadata={TAG: tag},
            )
        )
        return str(batch.id)

    async def status(self, batch_id: str) -> BatchStatus:
        found = await self._sdk(self.client().batches.retrieve(batch_id))
        return _status(found)

    async def cancel(self, batch_id: str) -> BatchStatus:
        return _status(await self._sdk(self.client().batches.cancel(batch_id)))

    async def list(self) -> list[BatchStatus]:
        page = await self._sdk(self.client().batches.list(limit=100))
        return [_status(b) for b in page.data]

    async def results(self, batch_id: str) -> dict[str, BatchResult]:
        client = self.client()
        batch = await self._sdk(client.batches.retrieve(batch_id))
        out: dict[str, BatchResult] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self._sdk(client.files.content(file_id))
            for line in content.text.splitlines():
                if line.strip():
                    custom_id, result = self._result(line, batch_id)
                    out[custom_id] = result
        return out

    def _result(self, line: str, batch_id: str) -> tuple[str, BatchResult]:
        name = self.provider.name
        try:
            entry = json.loads(line)
            custom_id = str(entry["custom_id"])
        except (KeyError, TypeError, ValueError) as exc:
            return "", unusable(name, f"{type(exc).__name__}: {exc}")
        error = entry.get("error")
        response = entry.get("response")
        if error:  # never ran, or refused before it reached the model
            code = str(error.get("code") or "")
            if code in _NOT_RUN:
                return custom_id, not_run(_NOT_RUN[code], batch_id)
            return custom_id, http_failure(400, error_message({"error": error}), name)
        if not isinstance(response, dict):
            return custom_id, unusable(name, "a result with neither response nor error")
        status = int(response.get("status_code") or 0)
        body = response.get("body")
        if status != 200:
            return custom_id, http_failure(status or 500, error_message(body), name)
        try:
            parsed = self.provider.response_from_body(body if isinstance(body, dict) else {})
        except ProviderError as exc:
            return custom_id, unusable(name, str(exc))
        parsed.batch = batch_id
        return custom_id, BatchResult(parsed)


def endpoint(item: BatchItem) -> str:
    """The endpoint a request's line goes to (a batch's lines all share one)."""
    return RESPONSES_ENDPOINT if item.request.params.get("api") == "responses" else ENDPOINT


def _jsonl(lines: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for line in lines
    )


def _status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    errors = getattr(batch, "errors", None)
    messages = [e.message for e in (getattr(errors, "data", None) or []) if e.message]
    metadata = batch.metadata or {}
    return BatchStatus(
        id=batch.id,
        state=batch.status,
        outcome=_OUTCOMES.get(batch.status),
        total=counts.total if counts else 0,
        succeeded=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        created=float(batch.created_at),
        tag=metadata.get(TAG),
        message="; ".join(messages),
    )
