"""Journaled before it is paid: a batch run killed after its submission re-attaches when run
again, submitting nothing twice — proven with a real process killed by SIGKILL and counted at
the mock server; and a submission whose answer was lost (a timeout, a kill while the provider
made the batch) is found at the provider instead of being paid again."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from batch_cases import MODELS, batch_server, chat_calls, created

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.engine.store import Store, StoredBatch
from workbench.testing.mockserver import MockServer

SCRIPT = Path(__file__).parent / "scripts" / "run_batch.py"
KINDS = list(MODELS)


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wb_run_batch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with batch_server(monkeypatch) as server:
        yield server


def batches_in(path: Path) -> list[tuple[str, str | None]]:
    """(state, provider batch id) of each batch a running process has journaled so far."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return list(db.execute("SELECT state, provider_batch FROM batches"))
    except sqlite3.OperationalError:  # the store is still being made
        return []
    finally:
        db.close()


def start(url: str, store: Path, name: str, kind: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, str(SCRIPT), "--url", url, "--store", str(store)]
    command += ["--name", name, "--kind", kind, "--rows", "6", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(check: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc.poll() is not None:
            _, err = proc.communicate(timeout=5)
            pytest.fail(f"the run ended before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def running(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The process, killed and reaped at the end whatever happens."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def only_batch(store: Path) -> StoredBatch:
    with Store(store / "store.sqlite") as opened:
        (batch,) = opened.batches()
    return batch


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_after_submission_then_rerun_reattaches_without_submitting_again(
    srv: MockServer, tmp_path: Path, kind: str
) -> None:
    srv.set_batch(delay=60)  # the batch stays in progress while the run waits for it
    store = tmp_path / "shared"
    with running(start(srv.url, store, "killed", kind)) as proc:
        submitted = lambda: any(p for _, p in batches_in(store / "store.sqlite"))  # noqa: E731
        wait_until(submitted, "the provider's batch id in the store", proc)
        kill(proc)
    assert created(srv) == {kind: 1}
    batch = only_batch(store)
    assert batch.open and batch.provider_batch and batch.total == 6
    with Store(store / "store.sqlite") as opened:
        assert opened.runs("killed")[0]["status"] == "killed"

    srv.set_batch(delay=0)  # meanwhile the provider finished it
    script.configure(srv.url, str(store))
    res = script.build_experiment("killed", kind, 6).run(mode="batch", progress=NullProgress())
    assert res.status == "complete" and len(res.df) == 6
    assert res.df["error"].isna().all()
    assert list(res.df["output"]) == [f"mock: q{i}" for i in range(6)]
    assert set(res.df["batch_id"]) == {batch.provider_batch}
    assert created(srv) == {kind: 1}  # re-attached: zero new submissions
    assert chat_calls(srv) == 0
    assert not only_batch(store).open


@pytest.mark.parametrize("kind", KINDS)
def test_a_lost_answer_to_a_submission_is_found_at_the_provider_not_paid_twice(
    srv: MockServer, kind: str
) -> None:
    srv.set_batch(hang_create=1)  # the batch is made; the answer saying so never comes
    wb.configure(timeout=0.2)  # a submission waits ten times this
    exp = script.build_experiment("lost", kind, 3)
    res = exp.run(mode="batch", progress=NullProgress())
    assert res.df["error"].isna().all()
    assert created(srv) == {kind: 1}


@pytest.mark.parametrize("kind", KINDS)
def test_a_kill_while_the_provider_makes_the_batch_is_recovered_on_rerun(
    srv: MockServer, tmp_path: Path, kind: str
) -> None:
    srv.set_batch(hang_create=1)
    store = tmp_path / "shared"
    with running(start(srv.url, store, "unconfirmed", kind, "--timeout", "60")) as proc:
        wait_until(lambda: created(srv).get(kind) == 1, "the batch at the provider", proc)
        kill(proc)
    assert batches_in(store / "store.sqlite") == [("submitting", None)]

    # Later (an unconfirmed submission is looked for once no process can still be making it).
    db = sqlite3.connect(store / "store.sqlite")
    with db:
        db.execute("UPDATE batches SET created = created - 100")
    db.close()
    script.configure(srv.url, str(store))
    res = script.build_experiment("unconfirmed", kind, 6).run(mode="batch", progress=NullProgress())
    assert res.status == "complete" and res.df["error"].isna().all()
    assert created(srv) == {kind: 1}  # found by its tag (OpenAI) or its size and time (Anthropic)
    batch = only_batch(store)
    assert batch.provider_batch and not batch.open


def test_two_runs_of_the_same_requests_at_once_submit_each_request_once(srv: MockServer) -> None:
    srv.set_batch(delay=0.3)
    results: dict[str, Any] = {}
    start = threading.Barrier(2)

    def run(name: str) -> None:
        exp = script.build_experiment(name, "openai", 6)  # the same requests, two experiments
        start.wait()
        results[name] = exp.run(mode="batch", progress=NullProgress())

    threads = [threading.Thread(target=run, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in results.values():
        assert r.status == "complete", r.message
        assert r.df["error"].isna().all(), list(r.df["error"])
    assert sum(srv.stats()["batches"]["fingerprints"].values()) == 6  # each request paid once
