"""A cell's detail in the comparison grid, in plain Python: its repeats grouped by answer.

No widget imports: :class:`CellDetail` turns a cell's repeats (table rows) into what the detail
pane shows (what :meth:`GridModel.detail <workbench.views.grid_model.GridModel.detail>`
returns): groups of repeats that gave the same answer or error, each scorer's verdict and
reasons, and per repeat its usage, reasoning, trajectory, raw response and further fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench import figures
from workbench.plain import plain
from workbench.providers.tools import compact
from workbench.results.frame import NOT_RUN_PREFIX
from workbench.views.grid_text import (
    USAGE_DETAIL,
    input_value,
    jsonable,
    messages,
    pretty_json,
    score_text,
    text,
    usage_line,
)
from workbench.views.grid_tools import Calls, said

__all__ = ["SHOWN_IN_DETAIL", "CellDetail"]

SHOWN_IN_DETAIL = frozenset(
    {
        "row_id",
        "variant",
        "repeat",
        "model",
        "provider",
        "messages",
        "output",
        "error",
        "finish_reason",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "cost_usd",
        "scoring_cost_usd",
        "cached",
        "request_key",
        "human_label",
        "human_comment",
        "tool_calls",
        "trajectory",
        "reasoning",
        "starved",
        "ttft_ms",
        "reasoning_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
    }
)
"""Result columns the detail shows in their own place (a repeat's tool calls, trajectory,
reasoning and usage among them); any other result column (e.g. ``parsed``) shows under "more
fields"."""


@dataclass(frozen=True)
class CellDetail:
    """How the grid details a cell of a run."""

    scorers: Sequence[str]
    graded: Mapping[str, bool]
    """Scorers whose values say more than pass/fail (their values are shown)."""
    extra: Sequence[str]
    """Result columns listed under "more fields" per repeat."""
    labels: Mapping[tuple[str, str, int], tuple[str, str]]
    """Human labels by (row_id, variant, repeat): (label, comment)."""

    def build(
        self,
        row_id: Any,
        variant: str,
        part: pd.DataFrame,
        calls: Sequence[Calls],
        inputs: Mapping[str, Any],
        raw: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The detail of the cell whose repeats are ``part`` (their tool calls: ``calls``) on
        the dataset row with ``inputs``; ``raw`` holds raw responses by request key."""
        groups: dict[tuple[str, str], list[tuple[Calls, dict[str, Any]]]] = {}
        for made, rec in zip(calls, part.to_dict(orient="records"), strict=True):
            key = (said(text(rec["output"], None), made), text(rec["error"], None))
            groups.setdefault(key, []).append((made, {str(k): v for k, v in rec.items()}))
        out: list[dict[str, Any]] = []
        for (_, error), members in groups.items():
            recs = [rec for _, rec in members]
            output = text(recs[0]["output"], None)
            pretty = pretty_json(output) if output else None
            label = self.labels.get((str(row_id), variant, int(recs[0]["repeat"])), ("", ""))
            out.append(
                {
                    "output": output,
                    "error": error,
                    "not_run": error.startswith(NOT_RUN_PREFIX),
                    "kind": "json" if pretty is not None else "text",
                    "pretty": pretty,
                    "tool_calls": [compact(c) for c in members[0][0]],
                    "count": len(recs),
                    "repeats": [int(x["repeat"]) for x in recs],
                    "scores": [self._scores(s, recs) for s in self.scorers],
                    "runs": [self._run(m, x, raw, str(row_id), variant) for m, x in members],
                    "label": label[0],
                    "comment": label[1],
                }
            )
        out.sort(key=lambda g: (-g["count"], g["repeats"][0]))
        first = part.iloc[0]
        return {
            "row_id": plain(row_id),
            "variant": variant,
            "model": text(first.get("model"), None),
            "inputs": {c: input_value(x, None) for c, x in inputs.items()},
            "messages": messages(first["messages"]),
            "groups": out,
            "repeats": len(part),
        }

    def _scores(self, scorer: str, recs: list[dict[str, Any]]) -> dict[str, Any]:
        verdicts = [rec[f"{scorer}_pass"] for rec in recs]
        known = [bool(v) for v in verdicts if v is not None and not pd.isna(v)]
        reasons: dict[str, list[int]] = {}
        for rec in recs:
            reasons.setdefault(text(rec[f"{scorer}_reason"], None), []).append(int(rec["repeat"]))
        values = {score_text(rec[scorer]) for rec in recs} - {figures.MISSING}
        return {
            "scorer": scorer,
            "passed": None if not known else sum(known),
            "n": len(known),
            "value": ", ".join(sorted(values)) if self.graded.get(scorer) else "",
            "reasons": [{"text": t, "repeats": reps} for t, reps in reasons.items() if t],
        }

    def _run(
        self,
        calls: Calls,
        rec: Mapping[str, Any],
        raw: Mapping[str, Any],
        row_id: str,
        variant: str,
    ) -> dict[str, Any]:
        repeat = int(rec["repeat"])
        label = self.labels.get((row_id, variant, repeat), ("", ""))
        extra = {c: jsonable(rec[c]) for c in self.extra}
        facts = {k: plain(rec.get(k)) for k in USAGE_DETAIL}
        trajectory = rec.get("trajectory")
        return {
            "repeat": repeat,
            "finish_reason": text(rec["finish_reason"], None),
            "usage": usage_line(rec),
            **facts,
            "tool_calls": calls,
            "trajectory": trajectory if isinstance(trajectory, list) else None,
            "reasoning": text(rec.get("reasoning"), None) or None,
            "starved": bool(plain(rec.get("starved")) or False),
            "cached": bool(rec["cached"]),
            "request_key": str(rec["request_key"]),
            "raw": raw.get(str(rec["request_key"])),
            "label": label[0],
            "comment": label[1],
            "extra": {k: v for k, v in extra.items() if v not in (None, "", [], {})},
        }
