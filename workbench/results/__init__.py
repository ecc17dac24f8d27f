"""Results as data: the run table (its columns declared once) and the typed run record."""

from workbench.results.columns import COLUMNS, Column
from workbench.results.record import RunRecord
from workbench.results.table import RunTable

__all__ = ["COLUMNS", "Column", "RunRecord", "RunTable"]
