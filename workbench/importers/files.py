"""``file://`` references of an imported config: resolved beside it, globs expanded, and the
files read by their extension (text, JSON, JSON Lines, YAML, CSV)."""

from __future__ import annotations

import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

import yaml

from workbench.data.readers import read_text
from workbench.errors import ConfigError, DatasetEncodingError

__all__ = ["DATA_SUFFIXES", "expand", "file_ref", "load_file", "read_yaml", "text_of"]

FILE = "file://"
DATA_SUFFIXES = (".json", ".jsonl", ".yaml", ".yml", ".csv")
"""Files read as data (the rest are text)."""


def file_ref(value: Any) -> str | None:
    """The path of a ``file://...`` value, or None for anything else."""
    if isinstance(value, str) and value.startswith(FILE):
        return value[len(FILE) :]
    return None


def expand(ref: str, base: Path, where: str) -> list[Path]:
    """The files ``ref`` names, relative to ``base``: a path, a glob (``*``, ``**``, ``?``) or
    a folder (its data files); sorted. Nothing found raises, naming ``where``."""
    path = Path(ref).expanduser()
    full = path if path.is_absolute() else base / path
    if glob.has_magic(ref):
        found = sorted(Path(p) for p in glob.glob(str(full), recursive=True) if Path(p).is_file())
    elif full.is_dir():
        found = sorted(p for p in full.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
    else:
        found = [full] if full.is_file() else []
    if not found:
        raise ConfigError(f"{where}: {FILE}{ref} names no file (looked for {full}).")
    return found


def text_of(path: Path, where: str) -> str:
    """A file's text (UTF-8, a byte-order mark dropped); undecodable bytes raise, naming it."""
    try:
        return read_text(path)[0]
    except DatasetEncodingError as exc:
        raise ConfigError(f"{where}: {exc.problem} Save {path.name} as UTF-8.") from None


def read_yaml(text: str, path: Path) -> Any:
    """Parse YAML; a syntax error names the file, line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{at}: invalid YAML ({exc.problem}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc}).") from None


def load_file(path: Path, where: str) -> Any:
    """A file's content by its extension: JSON/YAML parsed, JSON Lines as a list, CSV as a list
    of {column: text} rows, anything else as text."""
    text = text_of(path, where)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(text, path)
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid JSON ({exc}).") from None
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ConfigError(f"{path}, line {number}: invalid JSON ({exc}).") from None
        return rows
    if suffix == ".csv":
        try:
            return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise ConfigError(f"{path}: unreadable CSV ({exc}).") from None
    return text
