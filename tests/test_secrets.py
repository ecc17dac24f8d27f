"""No API key, Authorization header or URL password ever lands in the store, results, exports,
logs, CLI output, progress output or error messages — including failed calls, 401s whose error
body echoes the key, and base URLs with ``user:pass@`` credentials.

(test_providers_http.py already checks that successful and 500-failed runs keep keys out of the
store and CSV/JSONL exports; this file adds the hostile echoes, logs, the CLI and exceptions.)
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.errors import ProviderError
from workbench.providers.sdk_errors import from_sdk_exception
from workbench.redact import redact
from workbench.testing.mockserver import MockServer
from workbench.views.progress import TextProgress

OPENAI_KEY = "sk-proj-" + "Tq8Zr3Lw6Np1Xv4Kb9Hm2Jd7Fs0Gc5Ya8Ue3Io6Pl1Mn4Bv7Cx"
ANTHROPIC_KEY = "sk-ant-api03-" + "Rk5Vn2Wq9Lz4Ht7Mb1Xp8Dj3Fg6Sy0Ua2Ce5Io8Kl1Tn4Qw7Er"
ENDPOINT_KEY = "tok_" + "Zx9Cv8Bn7Mm6Lk5Jh4Gf3Dd2Ss1Aa0Qw"
URL_USER, URL_PASSWORD = "svc-user", "Pw-" + "hunter2-9f8e7d6c5b4a"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, ENDPOINT_KEY, URL_PASSWORD)


def fragments(secret: str) -> list[str]:
    """The secret and every 10-character window of it past its public prefix (sk-proj-, ...)."""
    body = secret.split("-")[-1] if secret.startswith("sk-") else secret
    return [secret] + [body[i : i + 10] for i in range(0, len(body) - 9)]


def assert_clean(where: str, data: str | bytes) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for secret in SECRETS:
        for part in fragments(secret):
            assert part not in text, f"{where} leaks {part!r}"


# -- a server that answers 401/500 and echoes the credentials it got ---------------------------


class EchoHandler(BaseHTTPRequestHandler):
    """401 for every call, echoing the key like real APIs (masked) or hostile ones (whole)."""

    protocol_version = "HTTP/1.1"
    mode = "masked"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        key = self.headers.get("x-api-key") or self.headers.get("authorization", "")
        key = key.removeprefix("Bearer ")
        if self.mode == "masked":  # what OpenAI says: prefix, stars, last four
            status, message = 401, f"Incorrect API key provided: {key[:14]}{'*' * 30}{key[-4:]}."
        elif self.mode == "whole":
            status, message = 401, f"invalid x-api-key: {key} (Authorization: Bearer {key})"
        else:  # a proxy's plain-text 500 with the request line and the header in it
            status, message = 500, f"upstream failed for Authorization: Bearer {key}"
        if self.mode == "plain":
            body = message.encode()
            ctype = "text/plain"
        else:
            body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
            body = body.encode()  # type: ignore[assignment]
            ctype = "application/json"
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)  # type: ignore[arg-type]

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        EchoHandler.mode = "masked"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("MOCK_TOKEN", ENDPOINT_KEY)


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{URL_USER}:{URL_PASSWORD}@")


def experiment(name: str, questions: int = 3) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"{name} question {i}" for i in range(questions)]}))
    variants = [
        wb.Variant("o", model="openai/gpt-6-luna", user="{{ q }}", params={"max_tokens": 8}),
        wb.Variant("a", model="anthropic/claude-haiku-4-5", user="{{ q }}"),
        wb.Variant("e", model="mock/anything", user="{{ q }}", params={"max_tokens": 8}),
    ]
    return wb.Experiment(name, ds, variants, scorers=[wb.scorers.contains("question")])


def point_at(url: str) -> None:
    wb.configure(
        provider_urls={"openai": with_credentials(url) + "/v1", "anthropic": with_credentials(url)},
        endpoints={
            "mock": {"base_url": with_credentials(url) + "/v1", "api_key_env": "MOCK_TOKEN"}
        },
        backoff_base=0.01,
        backoff_cap=0.05,
        timeout=3.0,
        max_retries=1,
    )


def scan_run(res: wb.Results, tmp_path: Path, tag: str) -> None:
    assert_clean("df", res.df.to_csv(index=False))
    assert_clean("repr", repr(res) + res._repr_html_() + repr(res.record) + res.message)
    assert_clean("summary", res.summary().to_csv())
    for suffix in ("csv", "jsonl", "parquet"):
        path = res.save(tmp_path / "out" / f"{tag}.{suffix}")
        assert_clean(str(path), path.read_bytes())


def scan_store() -> None:
    folder = wb.config.get_settings().store
    files = [p for p in folder.iterdir() if p.name.startswith("store.sqlite")]
    assert files
    for path in files:
        assert_clean(str(path), path.read_bytes())


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("mode", ["masked", "whole", "plain"])
def test_401_and_500_bodies_that_echo_the_key_are_redacted_everywhere(
    mode: str,
    echo_server: tuple[ThreadingHTTPServer, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    EchoHandler.mode = mode
    point_at(echo_server[1])
    progress = io.StringIO()
    with caplog.at_level(logging.DEBUG):
        res = experiment(f"echo-{mode}").run(progress=TextProgress("x", progress, interval=0.0))
    assert res.df["error"].notna().all()
    errors = " | ".join(res.df["error"])
    assert ("HTTP 401" if mode != "plain" else "HTTP 500") in errors
    scan_run(res, tmp_path, mode)
    scan_store()
    assert_clean("progress", progress.getvalue())
    assert_clean("logs", "\n".join(r.getMessage() for r in caplog.records) + caplog.text)


@pytest.mark.usefixtures("keys")
def test_successes_and_faults_through_credentialed_urls_leak_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with MockServer() as srv:
        point_at(srv.url)
        wb.configure(max_retries=3)
        srv.set_faults(error_first=2, drop_first=2, malformed_first=2, rate_limit_first=2)
        srv.set_faults(retry_after=0.01)
        with caplog.at_level(logging.DEBUG):
            ok = experiment("ok", 4).run(progress=TextProgress("ok", io.StringIO()))
            srv.set_faults(error_rate=1.0)
            bad = experiment("bad", 2).run(progress=TextProgress("bad", io.StringIO()))
        assert srv.stats()["auth_present"] > 0
    assert ok.df["error"].isna().all(), ok.df["error"].dropna().tolist()
    assert bad.df["error"].notna().all()
    for tag, res in (("ok", ok), ("bad", bad)):
        scan_run(res, tmp_path, tag)
    scan_store()
    assert_clean("logs", caplog.text)


@pytest.mark.usefixtures("keys")
def test_connection_errors_to_credentialed_urls_leak_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    point_at(dead)
    res = experiment("dead", 1).run(progress=TextProgress("dead", io.StringIO()))
    assert res.df["error"].str.contains("connection").all()
    scan_run(res, tmp_path, "dead")
    scan_store()


@pytest.mark.usefixtures("keys")
def test_cli_output_and_toml_credentials_leak_nothing(
    echo_server: tuple[ThreadingHTTPServer, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    EchoHandler.mode = "whole"
    url = with_credentials(echo_server[1])
    (tmp_path / "workbench.toml").write_text(
        f'[providers.openai]\nbase_url = "{url}/v1"\n'
        f'[endpoints.mock]\nbase_url = "{url}/v1"\napi_key_env = "MOCK_TOKEN"\n'
    )
    wb.config.reset_settings()
    (tmp_path / "q.csv").write_text("q\nalpha\nbeta\n")
    (tmp_path / "exp.yaml").write_text(
        "name: cli\ndataset: q.csv\n"
        "variants:\n"
        "  - {name: o, model: openai/gpt-6-luna, user: '{{ q }}'}\n"
        "  - {name: e, model: mock/x, user: '{{ q }}'}\n"
        "scorers:\n  - contains: alpha\n"
    )
    with caplog.at_level(logging.DEBUG):
        code = main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "cli-out")])
        assert main(["store", "info"]) == 0
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "HTTP 401"
        in (tmp_path / "cli-out")
        .joinpath(next(p.name for p in (tmp_path / "cli-out").iterdir()))
        .read_text()
    )
    assert_clean("stdout", out)
    assert_clean("stderr", err)
    assert_clean("logs", caplog.text)
    for path in (tmp_path / "cli-out").iterdir():
        assert_clean(str(path), path.read_bytes())
    scan_store()


class FakeStatusError(Exception):
    def __init__(self, status: int, body: object, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.body = body
        self.message = message
        self.response = None


@pytest.mark.parametrize(
    "exc",
    [
        FakeStatusError(401, {"error": {"message": f"bad key {OPENAI_KEY}"}}, "x"),
        FakeStatusError(401, None, f"Error code: 401 - {{'detail': 'key {ANTHROPIC_KEY}'}}"),
        FakeStatusError(403, "text", f"Authorization: Bearer {ENDPOINT_KEY} refused"),
        ValueError(f"bad base_url http://{URL_USER}:{URL_PASSWORD}@host/v1"),
        RuntimeError(f"weird {OPENAI_KEY} at http://{URL_USER}:{URL_PASSWORD}@h"),
        type("APIConnectionError", (Exception,), {})(f"to http://u:{URL_PASSWORD}@h"),
    ],
    ids=["body", "message", "bearer", "sdk-refusal", "unknown", "connection"],
)
def test_provider_error_messages_are_redacted(
    exc: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCK_TOKEN", ENDPOINT_KEY)
    err = from_sdk_exception(exc, "openai")
    assert isinstance(err, ProviderError)
    assert_clean("message", str(err))
    assert len(str(err)) < 700


def test_redact_keeps_ordinary_text() -> None:
    text = "The task-list has 3 items; see http://example.com/v1/path?x=1 and sk-5 words."
    assert redact(text) == text
    assert redact(f"key={OPENAI_KEY}") != f"key={OPENAI_KEY}"
    assert "@host" in redact(f"http://{URL_USER}:{URL_PASSWORD}@host/v1")
