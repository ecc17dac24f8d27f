"""Interrupted runs resume paying only for what is missing: proven by counting at the mock server.

Covers a stop event under ``arun``, Ctrl-C (KeyboardInterrupt) during the blocking ``run``, a
SIGKILLed process, and two processes writing one store at the same time.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import gc
import http.client
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress, Tally
from workbench.engine.store import Store
from workbench.engine.sync import run_blocking
from workbench.testing.mockserver import Faults, MockServer

SCRIPT = Path(__file__).parent / "scripts" / "run_experiment.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wb_run_experiment", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


class CallAfter(NullProgress):
    """Progress that calls ``action`` once, when ``n`` cells are done."""

    def __init__(self, n: int, action: Callable[[], object]) -> None:
        self.n = n
        self.action = action
        self.fired = False

    def update(self, tally: Tally) -> None:
        if not self.fired and tally.done >= self.n:
            self.fired = True
            self.action()


def store_path() -> Path:
    return wb.config.get_settings().store_path


def journaled_responses(path: Path) -> int:
    with Store(path) as store:
        return store.count_responses()


def slow_experiment(srv: MockServer, cells: int = 20) -> wb.Experiment:
    wb.configure(
        endpoints={"mock": {"base_url": srv.openai_base_url}}, backoff_base=0.01, timeout=10.0
    )
    ds = wb.Dataset(pd.DataFrame({"q": [f"question {i}" for i in range(cells)]}))
    v = wb.Variant("v", model="mock/slow", user="{{ q }}")
    return wb.Experiment("slow", ds, [v], concurrency=2)


def settled(get_stats: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Server stats once no request is in flight (abandoned ones answered or failed), max 10 s."""
    deadline = time.monotonic() + 10
    while (now := get_stats())["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert now["in_flight"] == 0
    return now


def check_partial(res: wb.Results, cells: int, at_least: int) -> int:
    """An interrupted result: finished rows complete, the rest marked not run. Returns done."""
    df = res.df
    assert res.status == "interrupted"
    assert len(df) == cells
    done = df[df["error"].isna()]
    missing = df[df["error"].notna()]
    assert at_least <= len(done) < cells
    assert (done["output"] == "mock: " + done["q"]).all()
    assert (missing["error"] == "not run: interrupted").all()
    assert missing["output"].isna().all()
    assert f"{len(done)} of {cells} cells finished" in res.message
    return len(done)


def check_resumed(
    srv: MockServer,
    before: dict[str, Any],
    done: int,
    cells: int,
    res: wb.Results,
    concurrency: int,
) -> None:
    """The rerun called exactly the missing cells, and nothing was paid twice: calls in flight at
    the stop were let finish and saved."""
    after = srv.stats()
    assert res.status == "complete"
    assert res.df["error"].isna().all()
    assert int(res.df["cached"].sum()) == done
    assert after["successes"] - before["successes"] == cells - done
    assert len(after["fingerprints"]) == cells
    assert before["successes"] == done  # every answered call was received and saved
    assert max(after["fingerprints"].values()) == 1


# -- in process -------------------------------------------------------------------------------


def test_stop_event_under_arun_then_resume(caplog: pytest.LogCaptureFixture) -> None:
    cells, concurrency = 20, 2
    with MockServer(Faults(latency=0.1)) as srv:
        exp = slow_experiment(srv, cells)

        async def interrupted() -> wb.Results:
            stop = asyncio.Event()
            return await exp.arun(stop=stop, progress=CallAfter(5, stop.set))

        res = asyncio.run(asyncio.wait_for(interrupted(), 30))
        gc.collect()
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
        done = check_partial(res, cells, at_least=5)
        assert journaled_responses(store_path()) == done
        with Store(store_path()) as store:
            assert store.runs("slow")[0]["status"] == "interrupted"
        before = settled(srv.stats)  # requests the client abandoned are over
        again = exp.run(progress=NullProgress())
        check_resumed(srv, before, done, cells, again, concurrency)
        final = srv.stats()
        exp.run(progress=NullProgress())
        assert srv.stats()["requests_total"] == final["requests_total"]


def ctrl_c() -> None:
    """What Ctrl-C in a terminal does: SIGINT delivered to the main thread (from any thread)."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.fixture
def sigint_raises() -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by someone else here")


@pytest.mark.usefixtures("sigint_raises")
def test_keyboard_interrupt_during_blocking_run_returns_partial_results() -> None:
    cells, concurrency = 20, 2
    with MockServer(Faults(latency=0.1)) as srv:
        exp = slow_experiment(srv, cells)
        # Sent while the main thread waits inside run_blocking and the run is still going.
        progress = CallAfter(5, ctrl_c)
        try:
            res = exp.run(progress=progress)
        except KeyboardInterrupt:  # pragma: no cover - would otherwise abort the whole session
            pytest.fail("KeyboardInterrupt escaped Experiment.run")
        assert progress.fired
        done = check_partial(res, cells, at_least=5)
        assert journaled_responses(store_path()) == done
        before = settled(srv.stats)
        again = exp.run(progress=NullProgress())
        check_resumed(srv, before, done, cells, again, concurrency)


@pytest.mark.usefixtures("sigint_raises")
def test_run_blocking_turns_ctrl_c_into_the_stop_event() -> None:
    async def work(stop: asyncio.Event) -> str:
        await asyncio.sleep(0.2)  # the caller is waiting by now
        ctrl_c()
        await asyncio.wait_for(stop.wait(), 10)
        return "wound down"

    try:
        assert run_blocking(work) == "wound down"
    except KeyboardInterrupt:  # pragma: no cover
        pytest.fail("KeyboardInterrupt escaped run_blocking")


@pytest.mark.usefixtures("sigint_raises")
def test_run_blocking_ctrl_c_as_the_work_starts_still_stops_it() -> None:
    # The interrupt lands while the caller may still be inside Thread.start().
    async def work(stop: asyncio.Event) -> str:
        _thread.interrupt_main()
        await asyncio.wait_for(stop.wait(), 10)
        return "wound down"

    try:
        assert run_blocking(work) == "wound down"
    except KeyboardInterrupt:  # pragma: no cover
        pytest.fail("KeyboardInterrupt escaped run_blocking")


@pytest.mark.usefixtures("sigint_raises")
def test_run_blocking_second_ctrl_c_abandons_the_work() -> None:
    finished = threading.Event()

    async def stubborn(stop: asyncio.Event) -> str:
        await asyncio.sleep(0.2)
        ctrl_c()
        await asyncio.wait_for(stop.wait(), 10)
        await asyncio.sleep(0.2)
        ctrl_c()  # a second Ctrl-C while the work ignores the first
        await asyncio.sleep(1.0)
        finished.set()
        return "too late"

    with pytest.raises(KeyboardInterrupt):
        run_blocking(stubborn)
    assert not finished.is_set()
    assert finished.wait(10)  # the abandoned thread still ends on its own


def test_run_blocking_passes_errors_and_values_through() -> None:
    async def fine(stop: asyncio.Event) -> int:
        return 42

    async def broken(stop: asyncio.Event) -> int:
        raise ValueError("boom")

    assert run_blocking(fine) == 42
    with pytest.raises(ValueError, match="boom"):
        run_blocking(broken)


# -- other processes --------------------------------------------------------------------------


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line of ``proc``, or '' if none came within ``timeout``."""
    box: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


def stop_process(proc: subprocess.Popen[str]) -> None:
    """Terminate (then kill) if still running; reap it and close its pipes."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=5)


@contextlib.contextmanager
def mock_process(*args: str) -> Iterator[str]:
    """``python -m workbench.testing.mockserver`` in a subprocess; yields its URL."""
    command = [
        sys.executable,
        "-m",
        "workbench.testing.mockserver",
        "--port",
        "0",
        "--max-seconds",
        "120",
        *args,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc, 20)
        assert line.startswith("READY http://127.0.0.1:"), line
        yield line.split()[1]
    finally:
        stop_process(proc)


def stats(url: str) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/_stats")
        response = conn.getresponse()
        assert response.status == 200
        data: dict[str, Any] = json.loads(response.read())
        return data
    finally:
        conn.close()


def start_run(
    url: str, store: Path, name: str, rows: str, *extra: str, concurrency: int = 4
) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        str(SCRIPT),
        "--url",
        url,
        "--store",
        str(store),
        "--name",
        name,
        "--rows",
        rows,
        "--concurrency",
        str(concurrency),
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, alive: subprocess.Popen[str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if alive is not None and alive.poll() is not None:
            _, err = alive.communicate(timeout=5)
            pytest.fail(f"process ended before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    cells, concurrency, kill_at = 80, 4, 20
    store = tmp_path / "shared"
    with mock_process("--latency", "0.05") as url:
        proc = start_run(url, store, "killed", f"0:{cells}", concurrency=concurrency)
        try:
            wait_until(lambda: stats(url)["successes"] >= kill_at, 40, "some answers", proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            stop_process(proc)
        assert proc.returncode == -signal.SIGKILL
        before = settled(lambda: stats(url))  # requests in flight at the kill are over
        journaled = journaled_responses(store / "store.sqlite")
        assert kill_at - concurrency <= journaled <= before["successes"] < cells
        with Store(store / "store.sqlite") as opened:
            # It never got to say; its process is gone, so the history calls it killed.
            assert opened.runs("killed")[0]["status"] == "killed"

        script.configure(url, str(store))
        res = script.build_experiment("killed", 0, cells, concurrency).run(progress=NullProgress())
        after = stats(url)
    assert res.status == "complete"
    assert res.df["error"].isna().all()
    assert int(res.df["cached"].sum()) == journaled
    assert after["successes"] - before["successes"] == cells - journaled
    assert len(after["fingerprints"]) == cells
    unjournaled = before["successes"] - journaled  # answered, killed before the commit
    assert 0 <= unjournaled <= concurrency
    assert sorted(after["fingerprints"].values()).count(2) == unjournaled
    assert max(after["fingerprints"].values()) <= 2


def test_two_processes_share_one_store(tmp_path: Path) -> None:
    store = tmp_path / "shared"
    runs = {"left": "0:60", "right": "30:90"}  # rows 30..59 are the same requests in both
    go = tmp_path / "go"
    with mock_process("--latency", "0.05") as url:
        procs = {
            name: start_run(
                url, store, name, rows, "--ready", str(tmp_path / f"ready-{name}"), "--go", str(go)
            )
            for name, rows in runs.items()
        }
        try:
            for name, proc in procs.items():
                ready = tmp_path / f"ready-{name}"
                wait_until(ready.exists, 40, f"{name} to be ready", proc)
            go.touch()
            outputs = {name: proc.communicate(timeout=60) for name, proc in procs.items()}
        finally:
            for proc in procs.values():
                stop_process(proc)
        for name, proc in procs.items():
            out, err = outputs[name]
            assert proc.returncode == 0, err[-2000:]
            assert "locked" not in err.lower()
            result = json.loads(out.split("RESULT ", 1)[1])
            assert result == {
                "status": "complete",
                "cells": 60,
                "cached": result["cached"],
                "errors": 0,
                "error_messages": [],
            }
        first = stats(url)
        assert first["max_in_flight"] > 4  # more than one process's concurrency: they overlapped
        assert len(first["fingerprints"]) == 90
        assert 90 <= first["successes"] <= 120  # shared rows may be called by both

        with Store(store / "store.sqlite") as opened:
            assert opened.count_responses() == 90
            assert {r["experiment"]: r["status"] for r in opened.runs()} == {
                "left": "complete",
                "right": "complete",
            }
        script.configure(url, str(store))
        for name, rows in runs.items():
            start, stop = (int(x) for x in rows.split(":"))
            res = script.build_experiment(name, start, stop, 4).run(progress=NullProgress())
            assert res.df["cached"].all()
        assert stats(url)["requests_total"] == first["requests_total"]
