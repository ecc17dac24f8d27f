"""Tests of the fake LLM API server, driven by the real openai / anthropic SDKs and raw HTTP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from workbench.testing.mockcore import CREATED, canonical_json
from workbench.testing.mockserver import Faults, MockServer

ROOT = Path(__file__).resolve().parents[1]
USER: Any = [{"role": "user", "content": "hello big world"}]


@pytest.fixture
def srv() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def oai(server: MockServer, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0, **kw)


def ant(server: MockServer, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="test", max_retries=0, **kw
    )


def chat(server: MockServer, **kw: Any) -> Any:
    return oai(server).chat.completions.create(model="gpt-mock", messages=USER, **kw)


def msg(server: MockServer, **kw: Any) -> Any:
    kw.setdefault("max_tokens", 50)
    return ant(server).messages.create(model="claude-mock", messages=USER, **kw)


def request(
    server: MockServer, method: str, path: str, body: object = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_exchange(server: MockServer, data: bytes) -> bytes:
    """Send raw bytes; read until the server closes the connection (or 3 s pass)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
        sock.sendall(data)
        chunks = []
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_openai_reply_usage_and_determinism(srv: MockServer) -> None:
    messages: Any = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "two words"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "what now"},
    ]
    client = oai(srv)
    first = client.chat.completions.create(model="gpt-mock", messages=messages, temperature=0)
    again = client.chat.completions.create(model="gpt-mock", messages=messages, temperature=0)
    assert first.choices[0].message.content == "mock: what now"
    assert first.choices[0].finish_reason == "stop"
    assert first.object == "chat.completion"
    assert first.model == "gpt-mock"
    assert first.created == CREATED
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (7, 3)
    assert first.usage.total_tokens == 10
    assert first.model_dump() == again.model_dump()
    assert srv.stats()["connections"] == 1  # the SDK's pool kept the connection alive


def test_anthropic_reply_usage(srv: MockServer) -> None:
    system = [{"type": "text", "text": "be"}, {"type": "text", "text": "brief please"}]
    reply = msg(srv, system=system)
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert reply.model == "claude-mock"
    assert [b.type for b in reply.content] == ["text"]
    assert reply.content[0].text == "mock: hello big world"
    assert reply.stop_reason == "end_turn"
    assert reply.stop_sequence is None
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (6, 4)
    assert msg(srv, system=system).model_dump() == reply.model_dump()
    assert msg(srv, system="x").usage.input_tokens == 4


def test_max_tokens_truncates(srv: MockServer) -> None:
    cut = chat(srv, max_completion_tokens=2)
    assert cut.choices[0].message.content == "mock: hello"
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None
    assert cut.usage.completion_tokens == 2
    assert chat(srv, max_tokens=3).choices[0].finish_reason == "length"
    assert chat(srv, max_tokens=4).choices[0].finish_reason == "stop"
    reply = msg(srv, max_tokens=1)
    assert reply.content[0].text == "mock:"
    assert reply.stop_reason == "max_tokens"
    assert reply.usage.output_tokens == 1


def test_answers_mapping() -> None:
    with MockServer(answers={"hello big world": "Paris"}) as srv:
        assert chat(srv).choices[0].message.content == "Paris"
        assert msg(srv).content[0].text == "Paris"
        srv.set_answers({"hello big world": "one two three"})
        assert msg(srv, max_tokens=2).content[0].text == "one two"


def test_rate_limit_openai(srv: MockServer) -> None:
    srv.set_faults(rate_limit_first=1, retry_after=0.2)
    with pytest.raises(openai.RateLimitError) as info:
        chat(srv)
    headers = info.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("0.2", "200")
    assert info.value.body == {
        "message": "Rate limit reached (mock). Please try again later.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert chat(srv).choices[0].message.content == "mock: hello big world"
    srv.set_faults(rate_limit_first=1, retry_after=0.2)
    start = time.monotonic()
    retrying = oai(srv).with_options(max_retries=1)
    retrying.chat.completions.create(model="gpt-mock", messages=USER)
    assert time.monotonic() - start >= 0.2  # the SDK waited Retry-After
    stats = srv.stats()
    assert stats["by_status"] == {"429": 2, "200": 2}
    assert stats["faults_fired"]["rate_limit"] == 2


def test_rate_limit_anthropic(srv: MockServer) -> None:
    srv.set_faults(rate_limit_first=1, retry_after=1)
    with pytest.raises(anthropic.RateLimitError) as info:
        msg(srv)
    assert info.value.response.headers["retry-after"] == "1"
    assert "retry-after-ms" not in info.value.response.headers
    assert info.value.body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Rate limit reached (mock). Please try again later.",
        },
    }
    assert info.value.type == "rate_limit_error"
    srv.set_faults(rate_limit_every=3)
    statuses = [request(srv, "POST", "/v1/messages", {})[0] for _ in range(6)]
    assert statuses == [400, 400, 429, 400, 400, 429]


