"""The demo experiment: two prompt variants on the embedded model, on a bundled dataset."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from workbench.data.dataset import Dataset
from workbench.experiment import Experiment
from workbench.prompts.variant import Variant
from workbench.scoring.checks import contains

__all__ = ["demo_dataset_path", "demo_experiment"]


def demo_dataset_path() -> Path:
    """The bundled capitals dataset."""
    return Path(str(resources.files("workbench.demo").joinpath("capitals.csv")))


def demo_experiment(model: str = "local/smollm2", repeats: int = 2) -> Experiment:
    """Terse vs. friendly system prompt, answers checked for the expected city."""
    terse = Variant(
        "terse",
        model=model,
        system="Answer with the name of the city only.",
        user="{{ question }}",
        params={"temperature": 0.7, "max_tokens": 24},
    )
    friendly = terse.replace(
        name="friendly",
        system="You are a friendly geography tutor. Answer in one short, kind sentence.",
    )
    return Experiment(
        "demo-capitals",
        Dataset.from_file(demo_dataset_path()),
        [terse, friendly],
        scorers=[contains("{{ expected }}", name="has_city")],
        repeats=repeats,
    )
