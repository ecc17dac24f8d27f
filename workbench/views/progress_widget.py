"""Run progress as an ipywidget: a bar, the counts, spend vs budget, the latest outputs as they
arrive, and a Stop button.

Implements the :class:`~workbench.engine.progress.Progress` protocol. ``Experiment.run`` calls
:meth:`ProgressWidget.bind` with a thread-safe function that asks the run to stop; Stop calls it,
and the run ends cleanly keeping what finished.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from workbench.engine.progress import Finished, Tally
from workbench.views.snapshot import with_static

__all__ = ["ProgressWidget"]


class ProgressWidget:
    """Progress of one run, shown in the cell that started it."""

    def __init__(self, label: str, *, display: bool = True, interval: float = 0.2) -> None:
        self.label = label
        self.interval = interval
        self.budget: float | None = None
        self.bar = w.IntProgress(value=0, min=0, max=1, description="", bar_style="info")
        self.text = w.HTML(value=f"<b>{label}</b>: starting")
        self.latest = w.HTML(value="")
        """The calls that finished last, newest first: variant, row, repeat, output or error."""
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop")
        self.stop_button.on_click(lambda _: self.request_stop())
        self.box = w.VBox([w.HBox([self.bar, self.stop_button]), self.text, self.latest])
        self.stop_requested = False
        self._stop: Callable[[], None] | None = None
        self._last = 0.0
        self._unroute: Callable[[], None] | None = None
        self._handle: Any = None
        if display:
            from IPython.display import display as show  # type: ignore[import-not-found,unused-ignore]

            self._handle = show(  # type: ignore[no-untyped-call,unused-ignore]
                self.box._repr_mimebundle_(), raw=True, display_id=True
            )
            self._unroute = _own_thread_for(self.stop_button)

    def bind(self, stop: Callable[[], None]) -> None:
        """Give the widget the run's stop function (called from the kernel's thread)."""
        self._stop = stop
        if self.stop_requested:
            stop()

    def request_stop(self) -> None:
        """What the Stop button does: ask the run to stop; finished calls are kept."""
        self.stop_requested = True
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping…"
        if self._stop is not None:
            self._stop()

    def _show(self, tally: Tally, note: str = "") -> None:
        self.bar.max = max(tally.total, 1)
        self.bar.value = tally.done
        left = tally.total - tally.done
        spend = f"${tally.spent:.4f}" + (
            f" of ${self.budget:.2f} budget" if self.budget is not None else ""
        )
        self.text.value = (
            f"<b>{self.label}</b>: {tally.done}/{tally.total} done · {tally.cached} cached · "
            f"{tally.failed} failed · {left} remaining · {spend} · {tally.rate:.1f} calls/s"
            + "".join(f"<br><i>{html.escape(text)}</i>" for text in tally.notes.values())
            + (f"<br>{note}" if note else "")
        )
        self.latest.value = _latest_table(tally.recent)

    def start(self, tally: Tally, budget: float | None) -> None:
        self.budget = budget
        self._show(tally)

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval or tally.done >= tally.total:
            self._last = now
            self._show(tally)

    def finish(self, tally: Tally, status: str, message: str) -> None:
        self._show(tally, message)
        styles = {"complete": "success", "budget": "warning", "submitted": "info"}
        self.bar.bar_style = styles.get(status, "danger")
        self.stop_button.disabled = True
        self.stop_button.description = {"complete": "Done", "submitted": "Submitted"}.get(
            status, "Stopped"
        )
        if self._handle is not None:  # the finished state, also for readers without a kernel
            self._handle.update(
                with_static(self.box._repr_mimebundle_(), self.static_html()), raw=True
            )
        if self._unroute is not None:
            self._unroute()
            self._unroute = None

    def static_html(self) -> str:
        """The progress as it stands, as HTML saved with the notebook."""
        return f"<div>{self.text.value}{self.latest.value}</div>"


def _latest_table(recent: Iterable[Finished], width: int = 160) -> str:
    """An HTML table of just-finished calls, newest first (empty when there are none)."""
    rows = []
    for f in reversed(list(recent)):
        if f.error is not None:
            shown = f'<span style="color:#d62728">error: {html.escape(f.error[:width])}</span>'
        else:
            text = " ".join((f.output or "").split())
            shown = html.escape(text[:width] + ("…" if len(text) > width else ""))
        rows.append(
            f"<tr><td>{html.escape(f.variant)}</td><td>{html.escape(f.row_id)}</td>"
            f"<td>{f.repeat}</td><td style='text-align:left'>{shown}</td></tr>"
        )
    if not rows:
        return ""
    head = "<tr><th>variant</th><th>row</th><th>repeat</th><th>latest outputs</th></tr>"
    return f"<table style='font-size:90%'>{head}{''.join(rows)}</table>"


def _own_thread_for(widget: w.Widget) -> Callable[[], None] | None:
    """Have the kernel handle ``widget``'s messages (a click) on a subshell thread of its own.

    ``exp.run()`` blocks the cell, and a kernel handles widget messages only between cells;
    ipykernel 7's subshells run on their own threads, so the Stop click arrives while the run
    works. Returns a function that undoes it, or None where subshells are not available (there
    the kernel's interrupt button stops the run, and ``await exp.arun()`` takes clicks anyway).
    """
    try:
        from ipykernel.kernelbase import Kernel  # type: ignore[import-not-found,unused-ignore]

        if not Kernel.initialized():
            return None
        kernel = Kernel.instance()
        if not getattr(kernel, "_supports_kernel_subshells", False):
            return None
        channel = kernel.shell_channel_thread
        manager = channel.manager
        made: dict[str, str] = {}
        ready = threading.Event()

        def create() -> None:  # subshells are made on the shell channel's thread
            try:
                made["id"] = manager._create_subshell()
            finally:
                ready.set()

        channel.io_loop.add_callback(create)
        comm = widget.comm
        if not ready.wait(5.0) or "id" not in made or comm is None:
            return None
        subshell = made["id"]
        comm._reply_subshell_for = lambda data, default: subshell

        def undo() -> None:
            with contextlib.suppress(Exception):
                del comm._reply_subshell_for
            channel.io_loop.add_callback(lambda: manager._delete_subshell(subshell))

        return undo
    except Exception:  # private API of one kernel: never break a run over it
        return None
