"""Fake OpenAI / Anthropic HTTP server on 127.0.0.1 for tests and throughput benchmarks.

Stdlib only (asyncio streams), HTTP/1.1 with keep-alive.  Serves ``POST /v1/chat/completions``
(also ``/chat/completions``), ``POST /v1/responses`` (OpenAI's Responses API) and
``POST /v1/messages`` with deterministic replies and tool calls, streamed when the request asks
(server-sent events; see ``workbench.testing.mockreply``: reasoning and cached tokens, thinking
blocks, starved replies; ``workbench.testing.mocktools``: scripted, forced, parallel and
malformed tool calls, tool turns checked as the real APIs do), switchable faults and provider
limits (``Faults``: 429 storms, a hard cap on requests answered at once, overloads, 500s, hangs,
drops, cut streams), and control endpoints: ``GET /_stats``, ``POST /_control`` (JSON of
``Faults`` fields, ``answers``, ``tool_calls``, ``seed``) and ``POST /_reset`` (zero counters;
body ``{"config": true}`` also restores the initial config). The batch APIs of both (files,
batches: ``workbench.testing.mockbatch``) are served too, each line answered as its real-time
endpoint would; ``BatchFaults`` set how batches behave (``set_batch(...)``, or
``{"batch": {...}}`` to ``/_control``).

In process: ``with MockServer(faults=Faults(latency=0.01)) as srv: ...`` (own loop in a thread),
or ``async with AsyncMockServer(...)`` inside a running loop.  As a subprocess:
``python -m workbench.testing.mockserver --port 0 --latency 0.2`` prints ``READY <url>``.
Header values (API keys) are never stored: only whether an auth header was present; the latest
request bodies are kept (``bodies()``), to compare what a client sent with what it should have.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from workbench.testing.mockbatch import HANG, BatchFaults, MockBatches
from workbench.testing.mockcore import (
    BAD_USAGE_MODES,
    FIELDS,
    RETRY_AFTER_FORMATS,
    Api,
    ChatRequest,
    Faults,
    RequestError,
    State,
    error_body,
    malformed_body,
    parse_request,
    updated_faults,
)
from workbench.testing.mockhttp import (
    MAX_HEAD,
    HttpError,
    HttpRequest,
    read_request,
    response_head,
)
from workbench.testing.mockreply import first_token_event, make_reply, reply_body, reply_events

__all__ = ["AsyncMockServer", "BatchFaults", "Faults", "MockServer", "main"]

T = TypeVar("T")
HOST = "127.0.0.1"
HANG_SECONDS = 3600.0
MAX_REQUESTS_PER_CONNECTION = 100_000
ROUTES: dict[str, Api] = {
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
    "/v1/responses": "responses",
    "/responses": "responses",
    "/v1/messages": "anthropic",
}


class AsyncMockServer:
    """The mock server inside the running event loop (``async with AsyncMockServer() as srv``)."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        answers: Mapping[str, str] | None = None,
        seed: int = 0,
        port: int = 0,
        idle_timeout: float = 60.0,
        tool_calls: Mapping[str, Any] | None = None,
        batch: BatchFaults | None = None,
    ) -> None:
        self.state = State(faults or Faults(), answers or {}, seed, tool_calls)
        self.batches = MockBatches(batch, self.state)
        self.port = port
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def url(self) -> str:
        """Base URL without ``/v1``."""
        return f"http://{HOST}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    async def start(self) -> None:
        """Start listening on 127.0.0.1 (``port`` 0 picks a free port)."""
        self._closing = False
        self._server = await asyncio.start_server(
            self._serve_connection, HOST, self.port, backlog=2048, limit=MAX_HEAD
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cancel every connection, hung ones included (well under 1 s)."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 0.5)

    async def __aenter__(self) -> AsyncMockServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        return {**self.state.snapshot(), "batches": self.batches.snapshot()}

    def set_faults(self, **updates: object) -> Faults:
        """Update fault switches (and ``answers``/``seed``); returns the new ``Faults``."""
        self.state.apply(updates)
        return dataclasses.replace(self.state.faults)

    def set_batch(self, **updates: Any) -> BatchFaults:
        """Update how batches behave (``BatchFaults`` fields); returns the new settings."""
        return self.batches.apply(updates)

    def reset(self, *, config: bool = False) -> None:
        """Zero the counters; with ``config=True`` also restore the initial faults and answers."""
        self.state.reset_counters()
        self.batches.reset_counters()
        if config:
            self.state.restore()
            self.batches.restore()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.state.connections += 1
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                try:
                    req = await read_request(reader, writer, self.idle_timeout)
                except HttpError as exc:
                    body = error_body("openai", exc.status, exc.message)
                    await self._send(writer, exc.status, body, False)
                    break
                if req is None or not await self._dispatch(req, writer) or self._closing:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:  # stop(): end quietly (3.11 streams log a cancelled task)
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: Mapping[str, Any] | bytes,
        keep_alive: bool,
        extra: Sequence[tuple[str, str]] = (),
        count: bool = True,
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if count:
            self.state.by_status[str(status)] += 1
        writer.write(response_head(status, len(raw), keep_alive, extra) + raw)
        await writer.drain()

    async def _dispatch(self, req: HttpRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection stays open."""
        if req.path in ("/_stats", "/_control", "/_reset"):
            await self._control(req, writer)
            return req.keep_alive
        st = self.state
        st.requests += 1
        st.by_path[req.path] += 1
        if req.headers.get("authorization") or req.headers.get("x-api-key"):
            st.auth_present += 1
        api = ROUTES.get(req.path)
        guess: Api = "anthropic" if "anthropic-version" in req.headers else "openai"
        batch_reply = None if api else self.batches.route(req)
        if batch_reply == HANG:
            await asyncio.sleep(HANG_SECONDS)
            return False
        if batch_reply is not None:
            status, body = batch_reply
            await self._send(writer, status, body, req.keep_alive, self._ids(guess))
            return req.keep_alive
        if api is None:
            body = error_body(guess, 404, f"Unknown path {req.path}")
            await self._send(writer, 404, body, req.keep_alive)
            return req.keep_alive
        if req.method != "POST":
            body = error_body(api, 405, f"Method {req.method} not allowed")
            await self._send(writer, 405, body, req.keep_alive, [("Allow", "POST")])
            return req.keep_alive
        if st.over_capacity():  # turned away at once: never counted as in flight
            st.over_capacity_refused += 1
            return await self._refuse(api, req, writer, 429)
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            return await self._answer(api, req, writer)
        except ConnectionError:
            raise
        except Exception as exc:  # a bug in the mock itself: say so loudly, keep serving
            st.internal_errors += 1
            body = error_body(api, 500, f"mock internal error: {exc!r}")
            await self._send(writer, 500, body, False)
            return False
        finally:
            st.in_flight -= 1

    def _ids(self, api: Api) -> list[tuple[str, str]]:
        rid = f"req_mock{self.state.requests:012d}"
        return [("x-request-id" if api == "openai" else "request-id", rid)]

    async def _refuse(
        self, api: Api, req: HttpRequest, writer: asyncio.StreamWriter, status: int
    ) -> bool:
        """Answer a 429 (with the wait it asks for) or an overload (Anthropic 529, OpenAI 503)."""
        if status == 429:
            headers = [*self._ids(api), *self.state.retry_after_headers(api)]
            text = "Rate limit reached (mock). Please try again later."
        else:
            headers, text = self._ids(api), "Overloaded (mock). Please try again later."
        await self._send(writer, status, error_body(api, status, text), req.keep_alive, headers)
        return req.keep_alive

    async def _answer(self, api: Api, req: HttpRequest, writer: asyncio.StreamWriter) -> bool:
        st = self.state
        ids = self._ids(api)
        fault = st.early_fault()
        if fault == "hang":
            st.fired["hang"] += 1
            await asyncio.sleep(HANG_SECONDS)
            return False
        if fault == "rate_limit":
            st.fired["rate_limit"] += 1
            return await self._refuse(api, req, writer, 429)
        if fault == "overload":
            st.fired["overload"] += 1
            return await self._refuse(api, req, writer, 529 if api == "anthropic" else 503)
        try:
            chat = parse_request(api, req.body)
        except RequestError as exc:
            body = error_body(api, exc.status, exc.message)
            await self._send(writer, exc.status, body, req.keep_alive, ids)
            return req.keep_alive
        fault, delay = st.late_fault()
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "error":
            st.fired["error"] += 1
            body = error_body(api, 500, "The server had an error processing your request (mock).")
            await self._send(writer, 500, body, req.keep_alive, ids)
            return req.keep_alive
        with contextlib.suppress(ValueError):  # parse_request checked it: it is JSON
            st.bodies.append(json.loads(req.body))
        cache = st.cache(api, chat.model, chat.prefix) if chat.caches else (0, 0)
        reply = make_reply(chat, st.answers, st.faults.reasoning_words, cache, st.tool_calls)
        if chat.stream:
            return await self._stream(chat, reply, req, writer, ids, fault)
        answer = reply_body(chat, reply, None if fault else st.usage_mode())
        if fault == "drop":
            st.fired["drop"] += 1
            raw = json.dumps(answer).encode()
            st.by_status["200"] += 1
            writer.write(response_head(200, len(raw), True, ids) + raw[: len(raw) // 2])
            await writer.drain()
            for _ in range(100):  # let the partial body reach the socket before aborting
                if writer.transport.get_write_buffer_size() == 0:
                    break
                await asyncio.sleep(0.001)
            writer.transport.abort()
            return False
        if fault == "malformed":
            st.fired["malformed"] += 1
            await self._send(writer, 200, malformed_body(answer), req.keep_alive, ids)
            return req.keep_alive
        await self._send(writer, 200, answer, req.keep_alive, ids)
        st.successes += 1
        st.fingerprints[chat.fingerprint] += 1
        return req.keep_alive

    async def _stream(
        self,
        chat: ChatRequest,
        reply: Any,
        req: HttpRequest,
        writer: asyncio.StreamWriter,
        ids: list[tuple[str, str]],
        fault: str | None,
    ) -> bool:
        """Answer with server-sent events: up to the first token, then (after ``stream_gap``) the
        rest — or,
        for a cut stream (or a ``drop``), half of them and a dropped connection; ``malformed``
        sends an event that is not JSON."""
        st = self.state
        events = reply_events(chat, reply, None if fault else st.usage_mode())
        if fault == "malformed":
            st.fired["malformed"] += 1
            events.insert(1, b"data: " + events[1].split(b"data: ", 1)[-1][:12] + b"\n\n")
        payload = b"".join(events)
        head = response_head(200, len(payload), req.keep_alive, ids, "text/event-stream")
        st.by_status["200"] += 1
        if fault == "drop":
            st.fired["drop"] += 1
        if fault == "drop" or st.cut_stream():
            writer.write(head + b"".join(events[: max(1, len(events) // 2)]))
            await writer.drain()
            await asyncio.sleep(0.01)  # let the partial stream reach the client first
            writer.transport.abort()
            return False
        split = first_token_event(chat, reply) + 1
        writer.write(head + b"".join(events[:split]))
        if st.faults.stream_gap > 0:
            await writer.drain()
            await asyncio.sleep(st.faults.stream_gap)
        writer.write(b"".join(events[split:]))
        await writer.drain()
        if fault is None:
            st.successes += 1
            st.fingerprints[chat.fingerprint] += 1
        return req.keep_alive

    def bodies(self) -> list[dict[str, Any]]:
        """The latest request bodies the API answered, oldest first (at most 1,000)."""
        return list(self.state.bodies)

    async def _control(self, req: HttpRequest, writer: asyncio.StreamWriter) -> None:
        expected = "GET" if req.path == "/_stats" else "POST"
        try:
            if req.method != expected:
                raise ValueError(f"use {expected} for {req.path}")
            data = json.loads(req.body) if req.body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            if req.path == "/_control":
                batch = data.pop("batch", None)
                if batch is not None:
                    if not isinstance(batch, dict):
                        raise ValueError("batch must be an object of BatchFaults fields")
                    self.batches.apply(batch)
                self.set_faults(**data)
            elif req.path == "/_reset":
                self.reset(config=bool(data.get("config")))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            body = {"error": {"message": str(exc)}}
            await self._send(writer, 400, body, req.keep_alive, count=False)
            return
        await self._send(writer, 200, self.stats(), req.keep_alive, count=False)


class MockServer:
    """``AsyncMockServer`` on its own event loop in a daemon thread; all methods are thread-safe."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        answers: Mapping[str, str] | None = None,
        seed: int = 0,
        port: int = 0,
        tool_calls: Mapping[str, Any] | None = None,
        batch: BatchFaults | None = None,
    ) -> None:
        """``tool_calls``: calls to make by last user text, ``{"text": [{"name": "lookup",
        "arguments": {...} or "raw JSON text"}]}`` (see ``workbench.testing.mocktools``);
        ``batch``: how the batch APIs behave."""
        self._server = AsyncMockServer(
            faults, answers=answers, seed=seed, port=port, tool_calls=tool_calls, batch=batch
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        return self._server.url

    @property
    def openai_base_url(self) -> str:
        return self._server.openai_base_url

    @property
    def anthropic_base_url(self) -> str:
        return self._server.anthropic_base_url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> MockServer:
        """Start listening (returns once the port is bound)."""
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as exc:
                started.set_exception(exc)
                loop.close()
                return
            started.set_result(None)
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"mockserver-{id(self)}", daemon=True)
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop the server and its thread; cancels hung requests."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._server.stop(), loop).result(timeout=3)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=3)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            return fn()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(fn())
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=10)

    def stats(self) -> dict[str, Any]:
        """Counters, like ``GET /_stats``."""
        return self._call(self._server.stats)

    def set_faults(self, **updates: object) -> Faults:
        """Update fault switches (and ``answers``/``seed``); ``ValueError`` on a bad value."""
        return self._call(lambda: self._server.set_faults(**updates))

    def set_batch(self, **updates: Any) -> BatchFaults:
        """Update how batches behave (``BatchFaults`` fields); ``ValueError`` on a bad value."""
        return self._call(lambda: self._server.set_batch(**updates))

    def set_answers(self, answers: Mapping[str, str]) -> None:
        """Replace the answers mapping (last user text -> reply)."""
        self.set_faults(answers=dict(answers))

    def set_tool_calls(self, tool_calls: Mapping[str, Any]) -> None:
        """Replace the scripted tool calls (last user text -> calls)."""
        self.set_faults(tool_calls=dict(tool_calls))

    def reset(self, *, config: bool = False) -> None:
        """Zero the counters; with ``config=True`` also restore the initial faults and answers."""
        self._call(lambda: self._server.reset(config=config))

    def bodies(self) -> list[dict[str, Any]]:
        """The latest request bodies (JSON) the API answered, oldest first: exactly what the
        client sent, to compare with what it should have (at most 1,000)."""
        return self._call(self._server.bodies)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workbench.testing.mockserver", description="Fake OpenAI/Anthropic API."
    )
    add = parser.add_argument
    add("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    add("--seed", type=int, default=0, help="seed of the fault / jitter RNG")
    add("--answers", metavar="JSON_FILE", help="JSON object: last user text -> reply")
    add("--max-seconds", type=float, default=3600.0, help="exit after this long")
    for f in FIELDS:
        flag = "--" + f.name.replace("_", "-")
        if f.name == "bad_usage":
            modes = ["cycle", *BAD_USAGE_MODES]
            add(flag, nargs="?", const="cycle", default=False, choices=modes)
        elif f.name == "retry_after_format":
            add(flag, default=f.default, choices=RETRY_AFTER_FORMATS)
        else:
            add(flag, type=type(f.default), default=f.default, metavar="N")
    return parser


async def _serve(server: AsyncMockServer, max_seconds: float) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {server.url}", flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max_seconds)
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: serve until SIGTERM/SIGINT (or ``--max-seconds``), then exit 0."""
    args = _parser().parse_args(argv)
    try:
        faults = updated_faults(Faults(), {f.name: getattr(args, f.name) for f in FIELDS})
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    answers: dict[str, str] = {}
    if args.answers:
        with open(args.answers, encoding="utf-8") as fh:
            answers = json.load(fh)
    server = AsyncMockServer(faults, answers=answers, seed=args.seed, port=args.port)
    asyncio.run(_serve(server, args.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
