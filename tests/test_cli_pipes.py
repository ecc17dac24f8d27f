"""``workbench runs | head`` and ``workbench diff ... | head``: a reader that stops early ends the
command quietly (exit 141, as other Unix tools), with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import workbench
from workbench.cli import EXIT_BROKEN_PIPE, main
from workbench.config import get_settings
from workbench.engine.store import Store

Capture = pytest.CaptureFixture[str]
PACKAGE_ROOT = str(Path(workbench.__file__).resolve().parent.parent)


def cli_env() -> dict[str, str]:
    """This environment (store, cwd settings), importing this checkout's workbench."""
    path = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def head_one_line(*args: str) -> tuple[str, int, str]:
    """Run ``workbench ARGS | head -1`` through a real pipe: (first line, exit code, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()  # the reader goes away while the writer still has lots to say
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return first, proc.wait(timeout=120), err


def test_runs_into_a_closed_pipe_exits_quietly(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "q.csv").write_text("expected\nParis\n", encoding="utf-8")
    variants = [{"name": f"variant-{i}", "user": "{{ expected }}"} for i in range(40)]
    spec = {
        "name": "capitals",
        "dataset": "q.csv",
        "defaults": {"model": "fake/echo"},
        "variants": variants,
        "scorers": [{"contains": "{{ expected }}"}],
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["run", "exp.yaml"]) == 0
    capsys.readouterr()
    with Store(get_settings().store_path) as store:  # 40 variants × 100 runs: ~400 KB of text
        run = store.runs()[0]
        for i in range(99):
            store.start_run(f"{run['run_id']}-{i}", run["experiment"], run["spec"])
            store.finish_run(f"{run['run_id']}-{i}", "complete", run["summary"])
    first, code, err = head_one_line("runs", "--limit", "1000")
    assert "capitals" in first
    assert err == ""
    assert code == EXIT_BROKEN_PIPE == 141


def test_diff_into_a_closed_pipe_exits_quietly(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "q.csv").write_text("expected\nParis\n", encoding="utf-8")
    long_a = "\n".join(f"Rule {i}: answer in one word." for i in range(4000))
    long_b = "\n".join(f"Rule {i}: answer in a sentence." for i in range(4000))
    spec = {
        "name": "capitals",
        "dataset": "q.csv",
        "defaults": {"model": "fake/echo", "user": "{{ expected }}"},
        "variants": [{"name": "a", "system": long_a}, {"name": "b", "system": long_b}],
        "scorers": [{"contains": "{{ expected }}"}],
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    for variant in ("a", "b"):
        args = ["export", "exp.yaml", "--variant", variant, "--name", "x", "--to", "prompts"]
        assert main(args) == 0
    capsys.readouterr()
    first, code, err = head_one_line("diff", "prompts/x@1", "prompts/x@2")
    assert first == "--- x@1\n"
    assert err == ""
    assert code == 141


def test_a_reader_that_reads_everything_sees_exit_0(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "runs"],
        capture_output=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout == b"No runs in the store yet.\n"
