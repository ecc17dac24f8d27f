"""Live progress of a run: in a notebook cell, on a terminal, or in a log."""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

__all__ = ["Finished", "NullProgress", "Progress", "Tally", "TextProgress", "auto_progress"]

RECENT = 5
"""How many just-finished calls a tally keeps for a live view."""


@dataclass(frozen=True)
class Finished:
    """A call that just finished: which cell, and its output or error."""

    variant: str
    row_id: str
    repeat: int
    output: str | None
    error: str | None


@dataclass
class Tally:
    """Counts of a run so far."""

    total: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0
    spent: float = 0.0
    rate: float = 0.0
    """Calls per second (not counting cached cells)."""
    recent: deque[Finished] = field(default_factory=lambda: deque(maxlen=RECENT))
    """The last calls that finished, oldest first."""
    notes: dict[str, str] = field(default_factory=dict)
    """Why the run goes slower than it could, by topic (e.g. ``"limit"``, ``"local"``): shown
    under the counts while set; a topic set to ``""`` is cleared."""

    def note(self, topic: str, text: str) -> None:
        """Set (or, with ``""``, clear) the note on ``topic``."""
        if text:
            self.notes[topic] = text
        else:
            self.notes.pop(topic, None)

    def line(self, budget: float | None = None) -> str:
        """One-line summary."""
        spend = f"${self.spent:.4f}" + (f" of ${budget:.2f}" if budget is not None else "")
        notes = "".join(f" · {text}" for text in self.notes.values())
        return (
            f"{self.done}/{self.total} done · {self.cached} cached · {self.failed} failed · "
            f"{self.total - self.done} left · {spend} · {self.rate:.1f} calls/s{notes}"
        )


class Progress(Protocol):
    """Receives run events; must be cheap (called once per finished call)."""

    def start(self, tally: Tally, budget: float | None) -> None: ...
    def update(self, tally: Tally) -> None: ...
    def finish(self, tally: Tally, status: str, message: str) -> None: ...


class NullProgress:
    """Shows nothing."""

    def start(self, tally: Tally, budget: float | None) -> None:
        pass

    def update(self, tally: Tally) -> None:
        pass

    def finish(self, tally: Tally, status: str, message: str) -> None:
        pass


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


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def auto_progress(label: str) -> Progress:
    """The right progress display for where we are running."""
    if in_notebook():
        try:
            from workbench.views.progress_widget import ProgressWidget
        except ImportError:  # no ipywidgets: a text line in the cell
            return NotebookProgress(label)
        return ProgressWidget(label)
    return TextProgress(label)
