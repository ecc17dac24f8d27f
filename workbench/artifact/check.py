"""Re-run an exported prompt's evaluation and decide whether it regressed (``workbench check``).

The prompt is rebuilt from the artifact (its ``.prompty`` messages, model and params — what
production loads), the dataset from the record (path, checked against its fingerprint) and the
scorers from their specs; it runs through the normal engine, so cached calls are reused.

Rules: with ``min_pass_rate`` the primary scorer's pass rate must reach it; otherwise (no
regression) no scorer's pass rate may fall below the recorded one by more than ``tolerance``.
The report names every scorer that got worse and the rows that went from pass to fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.report import by_row
from workbench.analysis.run import analyze
from workbench.artifact.loader import LoadedPrompt
from workbench.data.dataset import Dataset
from workbench.errors import ArtifactError, TemplateError, WorkbenchError
from workbench.prompts.tools import find_function
from workbench.prompts.variant import Variant
from workbench.results.table import RunTable
from workbench.scoring.base import Scorer, build_scorer
from workbench.scoring.reducers import get_reducer

__all__ = ["CheckInputs", "CheckReport", "check_inputs", "judge_check", "variant_of"]


@dataclass
class CheckReport:
    """What ``workbench check`` found."""

    prompt: str
    regressed: bool
    worse: list[str] = field(default_factory=list)
    """One line per thing that got worse."""
    lines: list[str] = field(default_factory=list)
    """The full report."""
    results: RunTable | None = None
    """The check run."""

    def __str__(self) -> str:
        return "\n".join(self.lines)


def variant_of(prompt: LoadedPrompt, model: str | None = None) -> Variant:
    """The artifact's prompt as a Variant (optionally on another model)."""
    turns = list(prompt.prompt.messages)
    history = prompt.prompt.history
    after: list[tuple[str, str]] = []
    if history is not None:  # the conversation's turns go after messages, before user
        turns, after = turns[: prompt.prompt.history_at], turns[prompt.prompt.history_at :]
        if len(after) > 1 or any(role != "user" for role, _ in after):
            raise ArtifactError(
                f"{prompt.path}: only a user message may follow the conversation "
                f"'{history}' for workbench to rebuild the variant; found "
                f"{[role for role, _ in after]}."
            )
    system = turns.pop(0)[1] if turns and turns[0][0] == "system" else None
    if history is None:
        user = turns.pop()[1] if turns and turns[-1][0] == "user" else None
    else:
        user = after[0][1] if after else None
    tools = prompt.tools
    meta = prompt.prompt.metadata
    offered: list[Any] = list(tools.definitions) if tools is not None else []
    steps = meta.get("max_steps")
    if tools is not None and steps is not None:  # a tool loop: its functions, imported
        paths = dict(meta.get("tool_functions") or {})
        try:
            offered = [
                find_function(paths.get(n, ""), f"{prompt.path}: tool {n!r}") for n in tools.names
            ]
        except TemplateError as exc:
            raise ArtifactError(
                f"{exc} The prompt runs a tool loop (max_steps={steps}), which calls these functions."
            ) from None
    return Variant(
        name=str(prompt.eval.get("variant") or prompt.name),
        model=model or prompt.model,
        system=system,
        user=user,
        messages=[{"role": r, "content": c} for r, c in turns],
        params=prompt.params,
        history=history,
        tools=offered,
        tool_choice=tools.choice if tools is not None else None,
        parallel_tool_calls=tools.parallel if tools is not None else None,
        max_steps=steps if tools is not None else None,
    )


def _dataset(record: Mapping[str, Any], override: str | Path | None) -> tuple[Dataset, list[str]]:
    info = record.get("dataset") or {}
    notes: list[str] = []
    raw = override or info.get("path")
    if not raw:
        raise ArtifactError(
            "The record names no dataset file (it came from a DataFrame): pass --dataset FILE."
        )
    path = Path(str(raw))
    if not path.is_file():
        raise ArtifactError(
            f"Dataset {path} not found (paths in the record are relative to the folder the "
            f"export ran in): run from that folder or pass --dataset FILE."
        )
    dataset = Dataset.from_file(path, id_column=info.get("id_column"))
    if dataset.fingerprint != info.get("fingerprint"):
        notes.append(
            f"dataset {path} differs from the one evaluated ({len(dataset)} rows now, "
            f"{info.get('rows')} then; fingerprint changed)"
        )
    return dataset, notes


def _scorers(record: Mapping[str, Any]) -> tuple[list[Scorer], list[str]]:
    out: list[Scorer] = []
    notes: list[str] = []
    for spec in record.get("scorers") or []:
        name = spec.get("name") if isinstance(spec, Mapping) else spec
        if name == "pairwise":
            notes.append("scorer 'pairwise' skipped (it compares two variants; check runs one)")
            continue
        try:
            out.append(build_scorer(spec))
        except WorkbenchError as exc:
            notes.append(f"scorer {name!r} skipped: {exc}")
    return out, notes


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{float(value):.0%}"


