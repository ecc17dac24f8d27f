"""The batch APIs of the mock server: OpenAI's Files + Batch API and Anthropic's Message Batches.

Routes (answered by :meth:`MockBatches.route`, hooked into ``workbench.testing.mockserver``):
``POST /v1/files``, ``GET /v1/files/{id}[/content]``, ``POST|GET /v1/batches``,
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``; ``POST|GET /v1/messages/batches``,
``GET /v1/messages/batches/{id}[/results]``, ``POST /v1/messages/batches/{id}/cancel``.

Each request of a batch is answered as the real-time endpoint would answer it (same checks,
same deterministic reply: tool calls, reasoning, cached tokens, structured output); OpenAI batches
take ``/v1/chat/completions`` or ``/v1/responses`` lines (one endpoint per batch, as OpenAI's);
a line that asks to stream is refused, as batch requests never stream. :class:`BatchFaults` decides how batches behave: how long one takes
(its requests finish evenly over ``delay`` seconds), ``stall_after`` (no request past that many
finishes, until the batch is cancelled or expires), ``expires_in``, per-request failures by last
user text (``fail``: always, ``fail_once``: the first time), and per-batch limits.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workbench.testing.mockcore import Api, RequestError, error_body, parse_request
from workbench.testing.mockhttp import HttpRequest
from workbench.testing.mockreply import make_reply, reply_body

__all__ = ["HANG", "BatchFaults", "MockBatches", "Reply"]

Reply = tuple[int, Mapping[str, Any] | bytes]
"""Status and body (JSON data, or raw bytes) of one answer."""
HANG: Reply = (0, b"")
"""No answer at all: the server keeps the connection open and says nothing."""

OPENAI_ENDPOINTS: dict[str, Api] = {"/v1/chat/completions": "openai", "/v1/responses": "responses"}
"""The endpoints an OpenAI batch may serve (its lines' ``url``) and the API each speaks."""
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class BatchFaults:
    """How the mock's batches behave (all off by default: a batch completes at once)."""

    delay: float = 0.0
    """Seconds a batch takes to answer all its requests (they finish evenly over it)."""
    stall_after: int | None = None
    """At most this many requests of a batch finish; it then waits to be cancelled or expire."""
    expires_in: float = 86_400.0
    """Seconds after creation at which an unfinished batch expires (finished requests kept)."""
    fail: dict[str, int] = field(default_factory=dict)
    """Last user text -> HTTP status that request gets in every batch (e.g. 400, 500)."""
    fail_once: dict[str, int] = field(default_factory=dict)
    """Last user text -> HTTP status that request gets the first time it is in a batch."""
    max_requests: int = 0
    """Refuse a batch of more requests (0: no limit)."""
    max_bytes: int = 0
    """Refuse a batch larger than this (the JSONL file; Anthropic: the request body; 0: none)."""
    hang_create: int = 0
    """The next N batch creations are made, but their answer never comes (the caller times
    out, or is killed while it waits): the batch exists at the provider, its id unknown."""


def _checked(updates: Mapping[str, Any], base: BatchFaults) -> BatchFaults:
    known = {f.name for f in dataclasses.fields(BatchFaults)}
    unknown = set(updates) - known
    if unknown:
        raise ValueError(f"unknown batch setting(s) {sorted(unknown)}")
    for name in ("fail", "fail_once"):
        value = updates.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, int) for v in value.values()):
            raise ValueError(f"{name} must be an object of last user text -> HTTP status")
    for name in ("delay", "expires_in", "max_requests", "max_bytes", "hang_create"):
        value = updates.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number >= 0")
    stall = updates.get("stall_after")
    if stall is not None and (isinstance(stall, bool) or not isinstance(stall, int) or stall < 0):
        raise ValueError("stall_after must be a whole number >= 0 or null")
    return dataclasses.replace(base, **updates)


