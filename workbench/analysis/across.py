"""Two runs side by side: the same experiment before and after a change (a reworded prompt, a new
model, a week of drift). Rows are lined up by row id, variants by prompt fingerprint (then by
name: the same variant with its prompt changed), and each matched pair gets the paired verdict
on the rows both runs have, with the rows that went from pass to fail and back."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.analysis.compare import Comparison, compare
from workbench.analysis.report import by_row
from workbench.errors import WorkbenchError
from workbench.results.table import RunTable
from workbench.scoring.reducers import Reducer, get_reducer

__all__ = ["RunPair", "RunsComparison", "compare_runs"]


@dataclass(frozen=True)
class RunPair:
    """A variant of run A matched with one of run B."""

    a: str
    b: str
    matched_by: str
    """``same prompt`` (equal fingerprints) or ``same name, prompt changed``."""
    comparison: Comparison | None
    """B against A on the shared rows (None without a shared scorer)."""
    regressions: tuple[str, ...] = ()
    """Rows that passed in A and fail in B (scores: went down)."""
    improvements: tuple[str, ...] = ()
    """Rows that failed in A and pass in B (scores: went up)."""

    @property
    def label(self) -> str:
        return self.a if self.a == self.b else f"{self.a} → {self.b}"


@dataclass(frozen=True)
class RunsComparison:
    """Run B against run A: which rows and variants line up, and the verdict for each pair."""

    a: RunTable
    b: RunTable
    scorer: str | None
    reducer: str
    shared_rows: tuple[str, ...]
    only_a: int
    """Rows only run A has."""
    only_b: int
    pairs: tuple[RunPair, ...]
    unmatched_a: tuple[str, ...] = ()
    unmatched_b: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def same_dataset(self) -> bool:
        return self.a.record.dataset.fingerprint == self.b.record.dataset.fingerprint

    def pair(self, variant: str | None = None) -> RunPair:
        """The pair of ``variant`` (A's or B's name; default: the first)."""
        for p in self.pairs:
            if variant is None or variant in (p.a, p.b):
                return p
        names = [p.label for p in self.pairs]
        raise WorkbenchError(f"No matched variant {variant!r}; matched: {names}.")

    def rows(self, variant: str | None = None) -> pd.DataFrame:
        """The shared rows of one pair: row id, each run's first output, pass and score, and
        ``change`` (regression, improvement or same)."""
        p = self.pair(variant)
        a, b = _first(self.a.df, p.a, self.scorer), _first(self.b.df, p.b, self.scorer)
        out = a.add_suffix("_a").join(b.add_suffix("_b"), how="inner").loc[list(self.shared_rows)]
        out["change"] = [
            "regression" if r in p.regressions else "improvement" if r in p.improvements else "same"
            for r in out.index
        ]
        return out.reset_index()

    def __str__(self) -> str:
        ra, rb = self.a.record, self.b.record
        lines = [
            f"A = run {ra.run_id} of '{ra.experiment}' ({ra.status}, {len(self.a.df)} cells)",
            f"B = run {rb.run_id} of '{rb.experiment}' ({rb.status}, {len(self.b.df)} cells)",
        ]
        if self.same_dataset:
            lines.append(
                f"Same dataset ({ra.dataset.fingerprint[:12]}): {len(self.shared_rows)} rows."
            )
        else:
            lines.append(
                f"Different datasets ({ra.dataset.fingerprint[:12]} vs "
                f"{rb.dataset.fingerprint[:12]}): matched on the {len(self.shared_rows)} rows both "
                f"have ({self.only_a} only in A, {self.only_b} only in B)."
            )
        lines += list(self.notes)
        for p in self.pairs:
            lines.append("")
            lines.append(f"{p.label} ({p.matched_by}):")
            verdict = str(p.comparison) if p.comparison else "no shared scorer to compare by"
            lines.append(f"  {verdict}")
            if p.comparison:
                lines.append(
                    f"  regressed (pass in A, fail in B): {len(p.regressions)} rows"
                    + (f" ({', '.join(p.regressions[:10])}" if p.regressions else "")
                    + ("…)" if len(p.regressions) > 10 else ")" if p.regressions else "")
                )
                lines.append(
                    f"  improved (fail in A, pass in B): {len(p.improvements)} rows"
                    + (f" ({', '.join(p.improvements[:10])}" if p.improvements else "")
                    + ("…)" if len(p.improvements) > 10 else ")" if p.improvements else "")
                )
        for side, names in (("A", self.unmatched_a), ("B", self.unmatched_b)):
            if names:
                lines.append(f"\nOnly in {side} (no variant to pair with): {', '.join(names)}")
        return "\n".join(lines)


def _first(df: pd.DataFrame, variant: str, scorer: str | None) -> pd.DataFrame:
    part = df[df["variant"] == variant].sort_values("repeat", kind="stable")
    part = part.drop_duplicates("row_id").set_index(part["row_id"].drop_duplicates().astype(str))
    cols = {"output": part["output"]}
    if scorer:
        cols |= {"passed": part[f"{scorer}_pass"], "score": part[scorer]}
    return pd.DataFrame(cols)


def _match(a: RunTable, b: RunTable) -> tuple[list[tuple[str, str, str]], list[str], list[str]]:
    """Pairs (a, b, how): equal prompt fingerprints first, then equal names."""
    left = {v.name: v.fingerprint for v in a.record.variants}
    right = {v.name: v.fingerprint for v in b.record.variants}
    pairs: list[tuple[str, str, str]] = []
    for name, print_ in left.items():
        same = [n for n, p in right.items() if p == print_ and n not in {q[1] for q in pairs}]
        if same:
            pairs.append((name, name if name in same else same[0], "same prompt"))
    taken_a, taken_b = {p[0] for p in pairs}, {p[1] for p in pairs}
    for name in left:
        if name not in taken_a and name in right and name not in taken_b:
            pairs.append((name, name, "same name, prompt changed"))
    taken_a, taken_b = {p[0] for p in pairs}, {p[1] for p in pairs}
    order = list(left)
    pairs.sort(key=lambda p: order.index(p[0]))
    return (
        pairs,
        [n for n in left if n not in taken_a],
        [n for n in right if n not in taken_b],
    )


def compare_runs(
    a: RunTable,
    b: RunTable,
    scorer: str | None = None,
    reducer: str | Reducer | None = None,
) -> RunsComparison:
    """Run ``b`` against run ``a`` (the earlier), on ``scorer`` (default: the first both
    have); repeats reduced by ``reducer`` (default majority)."""
    red = get_reducer(reducer)
    shared = [s for s in a.scorers if s in b.scorers]
    notes: list[str] = []
    if scorer is not None and scorer not in shared:
        raise WorkbenchError(f"Scorer '{scorer}' is not in both runs; both have: {shared}.")
    name = scorer or (shared[0] if shared else None)
    if name is None:
        notes.append(f"No scorer in both runs (A: {a.scorers}, B: {b.scorers}): no verdicts.")
    ids_a = list(dict.fromkeys(a.df["row_id"].astype(str)))
    ids_b = set(b.df["row_id"].astype(str))
    rows = [r for r in ids_a if r in ids_b]
    matched, only_a, only_b = _match(a, b)
    pairs = []
    for va, vb, how in matched:
        if name is None or not rows:
            pairs.append(RunPair(va, vb, how, None))
            continue
        left = _reduced(a.df, va, name, red, rows, f"{va} (A)")
        right = _reduced(b.df, vb, name, red, rows, f"{vb} (B)")
        both = pd.concat([left, right], ignore_index=True)
        result = compare(both, f"{va} (A)", f"{vb} (B)", name, red)
        x = left.set_index("row_id")["value"]
        y = right.set_index("row_id")["value"].reindex(x.index)
        pairs.append(
            RunPair(
                va,
                vb,
                how,
                result,
                regressions=tuple(str(r) for r in x.index[(y < x).fillna(False)]),
                improvements=tuple(str(r) for r in x.index[(y > x).fillna(False)]),
            )
        )
    return RunsComparison(
        a,
        b,
        name,
        str(red),
        tuple(rows),
        len(ids_a) - len(rows),
        len(ids_b) - len(rows),
        tuple(pairs),
        tuple(only_a),
        tuple(only_b),
        tuple(notes),
    )


def _reduced(
    df: pd.DataFrame, variant: str, scorer: str, reducer: Reducer, rows: list[str], label: str
) -> pd.DataFrame:
    part = df[(df["variant"] == variant) & df["row_id"].astype(str).isin(rows)]
    out = by_row(part.assign(row_id=part["row_id"].astype(str)), scorer, reducer)
    return out[out["n"] > 0].assign(variant=label)
