"""Export a variant of a run (or a loaded version) as a new immutable version folder.

Files of a version: ``prompt.prompty`` (the prompt), ``eval.json`` (the evaluation record),
``evidence.jsonl`` (per-row evidence of the winner and the runner-up) and ``MANIFEST.json``
(sha256 of each). Nothing in them depends on when or where they were written, so exporting a
loaded version again (``load_prompt(...).export(to)``) gives byte-identical files.

``prompt.prompt`` (the same prompt in Google's Dotprompt format) is added when the templates
translate exactly; otherwise ``eval.json`` says why under ``"dotprompt"`` (e.g. ``"skipped: the
system message uses the filter 'upper'"``), a key absent when the file is there.

Before anything is written every file is scanned for secrets — API-key shapes, Authorization
headers, URLs with credentials, and the values of secret-looking environment variables — and the
export is refused, naming the file, if one is found.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.artifact.dotprompt import DOTPROMPT_FILE, SKIP_KEY, Untranslatable, write_dotprompt
from workbench.artifact.loader import LoadedPrompt, load_prompt
from workbench.artifact.prompty import PromptFile, write_prompty
from workbench.artifact.store import (
    EVAL_FILE,
    EVIDENCE_FILE,
    PROMPT_FILE,
    canonical_json,
    set_label,
    write_version,
)
from workbench.errors import ArtifactError, WorkbenchWarning
from workbench.prompts.conversation import parse_conversation

if TYPE_CHECKING:
    from workbench.results.table import Results

__all__ = ["export_loaded", "export_results", "find_secret"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SECRET_PATTERNS = (
    ("an API key", re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("an Authorization header", re.compile(r"(?i)\bauthorization\s*[\"']?\s*[:=]")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}")),
    ("a URL with credentials", re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"']+:[^/\s@\"']+@")),
)
_SECRET_ENV = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)")


def find_secret(text: str, env: Mapping[str, str] | None = None) -> str | None:
    """What kind of secret ``text`` holds (never the secret itself), or None."""
    for kind, pattern in _SECRET_PATTERNS:
        if pattern.search(text):
            return kind
    for var, value in (os.environ if env is None else env).items():
        if _SECRET_ENV.search(var) and len(value) >= 8 and value in text:
            return f"the value of the environment variable {var}"
    return None


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ArtifactError(
            f"Bad prompt name {name!r}: use letters, digits, '-', '_' or '.', e.g. "
            f"name='capital-answerer'."
        )
    return name


def _files(
    prompt: PromptFile, record: Mapping[str, Any], evidence: Sequence[Any]
) -> dict[str, bytes]:
    files = {PROMPT_FILE: write_prompty(prompt).encode()}
    record = {k: v for k, v in record.items() if k != SKIP_KEY}  # decided again on every export
    try:
        files[DOTPROMPT_FILE] = write_dotprompt(prompt).encode()
    except Untranslatable as exc:
        record[SKIP_KEY] = f"skipped: {exc}"
    files[EVAL_FILE] = canonical_json(record).encode()
    files[EVIDENCE_FILE] = "".join(canonical_json(r, indent=None) + "\n" for r in evidence).encode()
    for file, data in files.items():
        kind = find_secret(data.decode("utf-8"))
        if kind:
            raise ArtifactError(
                f"Refusing to export: {file} would contain {kind}. Remove it from the dataset, "
                f"templates or params (keys belong in the environment only)."
            )
    return files


def _write(
    to: str | Path,
    name: str,
    prompt: PromptFile,
    record: Mapping[str, Any],
    evidence: Sequence[Any],
    label: str | None,
) -> LoadedPrompt:
    prompt_dir = Path(to) / _check_name(name)
    number, folder = write_version(prompt_dir, _files(prompt, record, evidence))
    if label:
        set_label(prompt_dir, label, number)
    return load_prompt(folder)


def export_results(
    res: Results,
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
    from workbench.artifact.record import build_evidence, build_record, runner_up, variant_spec

    _check_name(name)
    if not res.complete:
        raise ArtifactError(
            f"Run {res.run_id} is {res.status}: only a complete run can be exported. Run the "
            f"experiment again (finished calls come from the cache), then export."
        )
    primary = res.scorers[0] if res.scorers else None
    if variant is None:
        variant = str(res.leaderboard(primary)["variant"].iloc[0])
    spec = variant_spec(res, variant)
    notebook = notebook or os.environ.get("JPY_SESSION_NAME") or None
    record = build_record(res, variant, name=name, where=Path(to), notebook=notebook)
    second = runner_up(res, variant, primary)
    evidence = build_evidence(res, [variant] + ([second] if second else []), labels)
    messages = []
    for role, template in _template_fields(spec):
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
    history = spec.get("history")
    if history is not None:  # the first row's conversation, as plain turns
        turns = parse_conversation(first.get(history), f"Variant '{variant}', first row")
        examples[history] = [dict(t) for t in turns]
    prompt = PromptFile(
        name=name,
        model=str(spec["model"]),
        messages=tuple(messages),
        params=dict(spec.get("params") or {}),
        description=str(spec.get("description") or f"{variant} from experiment {res.experiment}"),
        examples=examples,
        metadata={"experiment": res.experiment, "variant": variant},
        history=history,
        history_at=len(messages) - (1 if spec.get("user") is not None else 0),
    )
    return _write(to, name, prompt, record, evidence, label)


def _template_fields(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if spec.get("system") is not None:
        out.append(("system", str(spec["system"])))
    for turn in spec.get("messages") or []:
        out.append((str(turn["role"]), str(turn["content"])))
    if spec.get("user") is not None:
        out.append(("user", str(spec["user"])))
    return out


def _variables(messages: Sequence[tuple[str, str]]) -> set[str]:
    from workbench.prompts.render import template_variables

    names: set[str] = set()
    for role, source in messages:
        names |= template_variables(source, f"{role} message")
    return names


def export_loaded(
    prompt: LoadedPrompt, to: str | Path, name: str | None = None, label: str | None = None
) -> Path:
    """Write a loaded version again, unchanged, as a new version of ``to/name``."""
    prompt.files()  # verify again: a version tampered with since loading is not copied
    target = name or prompt.name
    record = dict(prompt.eval)
    source = prompt.prompt
    if target != prompt.name:
        record["name"] = target
        source = dataclasses.replace(source, name=target)
    return _write(to, target, source, record, prompt.evidence(), label).path
