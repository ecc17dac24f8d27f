"""Live progress of a run, shown where it runs: a widget or a text line in a notebook cell, a line
rewritten in place on a terminal, or a line every few seconds in a log."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from workbench.engine.progress import Progress, Tally
from workbench.views.notebook import in_notebook

__all__ = ["NotebookProgress", "TextProgress", "auto_progress"]


class TextProgress:
    """A line rewritten in place on a terminal; a line every ``interval`` s in a log."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.1 if self.tty else 10.0)
        self.budget: float | None = None
        self._last = 0.0

    def _emit(self, tally: Tally, final: bool = False) -> None:
        text = f"{self.label}: {tally.line(self.budget)}"
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, tally: Tally, budget: float | None) -> None:
        self.budget = budget
        self._last = time.monotonic()
        if self.tty:
            self._emit(tally)

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(tally)

    def finish(self, tally: Tally, status: str, message: str) -> None:
        self._emit(tally, final=True)
        if message:
            self.stream.write(message + "\n")
            self.stream.flush()


class NotebookProgress:
    """A text line in the cell output, updated in place (without ipywidgets; else the widget in
    :mod:`workbench.views.progress_widget`)."""

    def __init__(self, label: str) -> None:
        from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

        self.label = label
        self.budget: float | None = None
        self._handle: Any = display(  # type: ignore[no-untyped-call,unused-ignore]
            {"text/plain": f"{label}: starting"}, raw=True, display_id=True
        )
        self._last = 0.0

    def _show(self, text: str) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": text}, raw=True)

    def start(self, tally: Tally, budget: float | None) -> None:
        self.budget = budget
        self._show(f"{self.label}: {tally.line(budget)}")

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            self._show(f"{self.label}: {tally.line(self.budget)}")

    def finish(self, tally: Tally, status: str, message: str) -> None:
        self._show(f"{self.label}: {tally.line(self.budget)}" + (f"\n{message}" if message else ""))

    def fail(self, error: BaseException) -> None:
        """The run's error in place of the progress line."""
        self._show(f"{self.label}: {type(error).__name__}: {error}")


def auto_progress(label: str) -> Progress:
    """The right progress display for where we are running."""
    if in_notebook():
        try:
            from workbench.views.progress_widget import ProgressWidget
        except ImportError:  # no ipywidgets: a text line in the cell
            return NotebookProgress(label)
        return ProgressWidget(label)
    return TextProgress(label)
