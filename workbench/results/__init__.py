"""Results of a run: the tidy table, its declared columns, summaries."""

from workbench.results.columns import COLUMNS
from workbench.results.table import Results

__all__ = ["COLUMNS", "Results"]
