"""Export a variant of a run (or a loaded version) as a new immutable version folder.

Files of a version: ``prompt.prompty`` (the prompt), ``eval.json`` (the evaluation record),
``evidence.jsonl`` (per-row evidence of the winner, the runner-up and any pairwise scorer's
baseline) and ``MANIFEST.json`` (sha256 of each). Nothing in them depends on when or where they were written, so exporting a
loaded version again (``load_prompt(...).export(to)``) gives byte-identical files.

``prompt.prompt`` (the same prompt in Google's Dotprompt format) is added when the templates
translate exactly; otherwise ``eval.json`` says why under ``"dotprompt"`` (e.g. ``"skipped: the
system message uses the filter 'upper'"``), a key absent when the file is there.

Before anything is written every file is scanned for secrets — API-key shapes, Authorization
headers, URLs with credentials, and the values of secret-looking environment variables — and the
export is refused, naming the file, if one is found.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.analysis.run import analyze
from workbench.artifact.files import check_name, write_prompt
from workbench.artifact.loader import LoadedPrompt, load_prompt
from workbench.artifact.prompty import PromptFile
from workbench.artifact.record import (
    build_evidence,
    build_record,
    evidence_variants,
    runner_up,
    variant_spec,
)
from workbench.errors import ArtifactError, ConfigError, WorkbenchWarning
from workbench.models.catalog import model_info
from workbench.models.retirement import warn_retiring
from workbench.prompts.conversation import parse_conversation
from workbench.prompts.render import template_variables
from workbench.prompts.tools import function_path
from workbench.results.table import RunTable

__all__ = ["export_results"]


def export_results(
    table: RunTable,
    variant: str | None = None,
    *,
    name: str,
    to: str | Path = "prompts",
    label: str | None = None,
    labels: Sequence[str] | None = None,
    notebook: str | None = None,
) -> LoadedPrompt:
    """Export ``variant`` (default: the leader on the first scorer) of a run as a new version of
    ``to/name``; ``label`` (e.g. ``production``) is pointed at it. ``labels`` names the dataset
    columns holding human labels (default: ``human``, ``label``, ``human_*``, ``label_*``)."""
    check_name(name)
    run = table.record
    if run.status != "complete":
        raise ArtifactError(
            f"Run {run.run_id} is {run.status}: only a complete run can be exported. Run the "
            f"experiment again (finished calls come from the cache), then export."
        )
    primary = table.scorers[0] if table.scorers else None
    if variant is None:
        variant = str(analyze(table).leaderboard(primary)["variant"].iloc[0])
    spec = variant_spec(table, variant)
    with contextlib.suppress(ConfigError):  # a model this machine cannot name: no catalog facts
        warn_retiring([model_info(str(spec["model"]))])
    chosen = run.variant(variant)
    notebook = notebook or os.environ.get("JPY_SESSION_NAME") or None
    record = build_record(table, variant, name=name, where=Path(to), notebook=notebook)
    second = runner_up(table, variant, primary)
    evidence = build_evidence(table, evidence_variants(table, variant, second), labels)
    messages = []
    for _, role, template in chosen.templates():
        trimmed = template.strip("\n")
        if trimmed != template:
            warnings.warn(
                f"Variant '{variant}': the {role} template starts or ends with a blank line, "
                f"which the Prompty format does not keep; it was exported without it.",
                WorkbenchWarning,
                stacklevel=2,
            )
        messages.append((role, trimmed))
    first = evidence[0]["inputs"] if evidence else {}
    examples = {v: first.get(v) for v in sorted(_variables(messages))}
    history = chosen.history
    tools = chosen.tool_config
    if history is not None:  # the first row's conversation, as plain turns
        turns = parse_conversation(
            first.get(history),
            f"Variant '{variant}', first row",
            tools=tools.names if tools is not None else (),
        )
        examples[history] = [dict(t) for t in turns]
    metadata: dict[str, Any] = {"experiment": run.experiment, "variant": variant}
    if chosen.max_steps is not None:  # the loop's functions, found again by `workbench check`
        metadata["max_steps"] = chosen.max_steps
        metadata["tool_functions"] = {n: function_path(f) for n, f in chosen.functions.items()}
    prompt = PromptFile(
        name=name,
        model=str(spec["model"]),
        messages=tuple(messages),
        params=chosen.request_params,
        description=chosen.description or f"{variant} from experiment {run.experiment}",
        examples=examples,
        metadata=metadata,
        history=history,
        history_at=chosen.history_at,
        tools=tools,
    )
    return load_prompt(write_prompt(to, name, prompt, record, evidence, label))


def _variables(messages: Sequence[tuple[str, str]]) -> set[str]:
    names: set[str] = set()
    for role, source in messages:
        names |= template_variables(source, f"{role} message")
    return names
