"""Soak: long runs under each fault of the mock server (run in its own process), counted at the
server. Every cell ends as a result or as an error row with its reason; no completed call is
lost (each answered request is in the store and the table) and none is paid twice (no body is
answered successfully twice); a rerun calls only what is missing.

Size: ``WORKBENCH_SOAK_N`` cells per fault (default 400, so the file takes ~30 s in the normal
suite on 2 cores). For the full soak of a few thousand calls per fault:
``WORKBENCH_SOAK_N=3000 pytest -m soak tests/test_faults_soak.py`` (about 10 minutes).
Deselect with ``-m "not soak"``.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress, Tally

pytestmark = pytest.mark.soak

N = int(os.environ.get("WORKBENCH_SOAK_N", "400"))
CONCURRENCY = 48
SCRIPT = Path(__file__).parent / "scripts" / "run_experiment.py"


# -- the mock server in its own process ---------------------------------------------------------


class Mock:
    def __init__(self, url: str) -> None:
        self.url = url
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = json.dumps(body or {}) if method == "POST" else None
            conn.request(method, path, body=data)
            response = conn.getresponse()
            payload: dict[str, Any] = json.loads(response.read())
            assert response.status == 200, payload
            return payload
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/_stats")

    def set_faults(self, **faults: Any) -> None:
        self.call("POST", "/_control", faults)

    def reset(self) -> None:
        self.call("POST", "/_reset", {"config": True})


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.testing.mockserver", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY "), line
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def mock(mock_url: str) -> Iterator[Mock]:
    server = Mock(mock_url)
    server.reset()
    wb.configure(
        endpoints={"mock": {"base_url": mock_url + "/v1"}},
        timeout=2.0,
        max_retries=8,
        backoff_base=0.005,
        backoff_cap=0.05,
    )
    yield server
    server.reset()


def experiment(name: str, cells: int = N) -> wb.Experiment:
    rows = cells // 2
    ds = wb.Dataset(pd.DataFrame({"q": [f"{name} question {i}" for i in range(rows)]}))
    a = wb.Variant("a", model="mock/soak", user="{{ q }}", params={"max_tokens": 8})
    b = a.replace(name="b", system="Be brief.")
    return wb.Experiment(name, ds, [a, b], concurrency=CONCURRENCY)


def journal(run_id: str) -> tuple[int, int]:
    path = wb.config.get_settings().store_path
    with sqlite3.connect(path) as db:
        cells = db.execute("SELECT COUNT(*) FROM run_cells WHERE run_id=?", (run_id,)).fetchone()
        cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()
    db.close()
    return int(cells[0]), int(cached[0])


def check_run(res: wb.Results, before: dict[str, Any], after: dict[str, Any]) -> pd.DataFrame:
    """Every cell a result or an error with its reason; answered == saved, none answered twice."""
    df = res.df
    assert res.status == "complete", res.message
    assert len(df) == N
    assert (df["output"].notna() ^ df["error"].notna()).all()
    errors = df["error"].dropna()
    assert (errors.str.len() > 10).all() and (errors.str.len() < 600).all()
    ok = df[df["error"].isna()]
    fresh = ok[~ok["cached"]]
    assert after["successes"] - before["successes"] == len(fresh)
    assert max(after["fingerprints"].values()) == 1  # no request body answered (paid) twice
    assert after["internal_errors"] == 0
    # A hung request the client gave up on (timeout) stays "in flight" at the mock for an hour.
    hung = after["faults_fired"].get("hang", 0) - before["faults_fired"].get("hang", 0)
    assert after["max_in_flight"] <= CONCURRENCY + hung
    cells, cached = journal(res.run_id)
    assert cells == N  # every cell journaled
    assert cached == len(ok)  # every answered call saved
    return df


FAULTS: dict[str, dict[str, Any]] = {
    "latency_jitter": {"latency": 0.001, "jitter": 0.02},
    "rate_limit_storm": {"rate_limit_every": 3, "rate_limit_first": N // 4, "retry_after": 0.02},
    "error_5pct": {"error_rate": 0.05},
    "timeouts": {"hang_first": 40},
    "drops_mid_response": {"drop_rate": 0.05},
    "malformed_json": {"malformed_rate": 0.05},
    "wrong_usage": {"bad_usage": "cycle"},
    "everything": {
        "jitter": 0.005,
        "rate_limit_every": 11,
        "retry_after": 0.02,
        "error_rate": 0.05,
        "hang_first": 10,
        "drop_rate": 0.03,
        "malformed_rate": 0.03,
        "bad_usage": "cycle",
    },
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_long_run_under_fault_loses_nothing_and_pays_nothing_twice(mock: Mock, fault: str) -> None:
    if fault in ("timeouts", "everything"):
        wb.configure(timeout=0.5)
    mock.set_faults(seed=7, **FAULTS[fault])
    before = mock.stats()
    res = experiment(fault).run(progress=NullProgress())
    after = mock.stats()
    df = check_run(res, before, after)
    fired = after["faults_fired"]
    key = {
        "rate_limit_storm": "rate_limit",
        "error_5pct": "error",
        "timeouts": "hang",
        "drops_mid_response": "drop",
        "malformed_json": "malformed",
        "wrong_usage": "bad_usage",
    }.get(fault)
    if key:
        assert fired.get(key, 0) >= min(10, N // 40), fired
    errors = df["error"].dropna()
    if fault == "rate_limit_storm":  # only a storm that answers nobody can fail a cell: said so
        pattern = r"HTTP 429.*after \d+ attempts; no call to mock was answered meanwhile"
        assert errors.str.contains(pattern).all(), errors.head().tolist()
        assert len(errors) < N // 10
    else:
        assert errors.empty, errors.head().tolist()  # retries absorbed it
    if fault == "wrong_usage":
        assert df["input_tokens"].isna().sum() > 0  # garbage usage became unknown, not a crash

    # Rerun with the fault still on: answered cells from the store; only error rows are called.
    requests = mock.stats()["requests_total"]
    again = experiment(fault).run(progress=NullProgress())
    assert int(again.df["cached"].sum()) == N - len(errors)
    if errors.empty:
        assert mock.stats()["requests_total"] == requests
    assert max(mock.stats()["fingerprints"].values()) == 1


def test_retries_exhausted_become_error_rows_and_rerun_calls_only_those(mock: Mock) -> None:
    wb.configure(max_retries=1)
    mock.set_faults(seed=3, error_rate=0.3, drop_rate=0.05, malformed_rate=0.05)
    before = mock.stats()
    res = experiment("exhausted").run(progress=NullProgress())
    df = check_run(res, before, mock.stats())
    failed = df[df["error"].notna()]
    assert len(failed) > N // 50
    assert failed["error"].str.contains("HTTP 500|connection|unusable").all()
    assert (failed["cost_usd"] == 0).all() and failed["output"].isna().all()

    mock.set_faults(error_rate=0.0, drop_rate=0.0, malformed_rate=0.0)
    mid = mock.stats()
    again = experiment("exhausted").run(progress=NullProgress())
    end = mock.stats()
    assert again.df["error"].isna().all()
    assert end["requests_total"] - mid["requests_total"] == len(failed)  # only the failed ones
    assert int((~again.df["cached"]).sum()) == len(failed)
    assert max(end["fingerprints"].values()) == 1


class StopAt:
    """Progress that asks the run to stop once ``at`` cells are done (from inside the loop)."""

    def __init__(self, stop: asyncio.Event, at: int) -> None:
        self.stop, self.at = stop, at

    def start(self, tally: Tally, budget: float | None) -> None:
        pass

    def update(self, tally: Tally) -> None:
        if tally.done >= self.at:
            self.stop.set()

    def finish(self, tally: Tally, status: str, message: str) -> None:
        pass


def test_interrupt_under_faults_then_rerun_calls_only_the_missing(mock: Mock) -> None:
    mock.set_faults(seed=5, error_rate=0.05, rate_limit_every=9, retry_after=0.02, jitter=0.01)
    exp = experiment("interrupted")

    async def interrupted() -> wb.Results:
        stop = asyncio.Event()
        return await exp.arun(progress=StopAt(stop, N // 3), stop=stop)

    before = mock.stats()
    res = asyncio.run(interrupted())
    mid = mock.stats()
    assert res.status == "interrupted"
    done = res.df[res.df["error"].isna()]
    assert N // 3 <= len(done) < N
    assert (res.df["error"].dropna() == "not run: interrupted").all()
    assert mid["successes"] - before["successes"] == len(done)  # in-flight calls were saved

    mock.set_faults(error_rate=0.0, rate_limit_every=0)
    again = exp.run(progress=NullProgress())
    end = mock.stats()
    assert again.status == "complete" and again.df["error"].isna().all()
    assert int(again.df["cached"].sum()) == len(done)
    assert end["successes"] - mid["successes"] == N - len(done)
    assert max(end["fingerprints"].values()) == 1  # nothing paid twice across the interrupt


def test_two_processes_under_faults_share_one_store(mock: Mock, tmp_path: Path) -> None:
    mock.set_faults(seed=9, error_rate=0.03, rate_limit_every=13, retry_after=0.02)
    rows = N // 2
    half = rows // 2
    spans = {"left": (0, rows), "right": (half, half + rows)}  # `half` rows are shared
    store = tmp_path / "shared"
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--url",
                mock.url,
                "--store",
                str(store),
                "--name",
                name,
                "--rows",
                f"{a}:{b}",
                "--concurrency",
                "16",
                # Enough retries that transient faults (~11% of requests here) never exhaust
                # them at any soak size, so the store can be checked cell for cell.
                "--max-retries",
                "12",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (a, b) in spans.items()
    }
    try:
        outputs = {name: proc.communicate(timeout=120) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    for name, proc in procs.items():
        out, err = outputs[name]
        assert proc.returncode == 0, err[-2000:]
        result = json.loads(out.split("RESULT ", 1)[1])
        assert result["status"] == "complete" and result["cells"] == rows
        assert result["errors"] == 0, result["error_messages"]
    stats = mock.stats()
    unique = half + rows
    assert len(stats["fingerprints"]) == unique
    assert max(stats["fingerprints"].values()) <= 2  # only a shared row, raced, twice at most
    with sqlite3.connect(store / "store.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == unique
        assert db.execute("SELECT COUNT(*) FROM run_cells").fetchone()[0] == 2 * rows
        statuses = dict(db.execute("SELECT experiment, status FROM runs").fetchall())
    db.close()
    assert statuses == {"left": "complete", "right": "complete"}
