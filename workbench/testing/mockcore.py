"""Core of the mock LLM server, without sockets: fault switches and counters, the request checks
of the OpenAI Chat Completions, OpenAI Responses and Anthropic Messages APIs (their tool parts in
``workbench.testing.mocktools``), error bodies. Replies are shaped in
``workbench.testing.mockreply``; HTTP framing is in ``workbench.testing.mockhttp``.

``workbench.testing.mockserver`` runs them as a server; import ``Faults`` from there.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from workbench.testing.mocktools import TOOL_ITEMS, ToolRequest, check_scripted, parse_tools

Api = Literal["openai", "anthropic", "responses"]
"""Chat Completions, Anthropic Messages, or the OpenAI Responses API."""

CREATED = 1_700_000_000
"""Fixed ``created`` timestamp of OpenAI replies, so equal requests get byte-equal bodies."""

BAD_USAGE_MODES = ("missing", "wrong_type", "negative")
"""What ``Faults.bad_usage`` can do to ``usage``; ``True``/``"cycle"`` takes them in turn."""

_REASONING_MODEL = re.compile(r"^(gpt-[5-9]|o[1-9])")
"""OpenAI models that, like the real reasoning models, refuse ``max_tokens``."""
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
    stream: bool = False
    prefix: str = ""
    """The text a prompt cache could hold: the system prompt (or first message)."""
    caches: bool = True
    """Whether the API caches the prefix for this request (Anthropic: only with cache_control)."""
    shows_reasoning: bool = False
    """Whether reasoning text goes back (Anthropic thinking, Responses reasoning summaries)."""
    schema: bool = False
    """Whether a JSON Schema output format was asked for."""


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


def _messages_of(api: Api, body: Mapping[str, Any]) -> list[Any]:
    key = "input" if api == "responses" else "messages"
    messages = body.get(key)
    if api == "responses" and isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list) or not messages:
        raise RequestError(f"{key}: Field required (a non-empty list)")
    return messages


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
    roles = _ANTHROPIC_ROLES if api == "anthropic" else _OPENAI_ROLES
    texts: list[str] = []
    last_user = ""
    for i, msg in enumerate(_messages_of(api, body)):
        if api == "responses" and isinstance(msg, dict) and msg.get("type") in TOOL_ITEMS:
            continue  # a tool call or its result: checked by parse_tools
        if not isinstance(msg, dict) or msg.get("role") not in roles:
            raise RequestError(f"messages.{i}.role: must be one of {sorted(roles)}")
        text = text_of(msg.get("content"), f"messages.{i}.content")
        texts.append(text)
        if msg["role"] == "user":
            last_user = text
    n = 1
    prefix, caches, shows, schema = texts[0], True, False, False
    if api == "openai":
        if "max_tokens" in body and _REASONING_MODEL.match(model):
            raise RequestError(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
        max_words = _limit(body, "max_completion_tokens") or _limit(body, "max_tokens")
        n = _limit(body, "n") or 1
        if n > 16:
            raise RequestError("n: must be <= 16")
        schema = (body.get("response_format") or {}).get("type") == "json_schema"
    elif api == "responses":
        if "max_tokens" in body or "messages" in body:
            raise RequestError(
                "Unsupported parameter: the Responses API takes input and max_output_tokens"
            )
        max_words = _limit(body, "max_output_tokens")
        shows = bool((body.get("reasoning") or {}).get("summary"))
        schema = ((body.get("text") or {}).get("format") or {}).get("type") == "json_schema"
    else:
        max_words = _limit(body, "max_tokens", required=True)
        system = body.get("system")
        if system is not None:
            if isinstance(system, list) and any(
                not isinstance(b, dict) or b.get("type") != "text" for b in system
            ):
                raise RequestError("system: must be a string or a list of text blocks")
            texts.append(text_of(system, "system"))
            prefix = texts[-1]
        caches = "cache_control" in body
        shows = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        schema = ((body.get("output_config") or {}).get("format") or {}).get(
            "type"
        ) == "json_schema"
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
        stream=bool(body.get("stream")),
        prefix=prefix,
        caches=caches,
        shows_reasoning=shows,
        schema=schema,
    )


def error_body(api: Api, status: int, message: str) -> dict[str, Any]:
    """An error body in the real shape of ``api`` for HTTP ``status``."""
    if api != "anthropic":
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

FAULT_NAMES = (
    "hang",
    "rate_limit",
    "overload",
    "error",
    "drop",
    "malformed",
    "bad_usage",
    "cut_stream",
)

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

    Models as they behave today: ``reasoning_words=N`` makes every reply reason N words first
    (within ``max_tokens``: a budget it uses up leaves an empty, *starved* reply); a prefix of at
    least ``cache_min_words`` seen before is reported as cached (OpenAI always, Anthropic with
    ``cache_control``); streamed replies wait ``stream_gap`` seconds after their first event, and
    ``cut_stream_*`` cuts them half-way (no final event).
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
    cut_stream_first: int = 0
    cut_stream_rate: float = 0.0
    reasoning_words: int = 0
    cache_min_words: int = 1024
    stream_gap: float = 0.0


FIELDS = fields(Faults)
_FAULT_FIELDS = {f.name: f for f in FIELDS}
_BUDGETS = (
    "hang_first",
    "rate_limit_first",
    "overload_first",
    "error_first",
    "drop_first",
    "malformed_first",
    "cut_stream_first",
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
        self.prefixes: set[tuple[str, str, str]] = set()
        """Prompt prefixes cached so far: (api, model, prefix)."""
        self.bodies: deque[dict[str, Any]] = deque(maxlen=1000)
        """The latest request bodies (JSON), oldest first: what clients really sent."""

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

    def cut_stream(self) -> bool:
        """Whether to cut this streamed reply half-way (draws only while a rate is set)."""
        rate = self.faults.cut_stream_rate
        if self.take("cut_stream_first", rate, self.rng.random() if rate > 0 else 1.0):
            self.fired["cut_stream"] += 1
            return True
        return False

    def cache(self, api: str, model: str, prefix: str) -> tuple[int, int]:
        """(cached, written) words of a prompt prefix: cached when seen before, written the
        first time; (0, 0) when shorter than ``cache_min_words``."""
        words = word_count(prefix)
        if not prefix or words < self.faults.cache_min_words:
            return 0, 0
        key = (api, model, prefix)
        if key in self.prefixes:
            return words, 0
        self.prefixes.add(key)
        return 0, words

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
