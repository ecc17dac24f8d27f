"""Models the provider is retiring: a warning before any call, pointing at the replacement."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import date

from workbench.errors import WorkbenchWarning
from workbench.providers.base import ModelInfo

__all__ = ["NOTICE_DAYS", "retirement_note", "warn_retiring"]

NOTICE_DAYS = 30
"""Warn this many days before a model's retirement date (and after it)."""


def retirement_note(info: ModelInfo, today: date | None = None) -> str | None:
    """What to say about a model retired or retiring within :data:`NOTICE_DAYS`; None if not."""
    if not info.retires:
        return None
    when = date.fromisoformat(info.retires)
    days = (when - (today or date.today())).days
    if days > NOTICE_DAYS:
        return None
    if days < 0:
        what = f"was retired on {when}: calls to it fail"
    elif days == 0:
        what = "is retired today"
    else:
        what = f"retires on {when}, in {days} day{'s' if days != 1 else ''}"
    new = info.replacement or "a current model (workbench models)"
    return (
        f"{info.id} {what}. Its provider recommends {new}: check an exported prompt on it with "
        f"`workbench check prompts/<name> --model {new}`, then switch."
    )


def warn_retiring(models: Iterable[ModelInfo], today: date | None = None) -> list[str]:
    """Warn (a :class:`~workbench.errors.WorkbenchWarning`) once per retiring model; returns the
    notes."""
    notes = []
    for info in {m.id: m for m in models}.values():
        note = retirement_note(info, today)
        if note:
            warnings.warn(note, WorkbenchWarning, stacklevel=3)
            notes.append(note)
    return notes
