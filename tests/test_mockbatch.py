"""The mock server's batch APIs, driven through the real openai / anthropic SDKs: what the real
APIs would accept and refuse, and the switches tests use (delay, stalls, expiry, limits)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pandas as pd
import pytest
from batch_cases import batch_server, stored_batches, variant

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.testing.mockserver import BatchFaults, MockServer


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with batch_server(monkeypatch, delay=0.0) as server:
        yield server


def oai(srv: MockServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=srv.openai_base_url, max_retries=0)


def ant(srv: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url=srv.anthropic_base_url, max_retries=0
    )


def line(custom_id: str, text: str, model: str = "gpt-x") -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def upload(client: openai.OpenAI, lines: list[dict[str, Any]]) -> str:
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    return client.files.create(file=("in.jsonl", data), purpose="batch").id


def test_openai_files_and_batches(srv: MockServer) -> None:
    client = oai(srv)
    file_id = upload(client, [line("a", "hello"), line("b", "world")])
    assert client.files.retrieve(file_id).purpose == "batch"
    batch = client.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"k": "v"},
    )
    found = client.batches.retrieve(batch.id)
    assert found.status == "completed" and found.metadata == {"k": "v"}
    assert found.request_counts is not None and found.request_counts.completed == 2
    assert found.output_file_id and found.error_file_id is None
    out = [json.loads(x) for x in client.files.content(found.output_file_id).text.splitlines()]
    assert [x["custom_id"] for x in out] == ["a", "b"]
    assert out[0]["response"]["body"]["choices"][0]["message"]["content"] == "mock: hello"
    assert [b.id for b in client.batches.list().data] == [batch.id]


def test_openai_refuses_mixed_models_and_batches_over_its_limits(srv: MockServer) -> None:
    client = oai(srv)
    mixed = upload(client, [line("a", "x", "m1"), line("b", "y", "m2")])
    batch = client.batches.create(
        input_file_id=mixed, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "failed" and batch.errors and batch.errors.data
    assert "one model" in str(batch.errors.data[0].message)
    srv.set_batch(max_requests=1)
    many = upload(client, [line("a", "x"), line("b", "y")])
    refused = client.batches.create(
        input_file_id=many, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert refused.status == "failed"
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_anthropic_message_batches(srv: MockServer) -> None:
    client = ant(srv)
    params = {
        "model": "claude-x",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    srv.set_batch(delay=0.3)
    batch = client.messages.batches.create(requests=[{"custom_id": "r-1", "params": params}])
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 1
    time.sleep(0.4)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.succeeded == 1
    (result,) = list(client.messages.batches.results(batch.id))
    assert result.custom_id == "r-1" and result.result.type == "succeeded"
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=[{"custom_id": "not ok!", "params": params}])
    srv.set_batch(max_bytes=10)
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.batches.create(requests=[{"custom_id": "r-2", "params": params}])
    assert info.value.status_code == 413


def test_control_endpoint_sets_and_reset_restores_batch_faults() -> None:
    with MockServer(batch=BatchFaults(delay=1.0)) as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("POST", "/_control", body=json.dumps({"batch": {"stall_after": 2}}))
        stats = json.loads(conn.getresponse().read())
        assert stats["batches"]["config"]["stall_after"] == 2
        conn.request("POST", "/_control", body=json.dumps({"batch": {"nope": 1}}))
        response = conn.getresponse()
        assert response.status == 400 and b"unknown batch setting" in response.read()
        conn.close()
        srv.reset(config=True)
        assert srv.stats()["batches"]["config"]["stall_after"] is None
        assert srv.stats()["batches"]["config"]["delay"] == 1.0
        with pytest.raises(ValueError, match="delay must be a number"):
            srv.set_batch(delay=-1)


def test_a_batch_the_provider_refuses_whole_makes_error_rows(srv: MockServer) -> None:
    srv.set_batch(max_bytes=50)  # OpenAI validates the file after creating the batch
    ds = wb.Dataset(pd.DataFrame({"q": ["q0", "q1"]}))
    res = wb.Experiment("refused", ds, [variant("openai")]).run(
        mode="batch", progress=NullProgress()
    )
    assert isinstance(res, wb.Results)
    for error in res.df["error"]:
        assert "not run: the provider refused the whole batch" in error
        assert "more than 50 allowed" in error
    (batch,) = stored_batches()
    assert batch.outcome == "failed" and not batch.open
    assert "failed: 0 of 2 requests answered" in res.message