def _recorded_rows(prompt: LoadedPrompt, scorer: str, reducer: Any) -> pd.DataFrame:
    variant = prompt.eval.get("variant")
    records = [e for e in prompt.evidence() if e["variant"] == variant]
    frame = pd.DataFrame(
        {
            "variant": [e["variant"] for e in records],
            "row_id": [e["row_id"] for e in records],
            "error": [e["error"] for e in records],
            "output": [e["output"] for e in records],
            scorer: [e["scores"].get(scorer, {}).get("value") for e in records],
            f"{scorer}_pass": [e["scores"].get(scorer, {}).get("passed") for e in records],
        }
    )
    return by_row(frame, scorer, reducer) if len(frame) else frame


def _passes(rows: pd.DataFrame) -> dict[str, bool]:
    """row_id -> reduced verdict, for rows that have one."""
    if not len(rows):
        return {}
    pairs = zip(rows["row_id"].astype(str), rows["row_pass"], strict=True)
    return {r: bool(p) for r, p in pairs if not pd.isna(p)}


def _newly_failing(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    old = _passes(before)
    return [r for r, p in _passes(after).items() if old.get(r) and not p]


@dataclass(frozen=True)
class CheckInputs:
    """What a check runs: the artifact's prompt as a variant, the dataset and the scorers."""

    experiment: str
    variant: Variant
    dataset: Dataset
    scorers: list[Scorer]
    repeats: int
    notes: list[str]


def check_inputs(
    prompt: LoadedPrompt, model: str | None = None, dataset: str | Path | None = None
) -> CheckInputs:
    """Rebuild what the record says was evaluated (optionally on another model or dataset)."""
    record = prompt.eval
    ds, notes = _dataset(record, dataset)
    scorers, skipped = _scorers(record)
    return CheckInputs(
        str(record.get("experiment") or prompt.name),
        variant_of(prompt, model),
        ds,
        scorers,
        int(record.get("repeats") or 1),
        notes + skipped,
    )


def judge_check(
    prompt: LoadedPrompt,
    inputs: CheckInputs,
    table: RunTable,
    *,
    model: str | None = None,
    min_pass_rate: float | None = None,
    tolerance: float = 0.0,
) -> CheckReport:
    """Compare the check run (``table``) with the record the prompt shipped with."""
    if table.record.status != "complete":
        run = table.record
        raise ArtifactError(f"The check run did not finish ({run.status}): {run.message}")
    record = prompt.eval
    notes = list(inputs.notes)
    try:
        reducer = get_reducer(record.get("reducer"))
    except WorkbenchError:
        reducer = get_reducer(None)
        notes.append(f"reducer {record.get('reducer')!r} unknown here; used {reducer}")
    stats = analyze(table)
    summary = stats.summary(reducer).iloc[0]
    variant = inputs.variant
    then = (record.get("variants") or {}).get(variant.name) or {}
    label = f"{prompt.name}@{prompt.version}"
    moved = f" (model {prompt.model} -> {model})" if model and model != prompt.model else ""
    lines = [
        f"check {label}: {variant.model}{moved}, {len(inputs.dataset)} rows × "
        f"{inputs.repeats} repeats"
    ]
    worse: list[str] = []
    for name in table.scorers:
        now = summary.get(f"{name}_pass_rate")
        low, high = summary.get(f"{name}_pass_low"), summary.get(f"{name}_pass_high")
        old = ((then.get("scores") or {}).get(name) or {}).get("pass_rate")
        line = (
            f"  {name}: pass rate {_pct(now)} (95% CI {_pct(low)}–{_pct(high)}), "
            f"recorded {_pct(old)}"
        )
        failing = _newly_failing(_recorded_rows(prompt, name, reducer), stats.by_row(name, reducer))
        if failing:
            line += f"; rows now failing: {', '.join(failing[:10])}"
            line += " …" if len(failing) > 10 else ""
        lines.append(line)
        if now is None or now != now:
            continue
        if min_pass_rate is not None:
            if name == table.scorers[0] and now < min_pass_rate:
                worse.append(
                    f"{name} pass rate {_pct(now)} is below the required {_pct(min_pass_rate)}"
                )
        elif old is not None and now < old - tolerance - 1e-12:
            worse.append(
                f"{name} pass rate fell from {_pct(old)} to {_pct(now)}"
                + (f" (rows now failing: {', '.join(failing[:10])})" if failing else "")
            )
    errors_then, errors_now = then.get("errors"), int(summary["errors"])
    if errors_then is not None and errors_now > errors_then:
        lines.append(f"  errors: {errors_then} -> {errors_now}")
    cost = summary["cost_usd"]
    shown = "unknown" if cost is None or cost != cost else f"${float(cost):.4f}"
    lines.append(
        f"  cost {shown} (recorded ${float(then.get('cost_usd') or 0):.4f}), "
        f"{int(summary['cached'])} of {int(summary['n'])} calls from the cache"
    )
    lines += [f"  note: {n}" for n in notes]
    regressed = bool(worse)
    if regressed:
        lines.append("REGRESSED: " + "; ".join(worse))
    else:
        rule = (
            f"{table.scorers[0] if table.scorers else 'pass rate'} >= {_pct(min_pass_rate)}"
            if min_pass_rate is not None
            else "no scorer below its recorded pass rate"
        )
        lines.append(f"OK: {rule}")
    return CheckReport(label, regressed, worse, lines, table)