def test_server_error(srv: MockServer) -> None:
    srv.set_faults(error_first=2)
    with pytest.raises(openai.InternalServerError):
        chat(srv)
    with pytest.raises(anthropic.InternalServerError) as info:
        msg(srv)
    assert info.value.type == "api_error"
    assert chat(srv).choices
    assert srv.stats()["faults_fired"]["error"] == 2


def test_random_faults_follow_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with MockServer(Faults(error_rate=0.5), seed=seed) as srv:
            body = {"model": "m", "messages": USER}
            return [request(srv, "POST", "/v1/chat/completions", body)[0] for _ in range(30)]

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) == {200, 500}
    assert first != statuses(8)


def test_hang_times_out_and_stop_is_quick() -> None:
    srv = MockServer(Faults(hang_first=3)).start()
    try:
        with pytest.raises(openai.APITimeoutError):
            oai(srv, timeout=0.3).chat.completions.create(model="m", messages=USER)
        with pytest.raises(anthropic.APITimeoutError):
            ant(srv, timeout=0.3).messages.create(model="m", max_tokens=5, messages=USER)
        hung = socket.create_connection(("127.0.0.1", srv.port))
        body = json.dumps({"model": "m", "messages": USER}).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n"
        hung.sendall(head.encode() + body)
        for _ in range(100):
            if srv.stats()["faults_fired"]["hang"] == 3:
                break
            time.sleep(0.01)
        assert srv.stats()["in_flight"] >= 1
    finally:
        start = time.monotonic()
        srv.stop()
        elapsed = time.monotonic() - start
    assert elapsed < 5.0  # ~ms here; a hung request would hold it for an hour
    hung.settimeout(2)
    assert hung.recv(100) == b""  # closed by the server, never answered
    hung.close()


def test_drop_is_a_connection_error(srv: MockServer) -> None:
    srv.set_faults(drop_first=2)
    with pytest.raises(openai.APIConnectionError) as oinfo:
        chat(srv)
    assert isinstance(oinfo.value.__cause__, httpx2.RemoteProtocolError)
    with pytest.raises(anthropic.APIConnectionError):
        msg(srv)
    stats = srv.stats()
    assert stats["faults_fired"]["drop"] == 2
    assert stats["successes"] == 0


def test_malformed_body_raises_json_error(srv: MockServer) -> None:
    # Both SDKs let the json.JSONDecodeError through: it is not one of their APIError classes.
    srv.set_faults(malformed_first=2)
    with pytest.raises(json.JSONDecodeError) as oinfo:
        chat(srv)
    assert not isinstance(oinfo.value, openai.APIError)
    with pytest.raises(json.JSONDecodeError):
        msg(srv)
    assert srv.stats()["successes"] == 0
    srv.set_faults(malformed_rate=1.0)
    payload = {"model": "m", "max_tokens": 9, "messages": USER}
    status, headers, body = request(srv, "POST", "/v1/messages", payload)
    assert status == 200
    assert headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_bad_usage_modes(srv: MockServer) -> None:
    srv.set_faults(bad_usage=True)  # cycles: missing, wrong_type, negative
    assert chat(srv).usage is None
    wrong = chat(srv).usage
    assert wrong is not None
    # The model failed validation (null completion_tokens), so the SDK kept the raw values.
    assert (wrong.prompt_tokens, wrong.completion_tokens) == ("3", None)
    assert wrong.total_tokens == 7.5
    negative = chat(srv).usage
    assert negative is not None
    assert negative.prompt_tokens == -4
    srv.set_faults(bad_usage="wrong_type")
    usage = msg(srv).usage
    assert (usage.input_tokens, usage.output_tokens) == ("3", None)  # anthropic: no coercion
    assert srv.stats()["faults_fired"]["bad_usage"] == 4


def test_stats_fingerprints_and_control(srv: MockServer) -> None:
    body = {"model": "gpt-mock", "messages": USER}
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    chat(srv)
    chat(srv)
    request(srv, "POST", "/v1/chat/completions", body)  # no auth header
    status, _, raw = request(srv, "GET", "/_stats")
    stats = json.loads(raw)
    assert status == 200
    assert stats["requests_total"] == 3
    assert stats["by_path"] == {"/v1/chat/completions": 3}
    assert stats["by_status"] == {"200": 3}
    assert stats["successes"] == 3
    assert stats["fingerprints"] == {digest: 3}
    assert stats["auth_present"] == 2
    assert "sk-test" not in raw.decode()
    assert set(stats["faults_fired"]) == {
        "hang", "rate_limit", "overload", "error", "drop", "malformed", "bad_usage", "cut_stream"
    }  # fmt: skip
    status, _, raw = request(srv, "POST", "/_control", {"error_first": 1, "answers": {"a": "b"}})
    assert status == 200
    assert json.loads(raw)["config"]["error_first"] == 1
    assert request(srv, "POST", "/v1/chat/completions", body)[0] == 500
    assert request(srv, "POST", "/_control", {"nope": 1})[0] == 400
    assert request(srv, "POST", "/_control", {"error_rate": 2})[0] == 400
    assert request(srv, "POST", "/_control", b"[1]")[0] == 400
    assert request(srv, "GET", "/_control")[0] == 400  # every /_ endpoint error is a 400
    assert request(srv, "POST", "/_reset")[0] == 200
    zero = srv.stats()
    assert (zero["requests_total"], zero["successes"], zero["fingerprints"]) == (0, 0, {})
    with pytest.raises(ValueError, match="unknown setting"):
        srv.set_faults(latncy=1)
    srv.set_faults(latency=0.5)
    srv.reset(config=True)
    assert srv.stats()["config"]["latency"] == 0.0


