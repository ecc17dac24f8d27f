"""The mock server's replies, as today's models give them: reasoning first (within the output
budget, so a small one leaves an empty *starved* reply), prompt-cache usage, thinking blocks and
reasoning summaries, structured output, tool calls (``workbench.testing.mocktools`` plans them) —
as one body, or as the server-sent events of a stream, for OpenAI Chat Completions, OpenAI
Responses and Anthropic Messages. Words are the tokens."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.testing.mockcore import CREATED, ChatRequest, word_count
from workbench.testing.mocktools import planned_calls, tool_reply

__all__ = ["Reply", "first_token_event", "make_reply", "reply_body", "reply_events", "reply_text"]

_STOP = {"length": "max_tokens", "tool_calls": "tool_use"}
"""Anthropic's ``stop_reason`` for a finish other than ``stop`` (``end_turn``)."""
_SCHEMA_REPLY = '{"answer": "mock"}'
"""What a request asking for a JSON Schema output gets when ``answers`` has nothing for it."""


@dataclass(frozen=True)
class Reply:
    """One reply, before it is shaped for an API."""

    text: str
    reasoning: str
    finish: str
    """``stop``, ``length`` (the budget ran out) or ``tool_calls``."""
    input_words: int
    cached: int
    written: int
    calls: tuple[dict[str, Any], ...] = ()
    """Tool calls in the shape of the request's API (then ``text`` is empty)."""
    call_words: int = 0

    @property
    def reasoning_words(self) -> int:
        return word_count(self.reasoning)

    @property
    def output_words(self) -> int:
        return word_count(self.text) + self.reasoning_words + self.call_words


def reply_text(req: ChatRequest, answers: Mapping[str, str]) -> str:
    """The full answer: ``answers[last user text]``, else ``mock: <last user text>`` (a small
    JSON object when a JSON Schema output was asked for)."""
    text = answers.get(req.last_user)
    if text is None:
        text = _SCHEMA_REPLY if req.schema else "mock: " + req.last_user
    return text


