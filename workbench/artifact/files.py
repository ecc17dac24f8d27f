"""The files of one exported version: the prompt (Prompty, and Dotprompt and GitHub Models'
``.prompt.yml`` when it translates), the evaluation record, the evidence — scanned for secrets
before anything is written."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.artifact.dotprompt import DOTPROMPT_FILE, SKIP_KEY, Untranslatable, write_dotprompt
from workbench.artifact.github_models import GITHUB_KEY, github_file_name, write_github_prompt
from workbench.artifact.prompty import PromptFile, write_prompty
from workbench.artifact.store import (
    EVAL_FILE,
    EVIDENCE_FILE,
    PROMPT_FILE,
    canonical_json,
    set_label,
    write_version,
)
from workbench.errors import ArtifactError

__all__ = ["check_name", "find_secret", "write_prompt"]

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


def check_name(name: str) -> str:
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
    # Which other formats translate is decided again on every export.
    record = {k: v for k, v in record.items() if k not in (SKIP_KEY, GITHUB_KEY)}
    try:
        files[DOTPROMPT_FILE] = write_dotprompt(prompt).encode()
    except Untranslatable as exc:
        record[SKIP_KEY] = f"skipped: {exc}"
    try:
        text, left_out = write_github_prompt(prompt, record, evidence)
        files[github_file_name(prompt.name)] = text.encode()
        if left_out:
            record[GITHUB_KEY] = left_out
    except Untranslatable as exc:
        record[GITHUB_KEY] = f"skipped: {exc}"
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


def write_prompt(
    to: str | Path,
    name: str,
    prompt: PromptFile,
    record: Mapping[str, Any],
    evidence: Sequence[Any],
    label: str | None,
) -> Path:
    """Write a new version of ``to/name`` (``label`` pointed at it); returns its folder."""
    prompt_dir = Path(to) / check_name(name)
    number, folder = write_version(prompt_dir, _files(prompt, record, evidence))
    if label:
        set_label(prompt_dir, label, number)
    return folder
