"""``workbench check``: re-run an exported prompt's evaluation through the normal engine (cached
calls are reused) and decide whether it regressed against the record it shipped with."""

from __future__ import annotations

from pathlib import Path

from workbench.artifact.check import CheckReport, check_inputs, judge_check
from workbench.artifact.loader import load_prompt
from workbench.engine.progress import NullProgress, Progress
from workbench.errors import ArtifactError
from workbench.experiment import Experiment

__all__ = ["run_check"]


def run_check(
    ref: str | Path,
    *,
    model: str | None = None,
    dataset: str | Path | None = None,
    min_pass_rate: float | None = None,
    tolerance: float = 0.0,
    progress: Progress | None = None,
) -> CheckReport:
    """Re-run the evaluation of an exported prompt and compare with its record."""
    if min_pass_rate is not None and not 0 <= min_pass_rate <= 1:
        raise ArtifactError(f"min_pass_rate must be between 0 and 1, got {min_pass_rate}.")
    prompt = load_prompt(ref)
    inputs = check_inputs(prompt, model, dataset)
    exp = Experiment(
        inputs.experiment, inputs.dataset, [inputs.variant], inputs.scorers, repeats=inputs.repeats
    )
    res = exp.run(progress=progress or NullProgress(), kind="check")
    return judge_check(
        prompt, inputs, res.table, model=model, min_pass_rate=min_pass_rate, tolerance=tolerance
    )
