"""What an importer produces: plain data that ``Experiment.from_imported`` turns into objects,
and the report of what was mapped, approximated or left out (never silently dropped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ImportReport", "Imported", "Kind", "Note", "Notes", "ScorerSpec"]

Kind = Literal["skipped", "approximated", "translated"]
_HEADINGS: dict[Kind, str] = {
    "skipped": "Not imported",
    "approximated": "Imported with a difference",
    "translated": "Translated",
}


@dataclass(frozen=True)
class Note:
    """One thing the import could not carry over exactly."""

    kind: Kind
    """``skipped`` (left out; the rest still runs), ``approximated`` (kept, behaves slightly
    differently) or ``translated`` (rewritten to mean the same, e.g. Nunjucks to Jinja2)."""
    where: str
    """Where in the source, e.g. ``promptfooconfig.yaml: tests[3].assert[1]``."""
    what: str
    """What it is and why, with what to do about it."""

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class ImportReport:
    """The notes of one import, in the order they were found."""

    source: str
    """The file imported, e.g. ``promptfooconfig.yaml``."""
    notes: tuple[Note, ...] = ()

    def of(self, kind: Kind) -> list[Note]:
        """The notes of one kind."""
        return [n for n in self.notes if n.kind == kind]

    def __str__(self) -> str:
        parts = []
        for kind, heading in _HEADINGS.items():
            notes = self.of(kind)
            if notes:
                parts.append(f"{heading} ({len(notes)}):\n" + "\n".join(f"- {n}" for n in notes))
        return "\n".join(parts) if parts else "Everything was imported as written."


class Notes(list[Note]):
    """Notes collected while reading one file; ``where`` paths are prefixed with its name."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def add(self, kind: Kind, where: str, what: str) -> None:
        """Note something once (a ``defaultTest`` assertion is read for every test)."""
        note = Note(kind, f"{self.source}: {where}" if where else self.source, what)
        if note not in self:
            self.append(note)

    def report(self) -> ImportReport:
        return ImportReport(self.source, tuple(self))


@dataclass(frozen=True)
class ScorerSpec:
    """A scorer to build, and where its source is (named when it cannot be built)."""

    spec: Mapping[str, Any]
    where: str


@dataclass(frozen=True)
class Imported:
    """An experiment read from another tool's files, as plain data."""

    name: str
    rows: Sequence[Mapping[str, Any]]
    """One mapping per dataset row, its id in ``id_column``."""
    variants: Sequence[Mapping[str, Any]]
    """Variant specs (``Variant.from_spec``), each with a ``description`` naming its source."""
    scorers: Sequence[ScorerSpec]
    report: ImportReport
    repeats: int = 1
    concurrency: int | None = None
    endpoints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """OpenAI-compatible servers the variants name: name -> {base_url, api_key_env}."""
    id_column: str = "id"
    summary: str = ""
    """What the source says the experiment is for (its own description), if anything."""

    def describe(self, report: ImportReport | None = None) -> str:
        """The experiment's description: where it came from and the import report."""
        head = f"Imported from {self.report.source}."
        if self.summary:
            head = f"{self.summary}\n\n{head}"
        return f"{head}\n{report or self.report}"
