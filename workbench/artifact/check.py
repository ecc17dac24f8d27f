"""Re-run an exported prompt's evaluation and judge it against the record (``workbench check``).

The prompt is rebuilt from the artifact (its ``.prompty`` messages, model and params — what
production loads), the dataset from the record (path, checked against its fingerprint) and the
scorers from their specs; it runs through the normal engine, so cached calls are reused.
Pairwise scorers judge each new output against the recorded output of their baseline (from the
evidence; against the recorded output of the prompt itself when it is the baseline).

The verdict (:func:`judge_check`) is pure: it reads the recorded evidence and the new run table.
Row by row on the rows both have, repeats reduced per row as recorded, each scorer gets a paired
non-inferiority test against ``margin`` (:mod:`workbench.analysis.gate`) at a confidence split
evenly over the gated scorers (Bonferroni: the gate fails on any scorer exactly when Holm's
procedure would reject one). A scorer whose every recorded output and score came back the same
is *reproduced*: nothing changed, so it passes without a test. With ``min_pass_rate`` only the
first scorer is gated, against that floor. Rows that went from pass to fail are always listed; a
call that failed where the record has an answer makes the check an ``error`` (rerun it), not a
regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.analysis.gate import (
    GateTest,
    min_rate,
    noninferiority_binary,
    noninferiority_values,
)
from workbench.analysis.report import by_row
from workbench.analysis.run import analyze
from workbench.artifact.check_inputs import (
    CheckInputs,
    Evidence,
    check_inputs,
    row_key,
    variant_of,
)
from workbench.artifact.check_report import (
    ALPHA,
    DEFAULT_MARGIN,
    CheckReport,
    ScorerCheck,
    ScorerStatus,
    Sequential,
    Status,
    level,
)
from workbench.artifact.loader import LoadedPrompt
from workbench.artifact.store import normalize
from workbench.errors import ArtifactError, WorkbenchError
from workbench.plain import plain
from workbench.results.frame import input_column
from workbench.results.table import RunTable
from workbench.scoring.reducers import Reducer, get_reducer

__all__ = [
    "ALPHA",
    "DEFAULT_MARGIN",
    "CheckInputs",
    "CheckOptions",
    "CheckReport",
    "ScorerCheck",
    "Sequential",
    "check_inputs",
    "judge_check",
    "variant_of",
]


@dataclass(frozen=True)
class CheckOptions:
    """How a check judges."""

    margin: float = DEFAULT_MARGIN
    """How much worse than recorded (pass rate, or the score's own units) is still fine."""
    min_pass_rate: float | None = None
    """Instead: the first scorer's pass rate must not be significantly below this floor."""
    alpha: float = ALPHA
    """The error budget of this judgement (a sequential look's share of ``ALPHA``)."""
    final: bool = True
    """This judgement sees every row (only then can a scorer be *reproduced*)."""


def _frame(records: Sequence[Mapping[str, Any]], scorer: str, winner: str) -> pd.DataFrame:
    """The recorded cells of one scorer as the columns :func:`by_row` reads."""
    return pd.DataFrame(
        {
            "variant": [winner] * len(records),
            "row_id": [str(e["row_id"]) for e in records],
            "error": [e.get("error") for e in records],
            "output": [e.get("output") for e in records],
            scorer: [(e.get("scores") or {}).get(scorer, {}).get("value") for e in records],
            f"{scorer}_pass": [
                (e.get("scores") or {}).get(scorer, {}).get("passed") for e in records
            ],
        }
    )


def _failed(error: Any) -> bool:
    return isinstance(error, str) and bool(error) and not error.startswith("not run")


@dataclass(frozen=True)
class _Pairing:
    """Which new rows match recorded rows (same id, same input values)."""

    ids: list[str]
    """Row ids present in both, with the same values."""
    changed: list[str]
    """Same id, different values: not compared."""
    unpaired: int
    """New rows with no recorded counterpart."""

    @classmethod
    def of(cls, evidence: Evidence, df: pd.DataFrame) -> _Pairing:
        recorded = {
            str(e["row_id"]): row_key(e.get("inputs") or {}, evidence.columns)
            for e in evidence.records
        }
        new: dict[str, str] = {}
        for row in df.to_dict(orient="records"):
            values = {c: normalize(row.get(input_column(c))) for c in evidence.columns}
            new.setdefault(str(row["row_id"]), row_key(values, evidence.columns))
        ids = [r for r in new if recorded.get(r) == new[r]]
        changed = [r for r in new if r in recorded and recorded[r] != new[r]]
        return cls(ids, changed, len(new) - len(ids) - len(changed))


def _reproduced(
    records: Sequence[Mapping[str, Any]], df: pd.DataFrame, scorer: str, ids: set[str]
) -> bool:
    """Every recorded cell of the compared rows has the same output and score now."""
    then = {
        (str(e["row_id"]), int(e.get("repeat") or 0)): (
            e.get("output"),
            (e.get("scores") or {}).get(scorer, {}).get("passed"),
            (e.get("scores") or {}).get(scorer, {}).get("value"),
        )
        for e in records
        if str(e["row_id"]) in ids
    }
    part = df[df["row_id"].astype(str).isin(ids)]
    now = {
        (str(r["row_id"]), int(r["repeat"])): (
            normalize(plain(r["output"])),
            normalize(plain(r[f"{scorer}_pass"])),
            normalize(plain(r[scorer])),
        )
        for r in part.to_dict(orient="records")
    }
    return bool(then) and then == now


def _errors(records: Sequence[Mapping[str, Any]], df: pd.DataFrame) -> list[str]:
    """Calls that failed now where the record has an answer (or no record)."""
    then = {(str(e["row_id"]), int(e.get("repeat") or 0)): e.get("error") for e in records}
    out = []
    for r in df.to_dict(orient="records"):
        key = (str(r["row_id"]), int(r["repeat"]))
        if _failed(r["error"]) and not _failed(then.get(key)):
            out.append(f"row {key[0]} repeat {key[1]}: {r['error']}")
    return out


def _by_id(rows: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    if not len(rows):
        return rows
    indexed = rows.assign(row_id=rows["row_id"].astype(str)).set_index("row_id")
    keep = [i for i in ids if i in indexed.index]
    return indexed.loc[keep]


def _newly_failing(before: pd.DataFrame, after: pd.DataFrame) -> tuple[str, ...]:
    if not len(before) or not len(after):
        return ()
    old = {i: bool(p) for i, p in before["row_pass"].items() if not pd.isna(p)}
    return tuple(
        str(i) for i, p in after["row_pass"].items() if old.get(i) and not pd.isna(p) and not p
    )


def _judge_scorer(
    name: str,
    *,
    evidence: Evidence,
    table: RunTable,
    pairing: _Pairing,
    reducer: Reducer,
    options: CheckOptions,
    confidence: float,
    pairwise_self: bool | None,
    recorded_rate: float | None,
) -> ScorerCheck:
    """One scorer: the paired non-inferiority gate (``pairwise_self``: None for an ordinary
    scorer, else whether the prompt is its own pairwise baseline)."""
    winner = table.variants[0]
    before = by_row(_frame(evidence.records, name, winner), name, reducer)
    after_all = by_row(table.df, name, reducer)
    after_all = after_all[after_all["n"] > 0]
    ids = [i for i in pairing.ids if i in set(after_all["row_id"].astype(str))]
    before, after = _by_id(before[before["n"] > 0], ids), _by_id(after_all, ids)
    if pairwise_self is not None:
        # Preference: win 1, tie 0.5, loss 0. Against itself the recorded prompt ties.
        if pairwise_self:
            before = after[[]].assign(score=0.5)
        common = [i for i in after.index if i in before.index]
        new_values, old_values = after.loc[common, "score"], before.loc[common, "score"]
        test = noninferiority_values(old_values, new_values, options.margin, confidence)
        measure = "mean preference"
        rate = float(after_all["score"].mean()) if len(after_all) else None
        rate_low = rate_high = None
    else:
        common = [i for i in after.index if i in before.index]
        binary = bool(common) and bool(
            before.loc[common, "row_pass"].notna().all()
            and after.loc[common, "row_pass"].notna().all()
        )
        if binary:
            old = before.loc[common, "row_pass"].astype(bool)
            new = after.loc[common, "row_pass"].astype(bool)
            test = noninferiority_binary(old, new, options.margin, confidence)
            measure = "pass rate"
        else:
            old_v = before.loc[common, "value"].astype(float)
            new_v = after.loc[common, "value"].astype(float)
            test = noninferiority_values(old_v, new_v, options.margin, confidence)
            measure = f"mean {name}"
        summary = analyze(table).summary(reducer).iloc[0]
        rate = _num(summary.get(f"{name}_pass_rate"))
        rate_low, rate_high = (
            _num(summary.get(f"{name}_pass_low")),
            _num(summary.get(f"{name}_pass_high")),
        )
    failing = _newly_failing(before, after) if pairwise_self is None else ()
    reproduced = (
        options.final
        and not pairing.changed
        and len(common) == len({str(e["row_id"]) for e in evidence.records})
        and _reproduced(evidence.records, table.df, name, set(common))
    )
    status: ScorerStatus = "pass" if reproduced else test.decision
    return ScorerCheck(
        scorer=name,
        status=status,
        reason=_reason(name, status, test, reproduced, measure),
        test=test,
        reproduced=reproduced,
        paired=len(common),
        unpaired=pairing.unpaired + len(pairing.changed),
        recorded_rate=recorded_rate,
        rate=rate,
        rate_low=rate_low,
        rate_high=rate_high,
        newly_failing=failing,
        measure=measure,
    )


def _num(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _points(test: GateTest, value: float, unit: bool = True) -> str:
    if test.kind == "mean":
        return f"{value:+.3g}"
    return f"{value * 100:+.0f}" + (" points" if unit else "")


def _reason(name: str, status: str, test: GateTest, reproduced: bool, measure: str) -> str:
    """The one-line finding for a scorer."""
    if reproduced:
        return f"{name}: reproduced: every recorded output and score came back the same"
    if test.n == 0:
        return f"{name}: inconclusive at n=0: no row of the new run matches a recorded row"
    allowed = _points(test, test.threshold).lstrip("+-")
    old = "–" if test.recorded is None else _rate(test, test.recorded)
    moved = f"{measure} {old} -> {_rate(test, test.new)}"
    interval = (
        f"{_points(test, test.effect)}, {level(test.confidence)} CI "
        f"{_points(test, test.ci_low, False)} to {_points(test, test.ci_high, False)}, "
        f"{test.method}"
    )
    if status == "regression":
        return (
            f"{name} {'pass rate fell' if test.kind == 'pass rate' else measure + ' fell'} from "
            f"{old} to {_rate(test, test.new)} on the same {test.n} rows ({interval}): worse "
            f"than {allowed} below the record (p={test.p_regression:.3g})"
        )
    if status == "pass":
        return (
            f"{name}: {moved} on the same {test.n} rows ({interval}): no worse than {allowed} "
            f"below the record (p={test.p_pass:.3g})"
        )
    if test.rows_needed:
        need = f"; about {test.rows_needed} rows would settle it ({test.assumption})"
    else:
        need = f"; {test.assumption}" if test.assumption else ""
    return (
        f"{name}: inconclusive at n={test.n}: {moved} ({interval}) — it may or may not be "
        f"more than {allowed} worse{need}"
    )


def _rate(test: GateTest, value: float) -> str:
    return f"{value:.0%}" if test.kind != "mean" else f"{value:.3g}"


def _floor_check(
    name: str, table: RunTable, reducer: Reducer, floor: float, confidence: float
) -> ScorerCheck:
    rows = by_row(table.df, name, reducer)
    rows = rows[(rows["n"] > 0) & rows["row_pass"].notna()]
    passes = int(rows["row_pass"].astype(bool).sum())
    test = min_rate(passes, len(rows), floor, confidence)
    interval = f"{level(confidence)} CI {test.ci_low:.0%} to {test.ci_high:.0%}, {test.method}"
    if test.decision == "regression":
        reason = f"{name} pass rate {test.new:.0%} ({interval}) is below the required {floor:.0%} (p={test.p_regression:.3g})"
    elif test.decision == "pass":
        reason = f"{name}: pass rate {test.new:.0%} ({interval}) is at least {floor:.0%} (p={test.p_pass:.3g})"
    else:
        reason = f"{name}: inconclusive at n={test.n}: pass rate {test.new:.0%} ({interval}) may be above or below {floor:.0%}"
    return ScorerCheck(name, test.decision, reason, test, paired=len(rows), rate=test.new)


def judge_check(
    prompt: LoadedPrompt,
    inputs: CheckInputs,
    table: RunTable,
    *,
    model: str | None = None,
    options: CheckOptions | None = None,
    sequential: Sequential | None = None,
) -> CheckReport:
    """Compare the check run (``table``) with the record the prompt shipped with (pure)."""
    options = options or CheckOptions()
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
    winner = str(record.get("variant"))
    evidence = Evidence.of(prompt, winner)
    pairing = _Pairing.of(evidence, table.df)
    then = (record.get("variants") or {}).get(winner) or {}
    recorded_scores = then.get("scores") or {}
    checks: list[ScorerCheck] = []
    names = list(table.scorers)
    if options.min_pass_rate is not None:
        floor = options.min_pass_rate
        for i, name in enumerate(names):
            if i == 0:
                checks.append(_floor_check(name, table, reducer, floor, 1.0 - options.alpha))
            else:
                checks.append(
                    ScorerCheck(
                        name, "info", f"{name}: not gated (--min-pass-rate gates the first scorer)"
                    )
                )
        rule = f"{names[0] if names else 'pass rate'} not significantly below {floor:.0%}"
    else:
        confidence = 1.0 - options.alpha / max(1, len(names))
        for name in names:
            base = inputs.pairwise.get(name)
            checks.append(
                _judge_scorer(
                    name,
                    evidence=evidence,
                    table=table,
                    pairing=pairing,
                    reducer=reducer,
                    options=options,
                    confidence=confidence,
                    pairwise_self=None if base is None else base == winner,
                    recorded_rate=_num((recorded_scores.get(name) or {}).get("pass_rate")),
                )
            )
        rule = (
            f"no scorer significantly worse than its record by more than "
            f"{options.margin * 100:g} points (paired, row by row)"
        )
    checks += [ScorerCheck(name, "skipped", why) for name, why in inputs.skipped]
    if pairing.changed:
        notes.append(
            f"rows with the same id but other values, not compared: {', '.join(pairing.changed[:10])}"
        )
    errors = _errors(evidence.records, table.df)
    gated = [c for c in checks if c.status not in ("skipped", "info")]
    status: Status
    if errors:
        status = "error"
    elif any(c.status == "regression" for c in gated):
        status = "regression"
    elif gated and all(c.status == "pass" for c in gated):
        status = "pass"
    else:
        status = "inconclusive"
    summary = analyze(table).summary(reducer).iloc[0]
    return CheckReport(
        prompt=f"{prompt.name}@{prompt.version}",
        status=status,
        scorers=checks,
        rule=rule,
        margin=options.margin,
        min_pass_rate=options.min_pass_rate,
        alpha=options.alpha,
        model=str(inputs.variant.model),
        model_from=prompt.model if model and model != prompt.model else None,
        rows=len(inputs.dataset),
        repeats=inputs.repeats,
        notes=notes,
        errors=errors,
        cost_usd=_num(summary["cost_usd"]),
        recorded_cost_usd=_num(then.get("cost_usd")),
        calls=int(summary["n"]),
        cached=int(summary["cached"]),
        sequential=sequential,
        results=table,
    )
