"""``workbench check``: re-run an exported prompt's evaluation through the normal engine (cached
calls are reused) and judge it against the record it shipped with.

Sequential mode (``sequential=True``) runs the rows in a fixed random order (seeded by the
dataset's fingerprint) and looks at the results after a quarter, half, three quarters and all of
them; it stops paying as soon as a look settles the gate (pass or regression). Each look is
judged at the alpha that O'Brien–Fleming-type spending gives it
(:mod:`workbench.analysis.sequential`), so the looks together keep the check's error rate.
"""

from __future__ import annotations

import random
from pathlib import Path

from workbench.analysis.sequential import schedule
from workbench.artifact.check import (
    ALPHA,
    DEFAULT_MARGIN,
    CheckInputs,
    CheckOptions,
    CheckReport,
    Sequential,
    check_inputs,
    judge_check,
)
from workbench.artifact.loader import LoadedPrompt, load_prompt
from workbench.data.dataset import Dataset
from workbench.engine.progress import NullProgress, Progress
from workbench.errors import ArtifactError
from workbench.experiment import Experiment
from workbench.results.table import RunTable

__all__ = ["run_check"]


def run_check(
    ref: str | Path,
    *,
    model: str | None = None,
    dataset: str | Path | None = None,
    margin: float = DEFAULT_MARGIN,
    min_pass_rate: float | None = None,
    sequential: bool = False,
    progress: Progress | None = None,
) -> CheckReport:
    """Re-run the evaluation of an exported prompt and judge it against its record.

    ``margin``: how much lower than recorded a pass rate may be (0.05 = 5 points; for scores
    without pass/fail, in the scorer's units) before the check regresses; ``min_pass_rate``:
    gate the first scorer against this floor instead; ``sequential``: stop paying once settled.
    """
    if min_pass_rate is not None and not 0 <= min_pass_rate <= 1:
        raise ArtifactError(f"min_pass_rate must be between 0 and 1, got {min_pass_rate}.")
    if not 0 <= margin < 1:
        raise ArtifactError(
            f"margin must be at least 0 and below 1 (0.05 = 5 points), got {margin}."
        )
    prompt = load_prompt(ref)
    inputs = check_inputs(prompt, model, dataset)
    progress = progress or NullProgress()
    if not sequential:
        table = _run(inputs, inputs.dataset, progress)
        options = CheckOptions(margin, min_pass_rate)
        return judge_check(prompt, inputs, table, model=model, options=options)
    return _sequential(prompt, inputs, model, margin, min_pass_rate, progress)


def _run(inputs: CheckInputs, dataset: Dataset, progress: Progress) -> RunTable:
    exp = Experiment(
        inputs.experiment, dataset, [inputs.variant], inputs.scorers, repeats=inputs.repeats
    )
    return exp.run(progress=progress, kind="check").table


def _sequential(
    prompt: LoadedPrompt,
    inputs: CheckInputs,
    model: str | None,
    margin: float,
    min_pass_rate: float | None,
    progress: Progress,
) -> CheckReport:
    full = inputs.dataset
    order = list(range(len(full)))
    random.Random(full.fingerprint).shuffle(order)
    looks = schedule(len(full), ALPHA)
    spent = 0.0
    report: CheckReport | None = None
    for look in looks:
        spent += look.alpha
        seen = sorted(order[: look.rows])
        table = _run(inputs, _subset(full, seen), progress)
        if full.id_column is None:  # positions in the subset -> positions in the dataset
            ids = [str(seen[int(r)]) for r in table.df["row_id"]]
            table = RunTable(table.df.assign(row_id=ids), table.record)
        final = look.number == len(looks)
        options = CheckOptions(margin, min_pass_rate, alpha=look.alpha, final=final)
        where = Sequential(look.number, len(looks), look.rows, len(full), look.alpha, spent)
        report = judge_check(prompt, inputs, table, model=model, options=options, sequential=where)
        if report.status in ("pass", "regression", "error"):
            break
    assert report is not None
    return report


def _subset(dataset: Dataset, positions: list[int]) -> Dataset:
    """The rows at ``positions`` (their ids kept when the dataset has an id column)."""
    if len(positions) == len(dataset):
        return dataset
    return Dataset(
        dataset.df.iloc[positions].reset_index(drop=True),
        name=dataset.name,
        id_column=dataset.id_column,
        path=dataset.path,
    )
