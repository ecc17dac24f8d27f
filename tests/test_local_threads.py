"""The embedded model on a shared machine: how many threads it takes by default, settings that
really reach llama.cpp, a note in the progress when it runs slow, and two runs at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.config import get_settings
from workbench.engine.progress import NullProgress, Tally
from workbench.errors import ConfigError
from workbench.models import ModelId
from workbench.providers.base import ChatRequest
from workbench.providers.local import LocalProvider, default_threads, server_params
from workbench.providers.registry import create_provider

LOCAL = ModelId("local", "smollm2")


@pytest.mark.parametrize(
    ("cores", "load", "threads"),
    [
        (1, 0.0, 1),
        (2, 0.0, 1),  # half the cores: a second model on the machine gets the other one
        (2, 1.9, 1),  # at least 1
        (4, 0.2, 2),
        (4, 3.5, 1),  # busy: no more than the cores left idle
        (8, 0.0, 4),
        (8, 6.0, 2),
        (32, 0.0, 4),  # at most 4: more barely speed up a 135M model
    ],
)
def test_default_threads_rule(cores: int, load: float, threads: int) -> None:
    assert default_threads(cores, load) == threads


def test_default_threads_on_this_machine_leave_cores_free() -> None:
    assert 1 <= default_threads() <= max(1, (os.cpu_count() or 1) // 2)


def threads_of_provider() -> int:
    provider = create_provider(LOCAL, get_settings())
    assert isinstance(provider, LocalProvider)
    return provider.threads


def test_configure_toml_and_env_reach_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert threads_of_provider() == default_threads()
    (tmp_path / "workbench.toml").write_text("local_threads = 2\n", encoding="utf-8")
    assert threads_of_provider() == 2
    monkeypatch.setenv("WORKBENCH_LOCAL_THREADS", "1")
    assert threads_of_provider() == 1
    wb.configure(local_threads=3)
    assert threads_of_provider() == 3


def test_negative_threads_are_refused(tmp_path: Path) -> None:
    (tmp_path / "workbench.toml").write_text("local_threads = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"local_threads must be 0 \(automatic\)"):
        get_settings()


class StubServer:
    """Stands in for the loaded model: canned replies with llama.cpp's timings."""

    def __init__(self, tokens_per_s: float, tokens: int = 20) -> None:
        self.tokens_per_s = tokens_per_s
        self.tokens = tokens

    def handle_chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "choices": [{"message": {"content": "Paris"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": self.tokens},
            "timings": {"predicted_n": self.tokens, "predicted_per_second": self.tokens_per_s},
        }


def ask(provider: LocalProvider, times: int = 1) -> None:
    request = ChatRequest(LOCAL, ({"role": "user", "content": "Capital of France?"},))
    for _ in range(times):
        asyncio.run(provider.generate(request, timeout=10))


def test_the_provider_loads_the_model_on_its_threads() -> None:
    loaded: list[tuple[Path, int]] = []

    def load(path: Path, threads: int) -> StubServer:
        loaded.append((path, threads))
        return StubServer(80.0)

    ask(LocalProvider(threads=3, load=load))
    assert loaded == [(LocalProvider.resolve("smollm2"), 3)]


def test_llama_cpp_params_carry_the_threads() -> None:
    params = server_params(LocalProvider.resolve("smollm2"), 3)
    assert params.cpuparams.n_threads == 3
    assert params.cpuparams_batch.n_threads == 3


def test_slow_generation_gets_a_note_saying_what_to_change() -> None:
    provider = LocalProvider(threads=2, load=lambda path, threads: StubServer(5.0))
    ask(provider, 2)
    assert provider.progress_note() == ""  # too few calls to judge
    ask(provider)
    note = provider.progress_note()
    assert note.startswith("local model slow: 5 tokens/s on 2 threads (one free core gives ~50)")
    assert "try local_threads = 1 (wb.configure or workbench.toml)" in note

    one = LocalProvider(threads=1, load=lambda path, threads: StubServer(5.0))
    ask(one, 3)
    assert "on 1 thread " in one.progress_note() and "run fewer at once" in one.progress_note()


def test_no_note_when_fast_or_when_replies_are_too_short_to_measure() -> None:
    fast = LocalProvider(threads=1, load=lambda path, threads: StubServer(60.0))
    ask(fast, 5)
    assert fast.progress_note() == ""
    short = LocalProvider(threads=1, load=lambda path, threads: StubServer(2.0, tokens=3))
    ask(short, 5)
    assert short.progress_note() == ""


class Recording(NullProgress):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, tally: Tally) -> None:
        self.lines.append(tally.line())


@pytest.mark.local_model
def test_a_slow_local_run_says_so_in_the_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalProvider, "SLOW_TOKENS_PER_S", 1e9)  # every speed counts as slow
    wb.configure(local_threads=1)
    ds = wb.Dataset(wb.demo.dataset().df.head(4))
    variant = wb.Variant(
        "story",
        model="local/smollm2",
        user="Write two sentences about {{ expected }}.",
        params={"temperature": 0, "max_tokens": 12},
    )
    progress = Recording()
    wb.Experiment("slow", ds, [variant]).run(progress=progress)
    assert "local model slow" not in progress.lines[0]  # one call is not enough to judge
    assert "on 1 thread (one free core gives ~50)" in progress.lines[-1]


TWIN = textwrap.dedent(
    """
    import pandas as pd
    import workbench as wb
    ds = wb.Dataset(pd.DataFrame({"q": [f"Name a colour, number {i}." for i in range(4)]}))
    v = wb.Variant("v", model="local/smollm2", user="{{ q }}",
                   params={"temperature": 0, "max_tokens": 16})
    res = wb.Experiment("twin", ds, [v]).run()
    assert res.df["error"].isna().all(), res.df["error"]
    print("done", len(res.df))
    """
)


@pytest.mark.local_model
def test_two_local_runs_at_once_both_finish(tmp_path: Path) -> None:
    procs: list[subprocess.Popen[str]] = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        env = {**os.environ, "WORKBENCH_STORE": str(folder / "store")}
        env.pop("WORKBENCH_LOCAL_THREADS", None)  # the default rule, as for two users' demos
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", TWIN],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        results = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "done 4" in out
