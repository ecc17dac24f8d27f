"""Experiments from other tools' files: promptfoo configs and GitHub Models ``.prompt.yml``.

Each importer reads its format into plain data (:class:`~workbench.importers.spec.Imported`:
rows, variant and scorer specs, endpoints) with a report of what it could not carry over;
``Experiment.from_promptfoo`` / ``Experiment.from_github_models`` turn that into an experiment.
This package's ``__init__`` imports nothing heavy: the exporter reads the GitHub Models facts
from :mod:`workbench.importers.github_models` without pandas.
"""

from workbench.importers.spec import Imported, ImportReport, Note

__all__ = ["ImportReport", "Imported", "Note"]
