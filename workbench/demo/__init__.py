"""The demo: ten capital-city questions and two prompt variants on the embedded model.

``wb.demo.dataset()`` is the demo's Dataset (what the README's Quickstart runs on);
``workbench demo --copy-data [DIR]`` (or :func:`copy_data`) writes its rows to ``questions.csv``
to edit into your own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from workbench.data.dataset import Dataset
from workbench.errors import DatasetError
from workbench.experiment import Experiment
from workbench.prompts.variant import Variant
from workbench.scoring.checks import contains

__all__ = ["DATA_NAME", "copy_data", "dataset", "demo_dataset_path", "demo_experiment"]

DATA_NAME = "questions.csv"
"""The demo data's file name, in the package and wherever :func:`copy_data` writes it."""


def demo_dataset_path() -> Path:
    """The bundled demo data (columns ``id``, ``question``, ``expected``)."""
    return Path(str(resources.files("workbench.demo").joinpath(DATA_NAME)))


def dataset() -> Dataset:
    """The demo's ten questions with their expected answers, as a Dataset."""
    return Dataset.from_file(demo_dataset_path())


def copy_data(folder: str | Path = ".") -> tuple[Path, bool]:
    """Write the demo rows to ``folder/questions.csv``; returns the path and whether it was
    written (False: an identical file was already there). A different file there is refused."""
    target = Path(folder) / DATA_NAME
    data = demo_dataset_path().read_bytes()
    if target.exists():
        if target.is_file() and target.read_bytes() == data:
            return target, False
        raise DatasetError(
            f"{target} already exists and is not the demo data; it was left as it is. "
            f"Copy to another folder: workbench demo --copy-data OTHER_FOLDER"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target, True


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
        dataset(),
        [terse, friendly],
        scorers=[contains("{{ expected }}", name="has_city")],
        repeats=repeats,
    )
