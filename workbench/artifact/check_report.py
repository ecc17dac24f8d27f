"""What ``workbench check`` found, as data, and the text report (``str(report)``).

:mod:`workbench.artifact.check` fills it; :mod:`workbench.artifact.check_output` turns it into
JSON, JUnit XML and GitHub step summaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.analysis.compare import ALPHA as VERDICT_ALPHA
from workbench.analysis.gate import GateTest
from workbench.artifact.store import normalize
from workbench.results.table import RunTable

__all__ = [
    "ALPHA",
    "DEFAULT_MARGIN",
    "JSON_SCHEMA_VERSION",
    "CheckReport",
    "ScorerCheck",
    "ScorerStatus",
    "Sequential",
    "Status",
    "as_json_data",
    "headline",
    "level",
    "text_lines",
]

ALPHA = VERDICT_ALPHA
"""Error budget of a check: the chance of a wrong regression or pass, over all its scorers."""
DEFAULT_MARGIN = 0.05
"""A pass rate may be at most this much lower than recorded (5 points) before it regresses."""

JSON_SCHEMA_VERSION = 1
"""``schema_version`` of ``--format json`` (``check.schema.json``)."""

Status = Literal["pass", "regression", "inconclusive", "error"]
ScorerStatus = Literal["pass", "regression", "inconclusive", "skipped", "info"]


@dataclass(frozen=True)
class Sequential:
    """Where a sequential check stopped."""

    look: int
    looks: int
    rows_seen: int
    rows: int
    alpha: float
    """The alpha of this look (the share of the check's alpha it spends)."""
    spent: float
    """The alpha spent by the looks so far, this one included."""


@dataclass(frozen=True)
class ScorerCheck:
    """One scorer's part of a check."""

    scorer: str
    status: ScorerStatus
    reason: str
    """Why, in words (one line)."""
    test: GateTest | None = None
    reproduced: bool = False
    """Every recorded output and score of the compared rows came back the same."""
    paired: int = 0
    """Rows compared with the record."""
    unpaired: int = 0
    """Rows of the new run with no recorded counterpart (not compared)."""
    recorded_rate: float | None = None
    """The recorded pass rate of the whole record (for context)."""
    rate: float | None = None
    """The new run's pass rate (or mean preference, for pairwise scorers) over its rows."""
    rate_low: float | None = None
    rate_high: float | None = None
    newly_failing: tuple[str, ...] = ()
    """Rows that passed in the record and fail now."""
    measure: str = "pass rate"

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "test"}
        out["newly_failing"] = list(self.newly_failing)
        out["test"] = self.test.to_dict() if self.test is not None else None
        return out


