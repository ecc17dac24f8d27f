"""Experiment: variants × dataset × repeats, scored; estimate it, then run it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import pandas as pd

from workbench.batch_runs import BatchRun
from workbench.config import Endpoint, Settings, get_settings
from workbench.data.dataset import Dataset
from workbench.engine.batch import BatchPhase
from workbench.engine.dispatcher import Dispatcher
from workbench.engine.plan import Plan, check_variables, make_plan
from workbench.engine.progress import Progress
from workbench.engine.runner import RunOutcome, execute
from workbench.engine.store import RUN_KINDS, Store, open_readonly
from workbench.engine.sync import run_blocking
from workbench.errors import (
    BudgetError,
    ConfigError,
    ScorerError,
    WorkbenchError,
    WorkbenchWarning,
)
from workbench.estimate import Estimate, estimate_run
from workbench.history import headline
from workbench.importers.github_models import read_github_models
from workbench.importers.promptfoo import read_promptfoo
from workbench.importers.spec import Imported, ImportReport, Note
from workbench.models.catalog import model_info, price_hint
from workbench.models.retirement import warn_retiring
from workbench.prompts.variant import Variant
from workbench.providers.base import Provider
from workbench.providers.registry import check_provider, parse_model_id
from workbench.results.columns import RESERVED, scorer_columns
from workbench.results.frame import build_frame
from workbench.results.record import DatasetFacts, RunRecord, Spend
from workbench.results.stored import keep_table
from workbench.results.table import RunTable
from workbench.run_results import Results
from workbench.scoring.base import Scorer, build_scorer
from workbench.scoring.stage import judge_calls, score_cells
from workbench.views.notebook import in_notebook
from workbench.views.progress import auto_progress

__all__ = ["MODES", "Experiment"]

MODES = ("realtime", "batch")
"""How a run sends its calls: one by one as they are ready, or in provider batches (about half
the price, answered within 24 hours) where the provider has a batch API."""


class Experiment:
    """Run every variant on every dataset row ``repeats`` times and score the outputs.

    ``budget_usd`` stops scheduling calls before their estimated cost would exceed it;
    ``concurrency`` caps calls in flight per provider (default: per-provider settings).
    ``store`` names the store folder; by default it is the project's (see ``workbench.config``),
    looked up from ``project``, a folder inside the project (default: the working folder; a
    YAML experiment passes its own folder). ``providers`` hands the runs provider instances
    (e.g. a scripted ``FakeProvider``), used before any other for their provider name.
    ``endpoints`` names OpenAI-compatible servers its models use (``{"vllm": {"base_url":
    "http://localhost:8000/v1", "api_key_env": "VLLM_KEY"}}``), over any of the same name in
    the settings. ``description`` says what it is for (an imported one: what was left out).

    Read another tool's files with :meth:`from_promptfoo` or :meth:`from_github_models`.
    """

    def __init__(
        self,
        name: str,
        dataset: Dataset | pd.DataFrame | str | Path,
        variants: Sequence[Variant],
        scorers: Sequence[Scorer | str | Mapping[str, Any]] = (),
        repeats: int = 1,
        *,
        budget_usd: float | None = None,
        concurrency: int | None = None,
        store: str | Path | None = None,
        project: str | Path | None = None,
        providers: Sequence[Provider] | Mapping[str, Provider] | None = None,
        endpoints: Mapping[str, Endpoint | Mapping[str, str] | str] | None = None,
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("An Experiment needs a name, e.g. Experiment('capitals', ...).")
        self.name = name
        self.providers = _as_providers(providers)
        """Provider instances this experiment's runs use before any other, by name."""
        self.endpoints = _as_endpoints(endpoints)
        """OpenAI-compatible servers this experiment names, over the settings' of that name."""
        if not isinstance(description, str):
            raise ConfigError(f"description must be text, got {description!r}.")
        self.description = description
        self.dataset = _as_dataset(dataset)
        self.variants = list(variants)
        if not self.variants or not all(isinstance(v, Variant) for v in self.variants):
            raise ConfigError(f"Experiment '{name}' needs a list of wb.Variant objects.")
        names = [v.name for v in self.variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(
                f"Variant names must be unique; repeated: {dupes}. Use .replace(name=...)."
            )
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ConfigError(f"repeats must be a whole number >= 1, got {repeats!r}.")
        self.repeats = repeats
        if budget_usd is not None and (not isinstance(budget_usd, (int, float)) or budget_usd < 0):
            raise ConfigError(f"budget_usd must be a number >= 0, got {budget_usd!r}.")
        self.budget_usd = budget_usd
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise ConfigError(f"concurrency must be a whole number >= 1, got {concurrency!r}.")
        self.concurrency = concurrency
        self.store = Path(store) if store is not None else None
        self.project = Path(project) if project is not None else None
        self.scorers = _unique_scorers([_as_scorer(s) for s in scorers])
        for variant in self.variants:
            check_variables(variant.variables, self.dataset, f"Variant '{variant.name}'")
        for s in self.scorers:
            check_variables(s.variables, self.dataset, f"Scorer '{s.name}'")
            baseline = (
                s.spec.get("args", {}).get("baseline") if s.spec.get("name") == "pairwise" else None
            )
            if baseline is not None and baseline not in names:
                raise ScorerError(
                    f"Scorer '{s.name}' compares with baseline '{baseline}', which is not a "
                    f"variant; variants: {', '.join(names)}."
                )
            clash = (RESERVED | set(self.dataset.columns)).intersection(scorer_columns(s.name))
            if clash:
                raise ScorerError(
                    f"Scorer name '{s.name}' clashes with result or dataset "
                    f"column(s) {sorted(clash)}; pass name='...' to the scorer."
                )

    def __repr__(self) -> str:
        return (
            f"<Experiment {self.name!r}: {len(self.dataset)} rows × {len(self.variants)} "
            f"variants × {self.repeats} repeats, scorers {[s.name for s in self.scorers]}>"
        )

    # -- other tools' files --------------------------------------------------------------
    @classmethod
    def from_promptfoo(
        cls,
        config: str | Path,
        *,
        grader: str | None = None,
        embedder: str | None = None,
        **options: Any,
    ) -> Experiment:
        """The experiment a promptfoo config describes: prompts × providers as variants, tests
        as rows, assertions as scorers (see :mod:`workbench.importers.promptfoo`). What cannot
        be carried over is listed in :attr:`description` (and a warning says how much).
        ``grader``/``embedder``: the judge model and embedder of assertions that name none;
        ``options`` go to the constructor (``providers=``, ``store=``, ``name=``...)."""
        imported = read_promptfoo(config, grader=grader, embedder=embedder)
        options.setdefault("project", Path(config).parent)
        return cls.from_imported(imported, **options)

    @classmethod
    def from_github_models(cls, prompt_file: str | Path, **options: Any) -> Experiment:
        """The experiment a GitHub Models ``.prompt.yml`` describes: its prompt as the variant,
        ``testData`` as rows, evaluators as scorers (see
        :mod:`workbench.importers.github_models`); what cannot be carried over is in
        :attr:`description`."""
        imported = read_github_models(prompt_file)
        options.setdefault("project", Path(prompt_file).parent)
        return cls.from_imported(imported, **options)

    @classmethod
    def from_imported(cls, imported: Imported, **options: Any) -> Experiment:
        """Build an experiment from an importer's plain data. A variant or scorer that cannot
        be built is left out and listed in the description, naming where it came from; the
        rest still runs."""
        notes: list[Note] = []
        variants = []
        for spec in imported.variants:
            try:
                variants.append(Variant.from_spec(spec))
            except WorkbenchError as exc:
                where = f"{imported.report.source}: variant '{spec.get('name')}'"
                notes.append(Note("skipped", where, f"left out: {exc}"))
        scorers = []
        taken = RESERVED | {str(k) for row in imported.rows for k in row}
        for item in imported.scorers:
            try:
                scorer = build_scorer(item.spec)
            except WorkbenchError as exc:
                notes.append(Note("skipped", item.where, f"scorer left out: {exc}"))
                continue
            if taken.intersection(scorer_columns(scorer.name)):  # e.g. an evaluator named
                scorer = scorer.rename(f"{scorer.name}_check")  # like a test variable
            scorers.append(scorer)
        report = ImportReport(imported.report.source, imported.report.notes + tuple(notes))
        if not variants:
            raise ConfigError(
                f"{imported.report.source}: nothing to run: no prompt and provider could be "
                f"imported.\n{report}"
            )
        skipped = len(report.of("skipped"))
        if skipped:
            warnings.warn(
                f"{imported.report.source}: {skipped} item(s) not imported; the experiment's "
                f"description lists them.",
                WorkbenchWarning,
                stacklevel=3,
            )
        dataset = Dataset(
            pd.DataFrame(list(imported.rows)),
            name=imported.name,
            id_column=imported.id_column,
        )
        options.setdefault("repeats", imported.repeats)
        options.setdefault("concurrency", imported.concurrency)
        return cls(
            options.pop("name", imported.name),
            dataset,
            variants,
            scorers,
            endpoints={**imported.endpoints, **(options.pop("endpoints", None) or {})},
            description=options.pop("description", imported.describe(report)),
            **options,
        )

    # -- planning ------------------------------------------------------------------------
    def settings(self) -> Settings:
        """The settings this experiment runs with, resolved now: its store (and why that one,
        ``store_origin``), endpoints, limits."""
        settings = get_settings(start=self.project, store=self.store)
        if not self.providers and not self.endpoints:
            return settings
        return dataclasses.replace(
            settings,
            providers={**settings.providers, **self.providers},
            endpoints={**settings.endpoints, **self.endpoints},
        )

    def plan(self) -> Plan:
        """Every cell with its rendered request and cache key; validates models and params."""
        return make_plan(self.dataset, self.variants, self.repeats, self.settings())

    def spec(self) -> dict[str, Any]:
        """Plain-data description (for YAML, run records and exports)."""
        return {
            "name": self.name,
            "dataset": {
                "source": self.dataset.describe_source(),
                "rows": len(self.dataset),
                "fingerprint": self.dataset.fingerprint,
            },
            "variants": [v.spec() for v in self.variants],
            "scorers": [dict(s.spec) for s in self.scorers],
            "repeats": self.repeats,
            "budget_usd": self.budget_usd,
            **({"description": self.description} if self.description else {}),
        }

    def estimate(self) -> Estimate:
        """Calls, input tokens and the most it could cost — grid and judge calls — before any
        call. Only reads the store (a missing one counts as empty; none is created)."""
        settings = self.settings()
        return self._estimate(
            make_plan(self.dataset, self.variants, self.repeats, settings), settings
        )

    def _estimate(self, plan: Plan, settings: Settings) -> Estimate:
        variants = {v.name: v for v in self.variants}
        rows = self.dataset.rows
        store = open_readonly(settings.store_path)
        if store is None:
            return estimate_run(plan, self.scorers, rows, variants, None)
        with store:
            return estimate_run(plan, self.scorers, rows, variants, store)

    # -- running -------------------------------------------------------------------------
    @overload
    def run(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        kind: str = "run",
        mode: str = "realtime",
        wait: Literal[True] = True,
    ) -> Results: ...

    @overload
    def run(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        kind: str = "run",
        mode: str,
        wait: bool,
    ) -> Results | BatchRun: ...

    def run(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        kind: str = "run",
        mode: str = "realtime",
        wait: bool = True,
    ) -> Results | BatchRun:
        """Run (blocking, also inside Jupyter) with live progress. Ctrl-C / interrupt stops
        cleanly and returns what finished; everything finished is saved and reused next time.
        ``kind`` is recorded in the run history: run, or check / export for those commands.

        ``mode="batch"`` sends the calls not already cached through the providers' batch APIs
        (about half the price, within 24 hours; providers without one run in real time), and
        the judge calls in a second batch phase. ``wait=False`` returns once the batches are
        submitted, with a :class:`~workbench.batch_runs.BatchRun` handle (``handle.results()``
        later); its Results when nothing was left to wait for."""
        # The display is made here, in the caller's (notebook cell's) thread; the run updates it.
        shown = progress or auto_progress(self.name)
        try:
            res = run_blocking(
                lambda stop: self._arun(
                    budget_usd=budget_usd,
                    progress=shown,
                    stop=stop,
                    kind=kind,
                    mode=mode,
                    wait=wait,
                )
            )
        except Exception as exc:  # e.g. a missing key: its message in place of the progress
            fail = getattr(shown, "fail", None)
            if callable(fail):
                fail(exc)
            raise
        if in_notebook() and isinstance(res, Results):  # the saved notebook records the run
            from workbench.notebook import show_provenance

            show_provenance(res)
        return res

    @overload
    async def arun(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
        kind: str = "run",
        mode: str = "realtime",
        wait: Literal[True] = True,
    ) -> Results: ...

    @overload
    async def arun(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
        kind: str = "run",
        mode: str,
        wait: bool,
    ) -> Results | BatchRun: ...

    async def arun(
        self,
        *,
        budget_usd: float | None = None,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
        kind: str = "run",
        mode: str = "realtime",
        wait: bool = True,
    ) -> Results | BatchRun:
        """Run in the current event loop: ``res = await exp.arun()``. Setting ``stop`` ends the
        run cleanly (recorded as ``interrupted``), keeping what finished. ``mode`` and ``wait``
        as for :meth:`run`."""
        return await self._arun(
            budget_usd=budget_usd, progress=progress, stop=stop, kind=kind, mode=mode, wait=wait
        )

    async def _arun(
        self,
        *,
        budget_usd: float | None,
        progress: Progress | None,
        stop: asyncio.Event | None,
        kind: str,
        mode: str,
        wait: bool,
    ) -> Results | BatchRun:
        if kind not in RUN_KINDS:
            raise ConfigError(f"Unknown run kind {kind!r}; use one of {', '.join(RUN_KINDS)}.")
        if mode not in MODES:
            raise ConfigError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
        if not wait and mode != "batch":
            raise ConfigError('wait=False needs mode="batch": a real-time run always waits.')
        settings = self.settings()
        plan = make_plan(self.dataset, self.variants, self.repeats, settings)
        judge_models = {parse_model_id(m, settings) for s in self.scorers for m in s.models}
        models = sorted(set(plan.models) | judge_models)
        for model in models:  # keys, SDKs, weights: before any call
            check_provider(model, settings)
        warn_retiring(model_info(m, settings) for m in models)
        budget = self.budget_usd if budget_usd is None else budget_usd
        if budget is not None:
            unpriced = self._estimate(plan, settings).unpriced
            if unpriced:
                raise BudgetError(
                    f"budget_usd cannot bound the spend: {', '.join(unpriced)} would be called "
                    f"and have no price. {price_hint(unpriced[0])}"
                )
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        progress = progress or auto_progress(self.name)
        stop = stop or asyncio.Event()
        bind = getattr(progress, "bind", None)
        if callable(bind):  # e.g. the notebook widget's Stop button
            bind(_stopper(asyncio.get_running_loop(), stop))
        started = time.time()
        with Store(settings.store_path) as store:
            store.start_run(run_id, self.name, self.spec(), kind)
            outcome: RunOutcome | None = None
            dispatcher = Dispatcher(
                store, settings, budget_usd=budget, concurrency=self.concurrency, stop=stop
            )
            status = "interrupted"  # cancelled (a notebook's interrupt) unless it ends otherwise
            variants = {v.name: v for v in self.variants}
            batches = None
            if mode == "batch":
                batches = BatchPhase(
                    dispatcher,
                    run_id=run_id,
                    experiment=self.name,
                    wait=wait,
                    plan_judges=lambda outcomes: judge_calls(
                        plan,
                        outcomes,
                        self.scorers,
                        self.dataset.rows,
                        variants,
                        lambda p: dispatcher.judge_call(p.model, p.messages, p.params, p.repeat),
                    ),
                )
            try:
                outcome = await execute(
                    plan, dispatcher, run_id=run_id, progress=progress, batches=batches
                )
                scores = []
                if outcome.status != "submitted":
                    scores = await score_cells(
                        plan,
                        outcome.outcomes,
                        self.scorers,
                        self.dataset.rows,
                        dispatcher.judge,
                        variants,
                    )
                status = outcome.status
            except Exception:
                status = "failed"  # an error ended it (what finished is saved), not a stop
                raise
            finally:
                await dispatcher.aclose()
                waiting = tuple(b.id for b in batches.pending) if batches else ()
                ledger = dispatcher.ledger
                tally = outcome.tally if outcome else None
                store.finish_run(
                    run_id,
                    status,
                    {
                        "cells": len(plan.cells),
                        "done": tally.done if tally else None,
                        "cached": tally.cached if tally else None,
                        "failed": tally.failed if tally else None,
                        "spent_usd": ledger.spent.get("cell", 0.0),
                        "scoring_usd": ledger.spent.get("judge", 0.0),
                        "mode": mode,
                        "batches": list(waiting),
                    },
                )
            labels = store.labels(self.name)
        if batches is not None and outcome.status == "submitted":
            return BatchRun(
                experiment=self.name,
                run_id=run_id,
                batch_ids=waiting,
                settings=settings,
                collect=lambda: self.run(budget_usd=budget_usd, mode="batch"),
                message=outcome.message,
            )
        message = outcome.message
        if ledger.refused["judge"]:
            message += (
                f" {ledger.refused['judge']} judge call(s) not made at the budget (those cells "
                f"are unscored); raise budget_usd and run again."
            ).rstrip()
        record = RunRecord(
            experiment=self.name,
            run_id=run_id,
            status=outcome.status,
            message=message.strip(),
            kind=kind,
            mode=mode,
            variants=plan.variants,
            scorers=tuple(dict(s.spec) for s in self.scorers),
            scorer_columns=tuple(s.name for s in self.scorers),
            repeats=self.repeats,
            budget_usd=budget,
            dataset=DatasetFacts.of(self.dataset),
            models=tuple(str(m) for m in plan.models),
            store=str(settings.store_path),
            store_origin=settings.store_origin,
            started=started,
            finished=time.time(),
            spend=Spend(
                calls_usd=ledger.spent.get("cell", 0.0),
                scoring_usd=ledger.spent.get("judge", 0.0),
                judge_calls=dispatcher.calls["judge"],
                unpriced_calls=sum(ledger.unpriced.values()),
                not_made=sum(ledger.refused.values()),
            ),
        )
        df = build_frame(
            plan,
            outcome.outcomes,
            scores,
            record.scorer_columns,
            self.dataset.rows,
            labels,
            outcome.status,
        )
        table = RunTable(df, record)
        with Store(settings.store_path) as store:  # what each variant scored, for wb.runs()
            fingerprints = {v.name: v.fingerprint for v in self.variants}
            store.add_to_summary(
                run_id,
                variants=headline(table, fingerprints),
                dataset=self.dataset.fingerprint[:12],
            )
            keep_table(store, table)  # read back by reports and comparisons across runs
        return Results(table)


def _stopper(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    """A function any thread may call to set ``stop`` (a no-op once the run has ended)."""

    def request() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the run is over
            loop.call_soon_threadsafe(stop.set)

    return request


def _as_providers(
    providers: Sequence[Provider] | Mapping[str, Provider] | None,
) -> dict[str, Provider]:
    items = (
        providers.items()
        if isinstance(providers, Mapping)
        else [(getattr(p, "name", None), p) for p in providers or ()]
    )
    out: dict[str, Provider] = {}
    for name, provider in items:
        if not isinstance(provider, Provider) or not isinstance(name, str):
            raise ConfigError(
                f"providers must be workbench Provider instances (e.g. FakeProvider()), got "
                f"{provider!r}."
            )
        out[name] = provider
    return out


def _as_endpoints(
    endpoints: Mapping[str, Endpoint | Mapping[str, str] | str] | None,
) -> dict[str, Endpoint]:
    out: dict[str, Endpoint] = {}
    for name, spec in (endpoints or {}).items():
        if isinstance(spec, Endpoint):
            out[name] = spec
            continue
        if isinstance(spec, str):
            spec = {"base_url": spec}
        unknown = set(spec) - {"base_url", "api_key_env"} if isinstance(spec, Mapping) else set()
        if not isinstance(spec, Mapping) or not isinstance(spec.get("base_url"), str) or unknown:
            raise ConfigError(
                f"Endpoint '{name}' needs a base_url (and optionally api_key_env), e.g. "
                f'{{"base_url": "http://localhost:8000/v1", "api_key_env": "VLLM_KEY"}}; got '
                f"{spec!r}."
            )
        key = spec.get("api_key_env")
        out[name] = Endpoint(name, spec["base_url"], str(key) if key else None)
    return out


def _as_dataset(dataset: Dataset | pd.DataFrame | str | Path) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, pd.DataFrame):
        return Dataset(dataset)
    if isinstance(dataset, (str, Path)):
        return Dataset.from_file(dataset)
    raise WorkbenchError(
        f"dataset must be a wb.Dataset, a DataFrame or a file path, not {type(dataset).__name__}."
    )


def _as_scorer(spec: Scorer | str | Mapping[str, Any]) -> Scorer:
    if isinstance(spec, Scorer):
        return spec
    if isinstance(spec, (str, Mapping)):
        return build_scorer(spec)
    raise ScorerError(f"Not a scorer: {spec!r}. Use wb.scorers.contains(...), a name, or a spec.")


def _unique_scorers(scorers: list[Scorer]) -> list[Scorer]:
    taken: set[str] = set()
    out = []
    for s in scorers:
        name, count = s.name, 1
        while name in taken:  # also skips a suffixed name another scorer already has
            count += 1
            name = f"{s.name}_{count}"
        taken.add(name)
        out.append(s if name == s.name else s.rename(name))
    return out