@dataclass
class _Batch:
    api: Api
    id: str
    created: float
    requests: list[tuple[str, bytes]]
    """(custom_id, request body) in order."""
    endpoint: str = ""
    """OpenAI: the endpoint every line goes to."""
    metadata: dict[str, Any] | None = None
    input_file_id: str | None = None
    refused: str | None = None
    """Why the batch failed validation (OpenAI: a ``failed`` batch)."""
    cancelled_at: float | None = None
    answered: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Request index -> its result, once finished (computed once)."""
    files: tuple[str | None, str | None] | None = None
    """OpenAI output and error file ids, once ended."""


class MockBatches:
    """Files and batches of both APIs; touched only from the server's event loop."""

    def __init__(self, faults: BatchFaults | None, state: Any) -> None:
        self.state = state
        """The server's ``State`` (its answers; counters shared with real-time requests)."""
        self.initial = dataclasses.replace(faults or BatchFaults())
        self.faults = dataclasses.replace(self.initial)
        self.files: dict[str, tuple[str, bytes]] = {}
        """File id -> (purpose, content)."""
        self.batches: dict[str, _Batch] = {}
        self._ids = itertools.count(1)
        self.failed_once: set[str] = set()
        self.reset_counters()

    # -- control ----------------------------------------------------------------------------
    def apply(self, updates: Mapping[str, Any]) -> BatchFaults:
        """Change the batch settings (``ValueError`` on a bad one; nothing changes then)."""
        self.faults = _checked(updates, self.faults)
        return dataclasses.replace(self.faults)

    def restore(self) -> None:
        self.faults = dataclasses.replace(self.initial)
        self.failed_once.clear()

    def reset_counters(self) -> None:
        self.created: Counter[str] = Counter()
        self.cancelled: Counter[str] = Counter()
        self.answered_requests = 0
        self.fingerprints: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        return {
            "created": dict(self.created),
            "cancelled": dict(self.cancelled),
            "answered": self.answered_requests,
            "fingerprints": dict(self.fingerprints),
            "files": len(self.files),
            "open": sum(1 for b in self.batches.values() if self._ended(b) is None),
            "config": dataclasses.asdict(self.faults),
        }

    # -- routing ----------------------------------------------------------------------------
    def route(self, req: HttpRequest) -> Reply | None:
        """The answer to a batch or file request, or None when ``req`` is not one."""
        parts = req.path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 2:
            return None
        rest = parts[1:]
        try:
            if rest[0] == "files":
                return self._files(req, rest[1:])
            if rest[0] == "batches":
                return self._openai(req, rest[1:])
            if rest[:2] == ["messages", "batches"]:
                return self._anthropic(req, rest[2:])
        except RequestError as exc:
            api: Api = "anthropic" if rest[0] == "messages" else "openai"
            return exc.status, error_body(api, exc.status, exc.message)
        return None

    def _made(self, status: int, body: Mapping[str, Any]) -> Reply:
        """The answer to a batch creation (which ``hang_create`` swallows)."""
        if self.faults.hang_create > 0:
            self.faults.hang_create -= 1
            return HANG
        return status, body

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    @staticmethod
    def _method(req: HttpRequest, *allowed: str) -> None:
        if req.method not in allowed:
            raise RequestError(f"Method {req.method} not allowed", 405)

    # -- OpenAI files -----------------------------------------------------------------------
    def _files(self, req: HttpRequest, rest: list[str]) -> Reply:
        if not rest:
            self._method(req, "POST")
            fields = _multipart(req.headers.get("content-type", ""), req.body)
            purpose = fields.get("purpose", (None, b""))[1].decode()
            if "file" not in fields or purpose != "batch":
                raise RequestError("a 'file' and purpose 'batch' are required")
            name, data = fields["file"]
            file_id = self._new_id("file-mock")
            self.files[file_id] = (purpose, data)
            return 200, self._file_object(file_id, name or "upload.jsonl")
        file_id = rest[0]
        if file_id not in self.files:
            raise RequestError(f"No such File object: {file_id}", 404)
        self._method(req, "GET")
        if rest[1:] == ["content"]:
            return 200, self.files[file_id][1]
        return 200, self._file_object(file_id, f"{file_id}.jsonl")

    def _file_object(self, file_id: str, name: str) -> dict[str, Any]:
        purpose, data = self.files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    def _add_file(self, purpose: str, lines: list[dict[str, Any]]) -> str | None:
        if not lines:
            return None
        file_id = self._new_id("file-mock")
        data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        self.files[file_id] = (purpose, data)
        return file_id

    # -- OpenAI batches ---------------------------------------------------------------------
    def _openai(self, req: HttpRequest, rest: list[str]) -> Reply:
        if not rest:
            if req.method == "GET":
                listed = [self._openai_object(b) for b in self._listed("openai")]
                return 200, {"object": "list", "data": listed, "has_more": False}
            self._method(req, "POST")
            return self._made(200, self._openai_object(self._openai_create(_json(req.body))))
        batch = self._batch("openai", rest[0])
        if rest[1:] == ["cancel"]:
            self._method(req, "POST")
            self._cancel(batch)
            return 200, self._openai_object(batch, cancelling=True)
        self._method(req, "GET")
        return 200, self._openai_object(batch)

    def _openai_create(self, body: Mapping[str, Any]) -> _Batch:
        file_id = body.get("input_file_id")
        endpoint = str(body.get("endpoint"))
        if endpoint not in OPENAI_ENDPOINTS or body.get("completion_window") != "24h":
            raise RequestError(
                f"endpoint must be one of {', '.join(OPENAI_ENDPOINTS)}, completion_window 24h"
            )
        if file_id not in self.files:
            raise RequestError(f"No such File object: {file_id}", 404)
        data = self.files[str(file_id)][1]
        batch = _Batch("openai", self._new_id("batch_mock"), time.time(), [], endpoint)
        batch.metadata, batch.input_file_id = body.get("metadata"), str(file_id)
        batch.refused = self._openai_lines(batch, data)
        self.batches[batch.id] = batch
        self.created["openai"] += 1
        return batch

    def _openai_lines(self, batch: _Batch, data: bytes) -> str | None:
        """Read the input file into ``batch.requests``; why it is refused, or None."""
        f = self.faults
        if f.max_bytes and len(data) > f.max_bytes:
            return f"The input file is {len(data)} bytes, more than {f.max_bytes} allowed."
        models: set[str] = set()
        seen: set[str] = set()
        for n, text in enumerate(data.decode().splitlines(), start=1):
            try:
                line = json.loads(text)
                custom_id, body = str(line["custom_id"]), line["body"]
            except (KeyError, TypeError, ValueError):
                return f"Line {n}: not a JSON object with custom_id and body."
            if line.get("method") != "POST" or line.get("url") != batch.endpoint:
                return f"Line {n}: method must be POST and url {batch.endpoint} (the batch's)."
            if custom_id in seen:
                return f"Line {n}: duplicate custom_id {custom_id!r}."
            seen.add(custom_id)
            models.add(str(body.get("model")) if isinstance(body, dict) else "")
            batch.requests.append((custom_id, json.dumps(body).encode()))
        if len(models) > 1:
            return f"All requests of a batch must use one model; found {sorted(models)}."
        if not batch.requests:
            return "The input file holds no requests."
        if f.max_requests and len(batch.requests) > f.max_requests:
            return f"{len(batch.requests)} requests, more than {f.max_requests} allowed."
        return None

    def _openai_object(self, batch: _Batch, cancelling: bool = False) -> dict[str, Any]:
        outcome = self._ended(batch)
        done = self._finished(batch)
        ok = sum(1 for i in done if batch.answered[i]["status"] == 200)
        status = {"cancelled": "cancelled", "expired": "expired", "completed": "completed"}
        state = "in_progress" if outcome is None else status.get(outcome, "failed")
        if cancelling and outcome == "cancelled":
            state = "cancelling"
        output = error = None
        if outcome is not None and batch.refused is None:
            output, error = self._openai_files(batch, outcome)
        errors = None
        if batch.refused:
            errors = {"object": "list", "data": [{"code": "invalid", "message": batch.refused}]}
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": errors,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": state,
            "output_file_id": output,
            "error_file_id": error,
            "created_at": int(batch.created),
            "expires_at": int(batch.created + self.faults.expires_in),
            "cancelled_at": int(batch.cancelled_at) if batch.cancelled_at else None,
            "request_counts": {
                "total": len(batch.requests),
                "completed": ok,
                "failed": len(done) - ok,
            },
            "metadata": batch.metadata,
        }

    def _openai_files(self, batch: _Batch, outcome: str) -> tuple[str | None, str | None]:
        if batch.files is None:
            good: list[dict[str, Any]] = []
            bad: list[dict[str, Any]] = []
            for i, (custom_id, _) in enumerate(batch.requests):
                line: dict[str, Any] = {"id": f"batch_req_{i}", "custom_id": custom_id}
                answer = batch.answered.get(i)
                if answer is None:
                    code = "batch_expired" if outcome == "expired" else "batch_cancelled"
                    line |= {"response": None, "error": {"code": code, "message": code}}
                    bad.append(line)
                    continue
                status = answer["status"]
                line |= {
                    "response": {
                        "status_code": status,
                        "request_id": f"req_{i}",
                        "body": answer["body"],
                    },
                    "error": None,
                }
                (good if status == 200 else bad).append(line)
            batch.files = (
                self._add_file("batch_output", good),
                self._add_file("batch_output", bad),
            )
        return batch.files

    # -- Anthropic Message Batches ----------------------------------------------------------
    def _anthropic(self, req: HttpRequest, rest: list[str]) -> Reply:
        base = f"http://{req.headers.get('host', '127.0.0.1')}"
        if not rest:
            if req.method == "GET":
                listed = [self._anthropic_object(b, base) for b in self._listed("anthropic")]
                return 200, {"data": listed, "has_more": False, "first_id": None, "last_id": None}
            self._method(req, "POST")
            return self._made(200, self._anthropic_object(self._anthropic_create(req.body), base))
        batch = self._batch("anthropic", rest[0])
        if rest[1:] == ["cancel"]:
            self._method(req, "POST")
            self._cancel(batch)
            return 200, self._anthropic_object(batch, base, cancelling=True)
        self._method(req, "GET")
        if rest[1:] == ["results"]:
            if self._ended(batch) is None:
                raise RequestError(f"Batch {batch.id} has not ended yet", 400)
            return 200, self._anthropic_results(batch)
        return 200, self._anthropic_object(batch, base)

    def _anthropic_create(self, raw: bytes) -> _Batch:
        f = self.faults
        if f.max_bytes and len(raw) > f.max_bytes:
            raise RequestError(f"Request body of {len(raw)} bytes is too large", 413)
        requests = _json(raw).get("requests")
        if not isinstance(requests, list) or not requests:
            raise RequestError("requests: Field required (a non-empty list)")
        if f.max_requests and len(requests) > f.max_requests:
            raise RequestError(f"requests: at most {f.max_requests} requests per batch")
        batch = _Batch("anthropic", self._new_id("msgbatch_mock"), time.time(), [])
        seen: set[str] = set()
        for i, entry in enumerate(requests):
            custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                raise RequestError(f"requests.{i}.custom_id: must match {_CUSTOM_ID.pattern}")
            if custom_id in seen:
                raise RequestError(f"requests.{i}.custom_id: duplicate {custom_id!r}")
            seen.add(custom_id)
            batch.requests.append((custom_id, json.dumps(entry.get("params")).encode()))
        self.batches[batch.id] = batch
        self.created["anthropic"] += 1
        return batch

    def _anthropic_object(
        self, batch: _Batch, base: str, cancelling: bool = False
    ) -> dict[str, Any]:
        outcome = self._ended(batch)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if outcome is None or cancelling:
            counts["processing"] = len(batch.requests)  # counted only once it has ended
            state = "in_progress" if batch.cancelled_at is None else "canceling"
        else:
            state = "ended"
            for i in range(len(batch.requests)):
                answer = batch.answered.get(i)
                if answer is None:
                    counts["canceled" if outcome == "cancelled" else "expired"] += 1
                else:
                    counts["succeeded" if answer["status"] == 200 else "errored"] += 1
        ended = outcome is not None and not cancelling
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": state,
            "request_counts": counts,
            "ended_at": _rfc3339(time.time()) if ended else None,
            "created_at": _rfc3339(batch.created),
            "expires_at": _rfc3339(batch.created + self.faults.expires_in),
            "archived_at": None,
            "cancel_initiated_at": _rfc3339(batch.cancelled_at) if batch.cancelled_at else None,
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _anthropic_results(self, batch: _Batch) -> bytes:
        outcome = self._ended(batch)
        lines = []
        for i, (custom_id, _) in enumerate(batch.requests):
            answer = batch.answered.get(i)
            if answer is None:
                result: dict[str, Any] = {
                    "type": "canceled" if outcome == "cancelled" else "expired"
                }
            elif answer["status"] == 200:
                result = {"type": "succeeded", "message": answer["body"]}
            else:
                result = {"type": "errored", "error": answer["body"]}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}).encode() + b"\n")
        return b"".join(lines)

    # -- both -------------------------------------------------------------------------------
    def _batch(self, api: Api, batch_id: str) -> _Batch:
        batch = self.batches.get(batch_id)
        if batch is None or batch.api != api:
            raise RequestError(f"No batch found with id {batch_id!r}", 404)
        return batch

    def _listed(self, api: Api) -> list[_Batch]:
        found = [b for b in self.batches.values() if b.api == api]
        return sorted(found, key=lambda b: b.created, reverse=True)

    def _cancel(self, batch: _Batch) -> None:
        if self._ended(batch) is None:
            self._finished(batch)  # what finished before the cancel stays finished
            batch.cancelled_at = time.time()
            self.cancelled[batch.api] += 1

    def _finish_time(self, batch: _Batch, i: int) -> float | None:
        stall = self.faults.stall_after
        if stall is not None and i >= stall:
            return None
        return batch.created + self.faults.delay * (i + 1) / len(batch.requests)

    def _finished(self, batch: _Batch) -> list[int]:
        """Indexes of the requests finished by now (answering each the first time)."""
        if batch.refused is not None:
            return []
        now = time.time()
        end = min(batch.cancelled_at or now, batch.created + self.faults.expires_in, now)
        for i in range(len(batch.requests)):
            at = self._finish_time(batch, i)
            if i not in batch.answered and at is not None and at <= end:
                api = OPENAI_ENDPOINTS[batch.endpoint] if batch.api == "openai" else batch.api
                batch.answered[i] = self._answer(api, batch.requests[i][1])
        return sorted(batch.answered)

    def _ended(self, batch: _Batch) -> str | None:
        """How the batch ended (completed, cancelled, expired, failed), or None if it goes on."""
        if batch.refused is not None:
            return "failed"
        done = self._finished(batch)
        if len(done) == len(batch.requests):
            return "completed"
        if batch.cancelled_at is not None:
            return "cancelled"
        if time.time() >= batch.created + self.faults.expires_in:
            return "expired"
        return None

    def _answer(self, api: Api, raw: bytes) -> dict[str, Any]:
        """One request of a batch answered as the real-time endpoint would answer it."""
        self.answered_requests += 1
        try:
            chat = parse_request(api, raw)
            if chat.stream:
                raise RequestError("stream: batch requests cannot be streamed")
        except RequestError as exc:
            return {"status": exc.status, "body": error_body(api, exc.status, exc.message)}
        f = self.faults
        status = f.fail.get(chat.last_user)
        first = chat.last_user not in self.failed_once
        if status is None and chat.last_user in f.fail_once and first:
            self.failed_once.add(chat.last_user)
            status = f.fail_once[chat.last_user]
        if status is not None:
            message = f"Request failed in the batch (mock, HTTP {status})."
            return {"status": status, "body": error_body(api, status, message)}
        self.fingerprints[chat.fingerprint] += 1
        st = self.state
        cache = st.cache(api, chat.model, chat.prefix) if chat.caches else (0, 0)
        reply = make_reply(chat, st.answers, st.faults.reasoning_words, cache, st.tool_calls)
        return {"status": 200, "body": reply_body(chat, reply)}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise RequestError("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    return body


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a ``multipart/form-data`` body: name -> (filename, content)."""
    if not content_type.startswith("multipart/form-data"):
        raise RequestError("Files are uploaded as multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
