"""The README's quickstart runs as written (on the embedded model, offline)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).parent.parent / "README.md"


def quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Quickstart has a python block"
    return match.group(1)


@pytest.mark.local_model
def test_quickstart_runs(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "question": ["What is the capital of France?", "What is the capital of Japan?"],
            "expected": ["Paris", "Tokyo"],
        }
    ).to_csv(tmp_path / "questions.csv", index=False)
    namespace: dict[str, object] = {}
    exec(compile(quickstart(), str(README), "exec"), namespace)  # the user's code, verbatim
    res = namespace["res"]
    df = res.df  # type: ignore[attr-defined]
    assert len(df) == 2 * 2 * 3  # rows × variants × repeats
    assert df["error"].isna().all()
    assert set(df["variant"]) == {"terse", "friendly"}
    assert "contains_pass" in df.columns
