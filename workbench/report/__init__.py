"""One-file reports: a run as a single self-contained, offline HTML page
(``res.report("run.html")``, ``workbench report RUN_ID|latest --out run.html``)."""

from workbench.report.page import report_html, write_report

__all__ = ["report_html", "write_report"]
