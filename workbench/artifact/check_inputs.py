"""What ``workbench check`` runs, rebuilt from an exported prompt: its variant, the dataset
(checked against the recorded fingerprint), the scorers from their specs, and the recorded
evidence that new rows are paired with.

Pairwise scorers judge each new output against the recorded output of their baseline for the
same row and repeat (from the evidence; the prompt's own recorded output when it is the
baseline). Rows are paired by their values in the evidence's input columns, so a changed row is
never compared with its old self.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.artifact.loader import LoadedPrompt
from workbench.artifact.store import canonical_json
from workbench.data.dataset import Dataset
from workbench.errors import ArtifactError, TemplateError, WorkbenchError
from workbench.prompts.tools import find_function
from workbench.prompts.variant import Variant
from workbench.scoring.base import Planned, ScoreContext, Scorer, build_scorer
from workbench.scoring.judges import pairwise_judge

__all__ = ["CheckInputs", "Evidence", "check_inputs", "row_key", "variant_of"]


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
            f"{info.get('rows')} then; fingerprint changed): only rows with the same id and "
            f"values are compared"
        )
    return dataset, notes


def row_key(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    """A row's identity for pairing: its values in the evidence's input columns."""
    return canonical_json({c: values.get(c) for c in columns}, indent=None)


@dataclass(frozen=True)
class Evidence:
    """The recorded rows of one variant, by (row key, repeat)."""

    records: list[dict[str, Any]]
    columns: list[str]

    @classmethod
    def of(cls, prompt: LoadedPrompt, variant: str) -> Evidence:
        records = [e for e in prompt.evidence() if e.get("variant") == variant]
        columns = sorted({c for e in records for c in (e.get("inputs") or {})})
        return cls(records, columns)

    def outputs(self) -> dict[tuple[str, int], str | None]:
        return {
            (row_key(e.get("inputs") or {}, self.columns), int(e.get("repeat") or 0)): e.get(
                "output"
            )
            for e in self.records
        }


def _recorded_peer(prompt: LoadedPrompt, spec: Mapping[str, Any]) -> Scorer | str:
    """The pairwise scorer of ``spec`` judging against recorded outputs, or why it cannot."""
    args = dict(spec.get("args") or {})
    baseline = str(args.get("baseline"))
    winner = str(prompt.eval.get("variant"))
    evidence = Evidence.of(prompt, baseline)
    if not evidence.records:
        return (
            f"the evidence holds no rows of its baseline '{baseline}' (exported before "
            f"workbench kept them): export the prompt again to check it"
        )
    outputs = evidence.outputs()

    def other(row: Mapping[str, Any], ctx: ScoreContext) -> str | None:
        return outputs.get((row_key(row, evidence.columns), ctx.repeat))

    versus = "its recorded output" if baseline == winner else f"the recorded '{baseline}'"
    built = build_scorer(spec)
    judged: Planned = pairwise_judge(
        str(args.get("rubric")), str(args.get("model") or "local/smollm2"), other, versus
    )
    # Its own spec name: the run has no baseline variant to compare with, the evidence has.
    spec_here = {"name": "pairwise-vs-recorded", "args": dict(built.spec.get("args") or {})}
    return dataclasses.replace(built, spec=spec_here, fn=judged, plan=judged.plan)


def _scorers(
    prompt: LoadedPrompt,
) -> tuple[list[Scorer], dict[str, str], list[tuple[str, str]]]:
    """Scorers rebuilt from the record; pairwise ones (name -> baseline); the skipped ones."""
    out: list[Scorer] = []
    pairwise: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    columns = list(prompt.eval.get("scorer_columns") or [])
    for i, spec in enumerate(prompt.eval.get("scorers") or []):
        name = spec.get("name") if isinstance(spec, Mapping) else spec
        column = columns[i] if i < len(columns) else str(name)
        try:
            if name == "pairwise" and isinstance(spec, Mapping):
                found = _recorded_peer(prompt, spec)
                if isinstance(found, str):
                    skipped.append((column, found))
                    continue
                pairwise[found.name] = str((spec.get("args") or {}).get("baseline"))
                out.append(found)
            else:
                out.append(build_scorer(spec))
        except WorkbenchError as exc:
            skipped.append((column, f"scorer {name!r} skipped: {exc}"))
    return out, pairwise, skipped


@dataclass(frozen=True)
class CheckInputs:
    """What a check runs: the artifact's prompt as a variant, the dataset and the scorers."""

    experiment: str
    variant: Variant
    dataset: Dataset
    scorers: list[Scorer]
    repeats: int
    notes: list[str]
    pairwise: dict[str, str] = field(default_factory=dict)
    """Pairwise scorers (column name -> baseline): checked on their preference values."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Scorers that cannot be checked here, and why."""


def check_inputs(
    prompt: LoadedPrompt, model: str | None = None, dataset: str | Path | None = None
) -> CheckInputs:
    """Rebuild what the record says was evaluated (optionally on another model or dataset)."""
    record = prompt.eval
    ds, notes = _dataset(record, dataset)
    scorers, pairwise, skipped = _scorers(prompt)
    return CheckInputs(
        str(record.get("experiment") or prompt.name),
        variant_of(prompt, model),
        ds,
        scorers,
        int(record.get("repeats") or 1),
        notes,
        pairwise,
        skipped,
    )
