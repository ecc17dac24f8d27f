"""Core of the mock LLM server, without sockets: fault switches and counters, the OpenAI /
Anthropic payloads (request checks, deterministic replies, error bodies), HTTP/1.1 framing.

``workbench.testing.mockserver`` runs them as a server; import ``Faults`` from there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from typing import Any, Literal

from workbench.testing.mocktools import (
    ToolRequest,
    check_scripted,
    parse_tools,
    planned_calls,
    tool_reply,
)

Api = Literal["openai", "anthropic"]

CREATED = 1_700_000_000
"""Fixed ``created`` timestamp of OpenAI replies, so equal requests get byte-equal bodies."""

BAD_USAGE_MODES = ("missing", "wrong_type", "negative")
"""What ``Faults.bad_usage`` can do to ``usage``; ``True``/``"cycle"`` takes them in turn."""

_OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_ANTHROPIC_ROLES = frozenset({"user", "assistant"})
_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_supported"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}
_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class RequestError(Exception):
    """A client error, answered with ``status`` in the API's own error shape."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a validated chat request that the reply depends on."""

    api: Api
    model: str
    input_words: int
    last_user: str
    max_words: int | None
    n: int
    fingerprint: str
    tools: ToolRequest = field(default_factory=ToolRequest)
    """Tools offered, tool_choice, and the tool results the request ends with."""


def canonical_json(obj: object) -> bytes:
    """Canonical UTF-8 JSON: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(obj: object) -> str:
    """sha256 hex of a request body's canonical JSON (the keys of ``stats()["fingerprints"]``)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def word_count(text: str) -> int:
    """Whitespace-separated words: the mock's notion of tokens."""
    return len(text.split())


def text_of(content: object, where: str) -> str:
    """Text of a message content: a string, or the ``text`` blocks of a list joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(f"{where}: content must be a string or a list of content blocks")
    parts: list[str] = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise RequestError(f"{where}.{i}: content block must be an object with a 'type'")
        if block["type"] == "text":
            if not isinstance(block.get("text"), str):
                raise RequestError(f"{where}.{i}.text: Field required (string)")
            parts.append(block["text"])
    return "\n".join(parts)


def _limit(body: Mapping[str, Any], key: str, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise RequestError(f"{key}: Field required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f"{key}: must be an integer >= 1")
    return value


def parse_request(api: Api, raw: bytes) -> ChatRequest:
    """Validate a chat request body; raise ``RequestError`` (400) when the real API would."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise RequestError("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Field required")
    if body.get("stream"):
        raise RequestError("stream: streaming is not supported by the mock server")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: Field required (a non-empty list)")
    roles = _OPENAI_ROLES if api == "openai" else _ANTHROPIC_ROLES
    texts: list[str] = []
    last_user = ""
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in roles:
            raise RequestError(f"messages.{i}.role: must be one of {sorted(roles)}")
        text = text_of(msg.get("content"), f"messages.{i}.content")
        texts.append(text)
        if msg["role"] == "user":
            last_user = text
    n = 1
    if api == "openai":
        max_words = _limit(body, "max_completion_tokens") or _limit(body, "max_tokens")
        n = _limit(body, "n") or 1
        if n > 16:
            raise RequestError("n: must be <= 16")
    else:
        max_words = _limit(body, "max_tokens", required=True)
        system = body.get("system")
        if system is not None:
            if isinstance(system, list) and any(
                not isinstance(b, dict) or b.get("type") != "text" for b in system
            ):
                raise RequestError("system: must be a string or a list of text blocks")
            texts.append(text_of(system, "system"))
    try:
        tools = parse_tools(api, body)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    if tools.results:  # a follow-up: the reply is to the tool results
        last_user = "\n".join(tools.results)
        texts.extend(tools.results)
    return ChatRequest(
        api=api,
        model=model,
        input_words=sum(word_count(t) for t in texts),
        last_user=last_user,
        max_words=max_words,
        n=n,
        fingerprint=fingerprint(body),
        tools=tools,
    )


def reply_text(req: ChatRequest, answers: Mapping[str, str]) -> tuple[str, bool]:
    """The assistant text and whether it was cut to ``max_words`` words."""
    text = answers.get(req.last_user)
    if text is None:
        text = "mock: " + req.last_user
    words = text.split()
    if req.max_words is not None and len(words) > req.max_words:
        return " ".join(words[: req.max_words]), True
    return text, False


def _spoil_usage(usage: dict[str, Any], mode: str) -> dict[str, Any] | None:
    if mode == "missing":
        return None
    if mode == "wrong_type":  # a numeric string, null, a float: in turn over the fields
        spoil = (str, lambda v: None, lambda v: v + 0.5)
        return {k: spoil[i % 3](v) for i, (k, v) in enumerate(usage.items())}
    return {k: -1 - v for k, v in usage.items()}


