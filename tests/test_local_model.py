"""The embedded SmolLM2 model answers real prompts, offline, deterministically."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import workbench as wb
from workbench.cli import main
from workbench.models import ModelId, default_model
from workbench.providers.base import ChatRequest
from workbench.providers.local import LocalProvider

pytestmark = pytest.mark.local_model


def _ask(question: str, **params: object) -> tuple[str, int | None, int | None, str | None]:
    provider = LocalProvider()
    request = ChatRequest(
        ModelId("local", "smollm2"),
        (
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": question},
        ),
        {"max_tokens": 16, **params},
    )
    response = asyncio.run(provider.generate(request, timeout=60))
    assert response.text is not None
    return response.text, response.input_tokens, response.output_tokens, response.finish_reason


def test_answers_a_real_prompt_with_usage() -> None:
    text, input_tokens, output_tokens, finish = _ask(
        "What is the capital of France?", temperature=0
    )
    assert "Paris" in text
    assert input_tokens is not None and input_tokens > 10
    assert output_tokens is not None and 0 < output_tokens <= 16
    assert finish in ("stop", "length")


def test_deterministic_at_temperature_zero_and_seed_honoured() -> None:
    first = _ask("Name a colour.", temperature=0)
    assert _ask("Name a colour.", temperature=0) == first
    hot = _ask("Write a word.", temperature=1.5, seed=7)
    assert _ask("Write a word.", temperature=1.5, seed=7) == hot


def test_is_the_default_model_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_DEFAULT_MODEL", raising=False)
    assert default_model() == "local/smollm2"


def test_unknown_local_model_lists_known() -> None:
    with pytest.raises(wb.WorkbenchError, match="local/smollm2"):
        LocalProvider.resolve("llama-70b")


def test_demo_runs_offline_then_reruns_from_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Leaderboard" in out and "terse" in out and "friendly" in out
    files = list((tmp_path / "out").glob("demo-capitals-*.csv"))
    assert len(files) == 1
    import pandas as pd

    df = pd.read_csv(files[0])
    assert len(df) == 40 and df["error"].isna().all() and not df["cached"].any()
    assert df["has_city_pass"].mean() > 0.3  # the tiny model still knows some capitals

    assert main(["demo", "--out", str(tmp_path / "out2")]) == 0
    again = pd.read_csv(next((tmp_path / "out2").glob("*.csv")))
    assert again["cached"].all()
    assert list(again["output"]) == list(df["output"])
    capsys.readouterr()
    assert main(["runs", "demo-capitals"]) == 0  # what "where to look next" suggests
    history = capsys.readouterr().out
    assert history.count("demo-capitals  ") == 2 and "has_city" in history