def test_raw_http_behaviour(srv: MockServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    body = json.dumps({"model": "m", "messages": USER})
    for _ in range(3):  # keep-alive: one connection, three requests
        conn.request("POST", "/chat/completions", body=body)
        resp = conn.getresponse()
        assert resp.getheader("Connection") == "keep-alive"
        assert json.loads(resp.read())["choices"][0]["message"]["content"].startswith("mock:")
    conn.request("POST", "/v1/messages", body="{not json", headers={"Connection": "close"})
    resp = conn.getresponse()
    assert resp.status == 400
    assert resp.getheader("Connection") == "close"
    error = json.loads(resp.read())
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    conn.close()
    assert srv.stats()["connections"] == 1
    status, _, raw = request(srv, "POST", "/v1/chat/completions", {"model": "m"})
    assert status == 400
    assert set(json.loads(raw)["error"]) == {"message", "type", "param", "code"}
    assert request(srv, "POST", "/v1/nothing", {})[0] == 404
    status, headers, _ = request(srv, "GET", "/v1/messages")
    assert (status, headers["allow"]) == (405, "POST")
    assert request(srv, "POST", "/v1/messages", {"model": "m", "messages": USER})[0] == 400
    assert raw_exchange(srv, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    chunk = b'{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}'
    chunked = (
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    reply = raw_exchange(srv, chunked)
    assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert b'"text": "mock: hi"' in reply
    pipelined = raw_exchange(
        srv, b"GET /_stats HTTP/1.1\r\n\r\nGET /_stats HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    assert pipelined.count(b"HTTP/1.1 200 OK") == 2


async def _raw_chat(port: int, text: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    headers = await reader.readuntil(b"\r\n\r\n")
    length = int(headers.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    reply = json.loads(await reader.readexactly(length))
    writer.close()
    return str(reply["choices"][0]["message"]["content"])


def test_200_concurrent_requests_with_latency() -> None:
    async def run(port: int) -> list[str]:
        return await asyncio.gather(*(_raw_chat(port, f"n {i}") for i in range(200)))

    with MockServer(Faults(latency=0.2, jitter=0.01)) as srv:
        start = time.monotonic()
        contents = asyncio.run(run(srv.port))
        elapsed = time.monotonic() - start
        stats = srv.stats()
    assert contents == [f"mock: n {i}" for i in range(200)]
    assert 0.2 <= elapsed < 5.0  # ~0.3 s here; loose bound for slow CI machines
    assert stats["max_in_flight"] == 200
    assert stats["successes"] == len(stats["fingerprints"]) == 200


def test_async_sdk_concurrency() -> None:
    async def run(srv: MockServer) -> list[str | None]:
        client = openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
        async with client:
            calls = [
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"n {i}"}]
                )
                for i in range(50)
            ]
            replies = await asyncio.gather(*calls)
        return [r.choices[0].message.content for r in replies]

    with MockServer(Faults(latency=0.2)) as srv:
        start = time.monotonic()
        contents = asyncio.run(run(srv))
        elapsed = time.monotonic() - start
        stats = srv.stats()
    assert contents == [f"mock: n {i}" for i in range(50)]
    assert elapsed < 5.0
    assert stats["max_in_flight"] >= 25
    assert 25 <= stats["connections"] <= 50  # pooled: at most one per in-flight call


def test_cli_subprocess() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "workbench.testing.mockserver", "--port", "0"]
    cmd += ["--latency", "0.01", "--hang-first", "1", "--seed", "3", "--bad-usage"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            line = pool.submit(proc.stdout.readline).result(timeout=10)
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        host_port = url.removeprefix("http://")
        hung = socket.create_connection(tuple(host_port.split(":")))  # type: ignore[arg-type]
        hung.sendall(b"POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        conn = http.client.HTTPConnection(host_port, timeout=5)
        for _ in range(100):
            conn.request("GET", "/_stats")
            stats = json.loads(conn.getresponse().read())
            if stats["faults_fired"]["hang"]:
                break
            time.sleep(0.01)
        assert stats["faults_fired"]["hang"] == 1
        assert stats["config"]["latency"] == 0.01
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(model="m", messages=USER)
        assert reply.usage is None  # --bad-usage starts the cycle with "missing"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - start < 5.0  # a hung request would hold it for an hour
        hung.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