def make_reply(
    req: ChatRequest,
    answers: Mapping[str, str],
    reasoning_words: int,
    cache: tuple[int, int],
    scripted: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> Reply:
    """Reason ``reasoning_words`` words, then answer, all within ``req.max_words``; or call the
    tools ``scripted`` (calls by last user text) and ``tool_choice`` ask for."""
    budget = req.max_words
    thought = min(reasoning_words, budget) if budget is not None else reasoning_words
    planned = planned_calls(req.tools, req.last_user, scripted or {})
    if planned:
        calls, size = tool_reply(req.api, req.fingerprint, planned)
        reasoning = " ".join(f"step{i + 1}" for i in range(thought))
        return Reply("", reasoning, "tool_calls", req.input_words, *cache, tuple(calls), size)
    words = reply_text(req, answers).split()
    room = None if budget is None else budget - thought
    cut = room is not None and len(words) > room
    text = " ".join(words[:room] if cut else words)
    reasoning = " ".join(f"step{i + 1}" for i in range(thought))
    return Reply(text, reasoning, "length" if cut else "stop", req.input_words, *cache)


def _spoil(usage: dict[str, Any], mode: str) -> dict[str, Any] | None:
    if mode == "missing":
        return None
    if mode == "wrong_type":  # a numeric string, null, a float: in turn over the fields
        spoil = (str, lambda v: None, lambda v: v + 0.5)
        return {k: spoil[i % 3](v) for i, (k, v) in enumerate(usage.items())}
    return {k: -1 - v for k, v in usage.items()}


def _usage(req: ChatRequest, r: Reply, bad_usage: str | None) -> dict[str, Any] | None:
    """The usage block of ``req.api`` (``bad_usage`` spoils its counts)."""
    out = r.output_words * req.n
    usage: dict[str, Any]
    if req.api == "anthropic":
        fresh = r.input_words - r.cached - r.written
        usage = {"input_tokens": fresh, "output_tokens": out}
        details_in = {"cache_read_input_tokens": r.cached, "cache_creation_input_tokens": r.written}
    elif req.api == "responses":
        usage = {"input_tokens": r.input_words, "output_tokens": out}
        usage["total_tokens"] = r.input_words + out
        details_in = {}
    else:
        usage = {"prompt_tokens": r.input_words, "completion_tokens": out}
        usage["total_tokens"] = r.input_words + out
        details_in = {}
    if bad_usage:
        return _spoil(usage, bad_usage)
    if req.api == "anthropic":
        if req.caches:
            usage.update(details_in)
        if r.reasoning_words:
            usage["output_tokens_details"] = {"thinking_tokens": r.reasoning_words}
    elif req.api == "responses":
        usage["input_tokens_details"] = {"cached_tokens": r.cached, "cache_write_tokens": r.written}
        usage["output_tokens_details"] = {"reasoning_tokens": r.reasoning_words}
    else:
        if r.cached or r.written:
            usage["prompt_tokens_details"] = {
                "cached_tokens": r.cached,
                "cache_write_tokens": r.written,
            }
        if r.reasoning_words:
            usage["completion_tokens_details"] = {"reasoning_tokens": r.reasoning_words}
    return usage


def _anthropic_content(req: ChatRequest, r: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if req.shows_reasoning and r.reasoning:
        blocks.append({"type": "thinking", "thinking": r.reasoning, "signature": "mock-signature"})
    if r.calls:
        blocks.extend(r.calls)
    elif r.text or not blocks:
        blocks.append({"type": "text", "text": r.text})
    return blocks


def _responses_output(req: ChatRequest, r: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if r.reasoning:
        summary = [{"type": "summary_text", "text": r.reasoning}] if req.shows_reasoning else []
        items.append({"type": "reasoning", "id": "rs_mock", "summary": summary})
    if r.calls:
        items.extend(r.calls)
    elif r.text or not items:
        part = {"type": "output_text", "text": r.text, "annotations": []}
        items.append(
            {
                "type": "message",
                "id": "msg_mock",
                "role": "assistant",
                "status": "completed",
                "content": [part],
            }
        )
    return items


def reply_body(req: ChatRequest, r: Reply, bad_usage: str | None = None) -> dict[str, Any]:
    """The non-streamed reply body of ``req.api``."""
    body: dict[str, Any]
    if req.api == "anthropic":
        body = {
            "id": "msg_mock" + req.fingerprint[:24],
            "type": "message",
            "role": "assistant",
            "model": req.model,
            "content": _anthropic_content(req, r),
            "stop_reason": _STOP.get(r.finish, "end_turn"),
            "stop_sequence": None,
        }
    elif req.api == "responses":
        incomplete = r.finish == "length"
        body = {
            "id": "resp_mock" + req.fingerprint[:24],
            "object": "response",
            "created_at": CREATED,
            "status": "incomplete" if incomplete else "completed",
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "model": req.model,
            "output": _responses_output(req, r),
            "service_tier": "default",
        }
    else:
        message: dict[str, Any] = {"role": "assistant", "content": r.text, "refusal": None}
        message["annotations"] = []
        if r.calls:
            message.update(content=None, tool_calls=list(r.calls))
        choice = {"message": message, "logprobs": None, "finish_reason": r.finish}
        body = {
            "id": "chatcmpl-mock" + req.fingerprint[:24],
            "object": "chat.completion",
            "created": CREATED,
            "model": req.model,
            "choices": [{"index": i, **choice} for i in range(req.n)],
            "system_fingerprint": None,
        }
    usage = _usage(req, r, bad_usage)
    if usage is not None:
        body["usage"] = usage
    return body


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {text}\n\n".encode()


def _pieces(text: str) -> list[str]:
    """A text as streamed deltas: one word each, spaces kept."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def _arguments(value: Any) -> str:
    """A call's arguments as the text streamed (malformed text as it is)."""
    return value if isinstance(value, str) else json.dumps(value)


def reply_events(req: ChatRequest, r: Reply, bad_usage: str | None = None) -> list[bytes]:
    """The server-sent events of the streamed reply of ``req.api``, in order."""
    full = reply_body(req, r, bad_usage)
    if req.api == "anthropic":
        return _anthropic_events(req, r, full)
    if req.api == "responses":
        return _responses_events(req, r, full)
    head = {k: full[k] for k in ("id", "model")}
    head.update(object="chat.completion.chunk", created=CREATED)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse(None, {**head, "choices": [choice]})

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in _pieces(r.text)]
    for index, call in enumerate(r.calls):  # id and name first, then the arguments in pieces
        function = {"name": call["function"]["name"], "arguments": ""}
        opening = {"index": index, "id": call["id"], "type": "function", "function": function}
        out.append(chunk({"tool_calls": [opening]}))
        for piece in _pieces(call["function"]["arguments"]):
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    out.append(chunk({}, r.finish))
    out.append(_sse(None, {**head, "choices": [], "usage": full.get("usage")}))
    out.append(_sse(None, "[DONE]"))
    return out


def _anthropic_events(req: ChatRequest, r: Reply, full: dict[str, Any]) -> list[bytes]:
    usage = dict(full.get("usage") or {})
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens_details"}
    if "output_tokens" in start_usage:
        start_usage["output_tokens"] = 1  # as the real API: the count so far
    message = {k: v for k, v in full.items() if k not in ("content", "usage")}
    message.update(content=[], stop_reason=None, usage=start_usage)
    out = [_sse("message_start", {"type": "message_start", "message": message})]
    for index, block in enumerate(full["content"]):
        kind = block["type"]
        if kind == "tool_use":  # input {} at the start, then its JSON text in pieces
            empty = {**block, "input": {}}
            text, key, delta_type = _arguments(block["input"]), "partial_json", "input_json_delta"
        else:
            empty = {**block, kind: ""}
            text, key = block[kind], kind
            delta_type = "thinking_delta" if kind == "thinking" else "text_delta"
        out.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": empty},
            )
        )
        for piece in _pieces(text):
            delta = {"type": delta_type, key: piece}
            out.append(
                _sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    end: dict[str, Any] = {"stop_reason": full["stop_reason"], "stop_sequence": None}
    out.append(_sse("message_delta", {"type": "message_delta", "delta": end, "usage": usage}))
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return out


def _responses_events(req: ChatRequest, r: Reply, full: dict[str, Any]) -> list[bytes]:
    pending: dict[str, Any] = {**full, "status": "in_progress", "output": []}
    pending["usage"] = None
    out = [_sse("response.created", {"type": "response.created", "response": pending})]
    for kind, text in (
        ("response.reasoning_summary_text.delta", r.reasoning if req.shows_reasoning else ""),
        ("response.output_text.delta", r.text),
    ):
        out += [_sse(kind, {"type": kind, "delta": piece}) for piece in _pieces(text)]
    first = len(full["output"]) - len(r.calls)
    for index, item in enumerate(r.calls, start=first):
        out += _responses_call_events(index, item)
    done = "response.incomplete" if full["status"] == "incomplete" else "response.completed"
    out.append(_sse(done, {"type": done, "response": full}))
    return out


def _responses_call_events(index: int, item: Mapping[str, Any]) -> list[bytes]:
    """A ``function_call`` output item streamed: added, its arguments in pieces, done."""
    at = {"output_index": index, "item_id": item["id"]}
    kind = "response.output_item.added"
    opened = {**item, "arguments": "", "status": "in_progress"}
    out = [_sse(kind, {"type": kind, "output_index": index, "item": opened})]
    kind = "response.function_call_arguments.delta"
    out += [
        _sse(kind, {"type": kind, **at, "delta": piece}) for piece in _pieces(item["arguments"])
    ]
    kind = "response.function_call_arguments.done"
    out.append(_sse(kind, {"type": kind, **at, "arguments": item["arguments"]}))
    kind = "response.output_item.done"
    out.append(_sse(kind, {"type": kind, "output_index": index, "item": dict(item)}))
    return out


def first_token_event(req: ChatRequest, r: Reply) -> int:
    """Index in :func:`reply_events` of the first event carrying a token (after the role chunk,
    ``response.created``, or ``message_start`` and the first block's start; a Responses tool
    call's first argument piece follows its ``output_item.added``)."""
    if req.api == "anthropic":
        return 2
    if req.api == "responses" and r.calls and not (req.shows_reasoning and r.reasoning):
        return 2
    return 1