@dataclass
class CheckReport:
    """What ``workbench check`` found. ``str()`` is the text report, ``to_dict()`` every number;
    :mod:`workbench.artifact.check_output` writes JSON, JUnit XML and GitHub summaries."""

    prompt: str
    status: Status
    scorers: list[ScorerCheck] = field(default_factory=list)
    rule: str = ""
    """The rule applied, in words."""
    margin: float = DEFAULT_MARGIN
    min_pass_rate: float | None = None
    alpha: float = ALPHA
    model: str = ""
    model_from: str | None = None
    """The recorded model when ``--model`` moved the check to another."""
    rows: int = 0
    repeats: int = 1
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Calls that failed where the record has an answer."""
    cost_usd: float | None = None
    recorded_cost_usd: float | None = None
    calls: int = 0
    cached: int = 0
    sequential: Sequential | None = None
    results: RunTable | None = field(default=None, repr=False)
    """The check run."""

    @property
    def regressed(self) -> bool:
        """True when a scorer is significantly worse than its record allows."""
        return self.status == "regression"

    @property
    def worse(self) -> list[str]:
        """One line per scorer that regressed."""
        return [s.reason for s in self.scorers if s.status == "regression"]

    @property
    def lines(self) -> list[str]:
        """The text report, line by line."""
        return text_lines(self)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        """Every number of the check, as plain data (``--format json``)."""
        return as_json_data(self)


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{float(value):.0%}"


def _smallest_n(report: CheckReport) -> int:
    open_ = [c.test.n for c in report.scorers if c.status == "inconclusive" and c.test is not None]
    return min(open_) if open_ else 0


def headline(report: CheckReport) -> str:
    """The last line: the outcome and why."""
    status = report.status
    if status == "error":
        return (
            f"ERROR: {len(report.errors)} call(s) failed where the record has an answer "
            f"({report.errors[0]}); run the check again (finished calls are cached)."
        )
    if status == "regression":
        return "REGRESSED: " + "; ".join(report.worse)
    if status == "pass":
        if all(c.reproduced for c in report.scorers if c.status == "pass"):
            return "OK: every scorer reproduced its record (same outputs, same scores)"
        return f"OK: {report.rule}"
    open_ = [c.scorer for c in report.scorers if c.status == "inconclusive"]
    if not open_:
        return "INCONCLUSIVE at n=0: no scorer could be checked."
    if report.min_pass_rate is not None:
        return (
            f"INCONCLUSIVE at n={_smallest_n(report)}: {', '.join(open_)} cannot be told above or "
            f"below {report.min_pass_rate:.0%} yet; run on more rows."
        )
    return (
        f"INCONCLUSIVE at n={_smallest_n(report)}: {', '.join(open_)} cannot be told apart from "
        f"the record within the margin yet; run on more rows, or widen --margin."
    )


def text_lines(report: CheckReport) -> list[str]:
    """The text report."""
    moved = f" (model {report.model_from} -> {report.model})" if report.model_from else ""
    confidence = 1.0 - report.alpha / max(1, _gated(report))
    lines = [
        f"check {report.prompt}: {report.model}{moved}, {report.rows} rows × "
        f"{report.repeats} repeat{'s' if report.repeats != 1 else ''}",
        f"  rule: {report.rule}; {level(confidence)} confidence per scorer",
    ]
    for c in report.scorers:
        line = f"  [{c.status}] {c.reason}"
        if c.reproduced and c.rate is not None and c.measure == "pass rate":
            line += (
                f"; pass rate now {_pct(c.rate)} (95% CI {_pct(c.rate_low)}–{_pct(c.rate_high)}),"
                f" recorded {_pct(c.recorded_rate)}"
            )
        if c.newly_failing:
            shown = ", ".join(c.newly_failing[:10])
            line += f"; rows now failing: {shown}{' …' if len(c.newly_failing) > 10 else ''}"
        lines.append(line)
    seq = report.sequential
    if seq is not None:
        settled = "settled" if report.status in ("pass", "regression") else "not settled"
        lines.append(
            f"  sequential: {settled} at look {seq.look} of {seq.looks} ({seq.rows_seen} of "
            f"{seq.rows} rows; this look tested at alpha {seq.alpha:.3g}, {seq.spent:.3g} of "
            f"{report.alpha:g} spent; O'Brien–Fleming-type alpha spending)"
        )
    lines += [f"  error: {e}" for e in report.errors[:10]]
    cost = "unknown" if report.cost_usd is None else f"${report.cost_usd:.4f}"
    recorded = (
        "" if report.recorded_cost_usd is None else f" (recorded ${report.recorded_cost_usd:.4f})"
    )
    lines.append(f"  cost {cost}{recorded}, {report.cached} of {report.calls} calls from the cache")
    lines += [f"  note: {n}" for n in report.notes]
    lines.append(headline(report))
    return lines


def _gated(report: CheckReport) -> int:
    return len([c for c in report.scorers if c.status not in ("skipped", "info")])


def level(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def as_json_data(report: CheckReport) -> dict[str, Any]:
    """Every number of the check as plain JSON data (NaN and infinities as null)."""
    seq = report.sequential
    data = {
        "schema_version": JSON_SCHEMA_VERSION,
        "prompt": report.prompt,
        "status": report.status,
        "headline": headline(report),
        "rule": report.rule,
        "margin": report.margin,
        "min_pass_rate": report.min_pass_rate,
        "alpha": report.alpha,
        "model": report.model,
        "model_from": report.model_from,
        "rows": report.rows,
        "repeats": report.repeats,
        "sequential": None
        if seq is None
        else {k: getattr(seq, k) for k in seq.__dataclass_fields__},
        "scorers": [c.to_dict() for c in report.scorers],
        "errors": list(report.errors),
        "notes": list(report.notes),
        "cost_usd": report.cost_usd,
        "recorded_cost_usd": report.recorded_cost_usd,
        "calls": report.calls,
        "cached": report.cached,
    }
    out = _finite(data)
    assert isinstance(out, dict)
    return out


def _finite(value: Any) -> Any:
    """normalize(), keeping full float precision."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return normalize(value)
