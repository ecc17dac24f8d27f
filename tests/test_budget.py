"""Token budget: segments, overflow, truncation previews, budgets across a dataset."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest
from budget_cases import chat_variant

import workbench as wb
from workbench.errors import ConfigError
from workbench.providers.local import local_models
from workbench.token_budget import Budget, budget, dataset_budget, reserved_output, truncate

DOC = "The quick brown fox jumps over the lazy dog. " * 40  # ~400 estimated tokens
needs_local_vocab = pytest.mark.skipif(
    local_models().get("smollm2") is None or not importlib.util.find_spec("tokenizers"),
    reason="needs the local weights and the tokenizers package",
)


ROW = {"doc": DOC, "question": "What jumps?", "earlier": "Hi", "earlier_reply": "Hello!"}


def test_segments_cover_the_whole_prompt() -> None:
    b = budget(chat_variant(max_tokens=64), ROW)
    labels = [s.label for s in b.segments]
    assert labels == [
        "system",
        "example 1 (user)",
        "example 1 (assistant)",
        "turn 1 (user)",
        "turn 1 (assistant)",
        "user",
        "field: doc",
        "template overhead",
    ]
    assert sum(s.tokens for s in b.segments) == b.prompt_tokens
    field = b.segments[6]
    assert field.kind == "field" and field.parent == "user" and field.tokens > 200
    assert b.reserved_output == 64
    assert b.free == 1_000_000 - 64 - b.prompt_tokens and not b.overflow
    assert not b.exact and b.method.startswith("estimate")
    table = b.table()
    assert list(table["segment"])[-2:] == ["reserved output", "free"]
    assert "field: doc" in b._repr_html_() and "estimate" in repr(b)


def test_overflow_with_a_tiny_context() -> None:
    wb.models.register(
        "fake/tiny", context_window=50, max_output=10, input_per_1m=0, output_per_1m=0
    )
    v = wb.Variant("tiny", model="fake/tiny", user="{{ text }}")
    small = budget(v, {"text": "short"})
    assert small.reserved_output == 10 and not small.overflow and small.free is not None
    big = wb.budget(v, {"text": "word " * 60})
    assert big.overflow and big.free is not None and big.free < 0
    assert "OVERFLOW" in big.summary() and "Overflow" in big._repr_html_()


def test_wb_budget_is_lazy_and_stays_the_function() -> None:
    code = (
        "import sys, workbench as wb; assert 'workbench.token_budget' not in sys.modules; "
        "import workbench.token_budget; assert callable(wb.budget)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    v = wb.Variant("v", model="fake/echo", user="{{ q }}")
    assert isinstance(wb.budget(v, {"q": "hi"}), Budget)


def test_reserved_output_defaults() -> None:
    v = wb.Variant("v", user="hi")
    assert reserved_output(v.replace(model="local/smollm2")) == 256
    assert reserved_output(v.replace(model="anthropic/claude-haiku-4-5")) == 1024
    assert reserved_output(v.replace(model="openai/gpt-4o-mini")) == 4096
    assert reserved_output(v.replace(model="fake/x", params={"max_tokens": 7})) == 7


def test_truncate_drop_oldest_turns() -> None:
    v = chat_variant()
    before = budget(v, ROW)
    one_unit = budget(v.replace(messages=v.messages[2:]), ROW).prompt_tokens
    t = truncate(v, ROW, one_unit, "drop_oldest_turns")
    assert t.fits and t.after.prompt_tokens == one_unit < before.prompt_tokens
    assert t.cut[0].startswith("dropped example 1 (user)") and len(t.cut) == 2
    assert t.variant is not None and len(t.variant.messages) == 2
    # a target below system + user input cannot be met by dropping turns
    hopeless = truncate(v, ROW, 10, "drop_oldest_turns")
    assert not hopeless.fits and len(hopeless.cut) == 4 and "still over" in repr(hopeless)
    table = t.table().set_index("segment")
    assert list(table.columns) == ["before", "after"]
    assert table.loc["example 1 (user)", "after"] == 0  # dropped
    kept = table.loc[["turn 1 (user)", "turn 1 (assistant)", "user", "field: doc"]]
    assert (kept["before"] == kept["after"]).all()  # same labels after the drop


def test_truncate_trim_longest_field() -> None:
    v = chat_variant()
    before = budget(v, ROW)
    t = truncate(v, ROW, before.prompt_tokens - 100, "trim_longest_field")
    assert t.fits and before.prompt_tokens - 110 <= t.after.prompt_tokens <= t.target_tokens
    assert t.cut[0].startswith("field: doc trimmed from ")
    assert DOC.startswith(t.row["doc"]) and len(t.row["doc"]) < len(DOC)
    assert t.row["question"] == ROW["question"]
    nothing = truncate(v, ROW, before.prompt_tokens, "trim_longest_field")
    assert nothing.fits and nothing.cut == ()


def test_truncate_default_target_and_errors() -> None:
    wb.models.register("fake/tiny", context_window=60, max_output=10)
    v = wb.Variant("tiny", model="fake/tiny", user="{{ text }}")
    t = truncate(v, {"text": "word " * 80}, strategy="trim_longest_field")
    assert t.target_tokens == 50 and t.fits and not t.after.overflow
    with pytest.raises(ConfigError, match="strategy"):
        truncate(v, {"text": "x"}, 10, "summarise")  # type: ignore[arg-type]


def test_dataset_budget_finds_overflowing_rows() -> None:
    wb.models.register("fake/tiny", context_window=50, max_output=10)
    v = wb.Variant("tiny", model="fake/tiny", user="{{ text }}")
    ds = wb.Dataset(
        pd.DataFrame({"id": ["a", "b", "c"], "text": ["short", "word " * 60, "a bit longer"]})
    )
    db = dataset_budget(v, ds)
    assert list(db.df.columns) == ["row_id", "prompt_tokens", "free", "overflow"]
    assert list(db.overflowing["row_id"]) == ["b"]
    assert db.summary["max"] == db.df["prompt_tokens"].max() > 40
    assert set(db.summary) == {"min", "median", "p95", "max"}
    assert "1 row(s) overflow" in str(db) and "<table" in db._repr_html_()
    rows = dataset_budget(v, [{"text": "x"}, {"text": "y"}])
    assert list(rows.df["row_id"]) == ["0", "1"] and rows.overflowing.empty
    # As in an experiment, an `id` column names the rows, whether rows come as dicts or a frame.
    named = [{"id": "q1", "text": "x"}, {"id": "q2", "text": "word " * 60}]
    assert list(dataset_budget(v, named).overflowing["row_id"]) == ["q2"]
    assert list(dataset_budget(v, pd.DataFrame(named)).df["row_id"]) == ["q1", "q2"]
    with pytest.raises(wb.WorkbenchError, match="list of row dicts"):
        dataset_budget(v, ["not a row"])


@needs_local_vocab
def test_local_budget_shows_the_inserted_system_prompt() -> None:
    v = wb.Variant("plain", model="local/smollm2", user="{{ question }}")
    b = budget(v, {"question": "What is the capital of France?"})
    assert b.exact and b.method == "smollm2 vocabulary + chat template"
    first = b.segments[0]
    assert first.kind == "inserted" and first.label == "system prompt inserted by the chat template"
    assert first.preview.startswith("You are a helpful AI assistant named SmolLM")
    assert sum(s.tokens for s in b.segments) == b.prompt_tokens
    assert b.context_window == 8192 and b.reserved_output == 256