def success_body(
    req: ChatRequest,
    answers: Mapping[str, str],
    bad_usage: str | None = None,
    scripted: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The reply body; ``bad_usage`` (a ``BAD_USAGE_MODES`` entry) spoils its usage;
    ``scripted``: tool calls by last user text (see ``mocktools``)."""
    calls, call_words = tool_reply(
        req.api, req.fingerprint, planned_calls(req.tools, req.last_user, scripted or {})
    )
    text, cut = ("", False) if calls else reply_text(req, answers)
    out_words = word_count(text) + call_words
    body: dict[str, Any]
    usage: dict[str, Any]
    if req.api == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        message["annotations"] = []
        finish = "length" if cut else "stop"
        if calls:
            message.update(content=None, tool_calls=calls)
            finish = "tool_calls"
        choice = {"message": message, "logprobs": None, "finish_reason": finish}
        body = {
            "id": "chatcmpl-mock" + req.fingerprint[:24],
            "object": "chat.completion",
            "created": CREATED,
            "model": req.model,
            "choices": [{"index": i, **choice} for i in range(req.n)],
            "system_fingerprint": None,
        }
        completion = out_words * req.n
        usage = {
            "prompt_tokens": req.input_words,
            "completion_tokens": completion,
            "total_tokens": req.input_words + completion,
        }
    else:
        body = {
            "id": "msg_mock" + req.fingerprint[:24],
            "type": "message",
            "role": "assistant",
            "model": req.model,
            "content": calls or [{"type": "text", "text": text}],
            "stop_reason": "tool_use" if calls else "max_tokens" if cut else "end_turn",
            "stop_sequence": None,
        }
        usage = {"input_tokens": req.input_words, "output_tokens": out_words}
    spoiled = _spoil_usage(usage, bad_usage) if bad_usage else usage
    if spoiled is not None:
        body["usage"] = spoiled
    return body


def error_body(api: Api, status: int, message: str) -> dict[str, Any]:
    """An error body in the real shape of ``api`` for HTTP ``status``."""
    if api == "openai":
        etype, code = _OPENAI_ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        return {"error": {"message": message, "type": etype, "param": None, "code": code}}
    atype = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": atype, "message": message}}


def malformed_body(body: Mapping[str, Any]) -> bytes:
    """A deterministic body that is not valid JSON: the first half of the real one."""
    raw = canonical_json(body)
    return raw[: len(raw) // 2]


def format_seconds(seconds: float) -> str:
    """Format a delay like the real ``Retry-After`` values: ``"1"``, ``"0.2"``."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


# --- faults and counters ---------------------------------------------------------------------

FAULT_NAMES = ("hang", "rate_limit", "overload", "error", "drop", "malformed", "bad_usage")

RETRY_AFTER_FORMATS = ("auto", "seconds", "ms", "both", "date", "none")
"""How a 429 says how long to wait: ``auto`` is ``Retry-After`` in seconds, plus
``retry-after-ms`` on the OpenAI API (as the real APIs do); ``date`` is an HTTP date."""


@dataclass
class Faults:
    """Fault switches, all off by default.  ``*_first=N``: the next N API requests get that fault
    (a budget, re-armed whenever the field is set); ``*_rate``: that fraction, drawn from the
    seeded RNG.  At most one of hang > rate limit > overload > 500 > drop > malformed fires per
    request; ``bad_usage`` (True/"cycle" or one of "missing", "wrong_type", "negative") spoils
    each successful reply's ``usage``.  ``max_in_flight=N`` answers any request beyond N being
    answered at once with a 429 (a hard concurrency cap, as a provider's would be).  429s and
    overloads (Anthropic 529 ``overloaded_error``, OpenAI 503) are immediate; the rest wait
    latency + U(0, jitter).  429s carry ``retry_after`` seconds as ``retry_after_format`` says.
    """

    latency: float = 0.0
    jitter: float = 0.0
    rate_limit_every: int = 0
    rate_limit_first: int = 0
    retry_after: float = 1.0
    retry_after_format: str = "auto"
    max_in_flight: int = 0
    overload_rate: float = 0.0
    overload_first: int = 0
    error_rate: float = 0.0
    error_first: int = 0
    hang_first: int = 0
    drop_rate: float = 0.0
    drop_first: int = 0
    malformed_rate: float = 0.0
    malformed_first: int = 0
    bad_usage: bool | str = False


FIELDS = fields(Faults)
_FAULT_FIELDS = {f.name: f for f in FIELDS}
_BUDGETS = (
    "hang_first",
    "rate_limit_first",
    "overload_first",
    "error_first",
    "drop_first",
    "malformed_first",
)


def check_fault(name: str, value: object) -> object:
    """Validate one ``Faults`` field value; raise ``ValueError`` when it is unusable."""
    if name not in _FAULT_FIELDS:
        raise ValueError(f"unknown setting {name!r}")
    if name == "bad_usage":
        if isinstance(value, bool) or value in ("cycle", *BAD_USAGE_MODES):
            return value
        raise ValueError(f"bad_usage must be a bool or one of cycle, {', '.join(BAD_USAGE_MODES)}")
    if name == "retry_after_format":
        if value in RETRY_AFTER_FORMATS:
            return value
        raise ValueError(f"retry_after_format must be one of {', '.join(RETRY_AFTER_FORMATS)}")
    default = _FAULT_FIELDS[name].default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        raise ValueError(f"{name} must be a non-negative finite number")
    if isinstance(default, int):
        if not float(value).is_integer():
            raise ValueError(f"{name} must be an integer")
        return int(value)
    if name.endswith("_rate") and value > 1:
        raise ValueError(f"{name} must be within 0..1")
    return float(value)


def updated_faults(base: Faults, updates: Mapping[str, object]) -> Faults:
    """A copy of ``base`` with validated ``updates`` (``ValueError`` on a bad name or value)."""
    checked = {k: check_fault(k, v) for k, v in updates.items()}
    return dataclasses.replace(base, **checked)  # type: ignore[arg-type]


class State:
    """Configuration and counters; touched only from the server's event loop."""

    def __init__(
        self,
        faults: Faults,
        answers: Mapping[str, str],
        seed: int,
        tool_calls: Mapping[str, Any] | None = None,
    ) -> None:
        scripted = dict(tool_calls or {})
        self.initial = (dataclasses.replace(faults), dict(answers), seed, scripted)
        self.faults = Faults()
        self.answers: dict[str, str] = {}
        self.tool_calls: dict[str, list[dict[str, Any]]] = {}
        """Scripted tool calls by last user text (see ``mocktools``)."""
        self.rng = random.Random(seed)
        self.budget: dict[str, int] = {}
        self.seq = 0
        self.apply(
            {
                **dataclasses.asdict(faults),
                "answers": dict(answers),
                "seed": seed,
                "tool_calls": scripted,
            }
        )
        self.reset_counters()

    def apply(self, updates: Mapping[str, object]) -> None:
        """Update faults / ``answers`` / ``tool_calls`` / ``seed`` atomically; ``ValueError``
        changes nothing."""
        checked = {k: v for k, v in updates.items() if k not in ("answers", "seed", "tool_calls")}
        faults = updated_faults(self.faults, checked)
        scripted = updates.get("tool_calls")
        calls = check_scripted(scripted) if scripted is not None else None
        answers = updates.get("answers")
        if answers is not None and not (
            isinstance(answers, dict) and all(isinstance(v, str) for v in answers.values())
        ):
            raise ValueError("answers must be an object of strings")
        seed = updates.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        self.faults = faults
        for name in _BUDGETS:
            if name in checked:
                self.budget[name] = int(getattr(self.faults, name))
        if "rate_limit_every" in checked:
            self.seq = 0
        if answers is not None:
            self.answers = dict(answers)
        if calls is not None:
            self.tool_calls = calls
        if seed is not None:
            self.rng = random.Random(seed)

    def reset_counters(self) -> None:
        self.requests = 0
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.fired: Counter[str] = Counter({name: 0 for name in FAULT_NAMES})
        self.fingerprints: Counter[str] = Counter()
        self.successes = self.auth_present = self.in_flight = self.max_in_flight = 0
        self.connections = self.internal_errors = 0
        self.over_capacity_refused = 0
        """Requests answered 429 because ``max_in_flight`` were already being answered."""
        self.usage_turn = 0

    def restore(self) -> None:
        """Back to the construction-time faults, answers and seed."""
        faults, answers, seed, scripted = self.initial
        self.faults = Faults()
        self.apply(
            {**dataclasses.asdict(faults), "answers": answers, "seed": seed, "tool_calls": scripted}
        )
        self.seq = 0

    def take(self, budget: str, rate: float = 0.0, draw: float = 1.0) -> bool:
        if self.budget.get(budget, 0) > 0:
            self.budget[budget] -= 1
            return True
        return draw < rate

    def over_capacity(self) -> bool:
        """Whether ``max_in_flight`` requests are already being answered."""
        cap = self.faults.max_in_flight
        return cap > 0 and self.in_flight >= cap

    def early_fault(self) -> str | None:
        """Faults decided before the body is checked: hang, rate limit, then overload (which
        draws from the RNG only while ``overload_rate`` is set, so other sequences stay put)."""
        self.seq += 1
        every = self.faults.rate_limit_every
        if self.take("hang_first"):
            return "hang"
        if self.take("rate_limit_first") or (every > 0 and self.seq % every == 0):
            return "rate_limit"
        rate = self.faults.overload_rate
        if self.take("overload_first", rate, self.rng.random() if rate > 0 else 1.0):
            return "overload"
        return None

    def retry_after_headers(self, api: Api) -> list[tuple[str, str]]:
        """The headers of a 429 that say how long to wait (see ``RETRY_AFTER_FORMATS``)."""
        seconds = self.faults.retry_after
        style = self.faults.retry_after_format
        if style == "auto":
            style = "both" if api == "openai" else "seconds"
        headers: list[tuple[str, str]] = []
        if style in ("seconds", "both"):
            headers.append(("retry-after", format_seconds(seconds)))
        if style in ("ms", "both"):
            headers.append(("retry-after-ms", str(round(seconds * 1000))))
        if style == "date":
            when = time.time() + seconds
            headers.append(("retry-after", email.utils.formatdate(when, usegmt=True)))
        return headers

    def late_fault(self) -> tuple[str | None, float]:
        """Faults of a valid request (500, drop, malformed) and its delay; always 4 RNG draws."""
        f = self.faults
        jitter, e, d, m = (self.rng.random() for _ in range(4))
        delay = f.latency + jitter * f.jitter
        if self.take("error_first", f.error_rate, e):
            return "error", delay
        if self.take("drop_first", f.drop_rate, d):
            return "drop", delay
        if self.take("malformed_first", f.malformed_rate, m):
            return "malformed", delay
        return None, delay

    def usage_mode(self) -> str | None:
        mode = self.faults.bad_usage
        if mode is False:
            return None
        self.fired["bad_usage"] += 1
        if mode is True or mode == "cycle":
            self.usage_turn += 1
            return BAD_USAGE_MODES[(self.usage_turn - 1) % len(BAD_USAGE_MODES)]
        return str(mode)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests,
            "by_path": dict(self.by_path),
            "by_status": dict(self.by_status),
            "faults_fired": dict(self.fired),
            "successes": self.successes,
            "fingerprints": dict(self.fingerprints),
            "auth_present": self.auth_present,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "over_capacity": self.over_capacity_refused,
            "connections": self.connections,
            "internal_errors": self.internal_errors,
            "config": {
                **dataclasses.asdict(self.faults),
                "answers": len(self.answers),
                "tool_calls": len(self.tool_calls),
            },
        }


