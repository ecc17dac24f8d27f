"""What a run tells about its progress: the counts (:class:`Tally`) and the :class:`Progress`
protocol its displays implement (they live in :mod:`workbench.views.progress`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Finished", "NullProgress", "Progress", "Tally"]

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
