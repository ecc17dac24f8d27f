"""The record of one run: typed, frozen and versioned — what ran, on what, where, and at what cost.

Provenance (notebook metadata), the evaluation record of an export and the run history read it;
``to_dict`` gives it as plain data (``version`` says which layout).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.data.dataset import Dataset
from workbench.errors import WorkbenchError
from workbench.prompts.variant import Variant
from workbench.version import __version__, git_commit

__all__ = ["RECORD_VERSION", "DatasetFacts", "Environment", "RunRecord", "Spend"]

RECORD_VERSION = 1
"""Layout of :meth:`RunRecord.to_dict`; a reader of an unknown version must refuse it."""


@dataclass(frozen=True)
class DatasetFacts:
    """The rows a run used: where they came from and their fingerprint."""

    name: str
    source: str
    """Where the rows came from, for messages (a path, or ``dataset '<name>'``)."""
    path: str | None
    """The file read, when there was one."""
    rows: int
    columns: tuple[str, ...]
    id_column: str | None
    fingerprint: str
    """sha256 of columns and values: compare results only where it is the same."""

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetFacts:
        """The facts of a dataset."""
        return cls(
            name=dataset.name,
            source=dataset.describe_source(),
            path=str(dataset.path) if dataset.path else None,
            rows=len(dataset),
            columns=tuple(dataset.columns),
            id_column=dataset.id_column,
            fingerprint=dataset.fingerprint,
        )


@dataclass(frozen=True)
class Spend:
    """What a run paid, at catalog prices (cached calls cost nothing again)."""

    calls_usd: float = 0.0
    """The grid's calls."""
    scoring_usd: float = 0.0
    """Scorers' model calls (LLM judges)."""
    judge_calls: int = 0
    """Scorer calls sent to a provider (not cached)."""
    unpriced_calls: int = 0
    """Calls to models without a price: their cost is unknown, not 0."""
    not_made: int = 0
    """Calls the budget did not allow (cells and judge calls)."""


@dataclass(frozen=True)
class Environment:
    """Where a run ran."""

    workbench: str
    python: str
    platform: str
    git_commit: str | None = None
    """The commit checked out around the working folder when the run was made."""

    @classmethod
    def here(cls) -> Environment:
        """This process, in the working folder."""
        return cls(
            __version__,
            platform.python_version(),
            platform.platform(terse=True),
            git_commit(Path.cwd()),
        )


@dataclass(frozen=True)
class RunRecord:
    """One run, apart from its results table."""

    experiment: str
    run_id: str
    status: str
    """complete, interrupted, budget or failed."""
    variants: tuple[Variant, ...]
    scorers: tuple[Mapping[str, Any], ...]
    """Each scorer's spec (``{"name", "args"}``): enough to rebuild it."""
    scorer_columns: tuple[str, ...]
    """The scorers' column names in the table, in order."""
    repeats: int
    dataset: DatasetFacts
    models: tuple[str, ...]
    """Models the grid ran on (``provider/model``)."""
    store: str
    """The SQLite file holding this run's calls and labels."""
    started: float
    finished: float
    message: str = ""
    """Why it ended early (empty when complete)."""
    kind: str = "run"
    """run, check or export: what made it."""
    mode: str = "realtime"
    """How its calls were sent: ``realtime``, or ``batch`` (provider batches where the provider
    has a batch API, real time elsewhere)."""
    store_origin: str = ""
    """Why that store was used."""
    budget_usd: float | None = None
    spend: Spend = field(default_factory=Spend)
    environment: Environment = field(default_factory=Environment.here)
    version: int = RECORD_VERSION

    @property
    def variant_names(self) -> list[str]:
        """Variant names, in order."""
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        """One variant, by name (as it ran: its model resolved)."""
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def spec(self) -> dict[str, Any]:
        """The experiment as plain data (as in a YAML file): name, dataset, variants, scorers."""
        return {
            "name": self.experiment,
            "dataset": {
                "source": self.dataset.source,
                "rows": self.dataset.rows,
                "fingerprint": self.dataset.fingerprint,
            },
            "variants": [v.spec() for v in self.variants],
            "scorers": [dict(s) for s in self.scorers],
            "repeats": self.repeats,
            "budget_usd": self.budget_usd,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), with ``version``."""
        out = asdict(self)
        out["variants"] = [v.spec() for v in self.variants]
        out["scorers"] = [dict(s) for s in self.scorers]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """The record :meth:`to_dict` gave; an unknown ``version`` is refused."""
        if data.get("version") != RECORD_VERSION:
            raise WorkbenchError(
                f"Run record version {data.get('version')!r} is not one this workbench reads "
                f"({RECORD_VERSION}): upgrade with pip install -U prompt-workbench."
            )
        fields = dict(data)
        dataset = dict(fields.pop("dataset"))
        dataset["columns"] = tuple(dataset["columns"])
        return cls(
            **{
                **fields,
                "variants": tuple(Variant.from_spec(v) for v in fields["variants"]),
                "scorers": tuple(dict(s) for s in fields["scorers"]),
                "scorer_columns": tuple(fields["scorer_columns"]),
                "models": tuple(fields["models"]),
                "dataset": DatasetFacts(**dataset),
                "spend": Spend(**fields["spend"]),
                "environment": Environment(**fields["environment"]),
            }
        )