# --- HTTP/1.1 framing -------------------------------------------------------------------------

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class HttpError(Exception):
    """A request that cannot be framed; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class HttpRequest:
    """One parsed request; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def response_head(
    status: int, length: int, keep_alive: bool, extra: Sequence[tuple[str, str]] = ()
) -> bytes:
    """Status line and headers of a JSON response with a ``Content-Length`` body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Overloaded" if status == 529 else "Unknown"
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        "Server: workbench-mock",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{k}: {v}" for k, v in extra),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    for _ in range(MAX_BODY):  # every chunk but the last has >= 1 byte: bounded
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "bad chunk size") from None
        if size < 0 or len(body) + size > MAX_BODY:
            raise HttpError(413, "request body too large")
        if size == 0:
            for _ in range(100):  # trailers
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return bytes(body)
            raise HttpError(400, "too many trailers")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "bad chunk terminator")
    raise HttpError(413, "request body too large")


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/") or not parts[1].startswith("/"):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(505, "HTTP version not supported")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise HttpError(400, "malformed header line")
        key, value = name.lower(), value.strip()
        if key == "content-length" and headers.get(key, value) != value:
            raise HttpError(400, "conflicting Content-Length headers")
        merge = key in headers and key != "content-length"
        headers[key] = f"{headers[key]}, {value}" if merge else value
    return method, target.split("?", 1)[0], version, headers


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_timeout: float
) -> HttpRequest | None:
    """Read one request: ``None`` on a clean close or idle timeout, ``HttpError`` if malformed."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle_timeout)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    except TimeoutError:
        return None
    method, path, version, headers = _parse_head(head)
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    length = headers.get("content-length")
    chunked = "transfer-encoding" in headers
    if chunked and (length is not None or headers["transfer-encoding"].lower() != "chunked"):
        raise HttpError(400, "unsupported Transfer-Encoding")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HttpError(413 if length.isdigit() else 400, "bad or too large Content-Length")
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if chunked:
        body = await asyncio.wait_for(_read_chunked(reader), idle_timeout)
    else:
        body = await asyncio.wait_for(reader.readexactly(int(length or 0)), idle_timeout)
    return HttpRequest(method, path, headers, body, keep_alive)
