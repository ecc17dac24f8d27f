"""Run progress as an ipywidget: a bar, the counts, elapsed time and time left, spend vs budget,
why it runs slower than it could (e.g. the slow local-model hint), the latest outputs as they
arrive, and a Stop button; then a clear final state (done, stopped, failed).

Implements the :class:`~workbench.engine.progress.Progress` protocol. ``Experiment.run`` calls
:meth:`ProgressWidget.bind` with a thread-safe function that asks the run to stop; Stop calls it,
and the run ends cleanly keeping what finished. An error before the first call replaces the
widget with its message (:meth:`ProgressWidget.fail`). Colours are the notebook theme's.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from workbench import figures
from workbench.engine.progress import Finished, Tally
from workbench.views.display import error_html
from workbench.views.snapshot import with_static

__all__ = ["ProgressWidget"]

_ERROR = "var(--jp-error-color1, #d62728)"
_HINT = "var(--jp-warn-color0, #e65100)"
_ENDED = {
    "complete": ("success", "done"),
    "budget": ("warning", "stopped at the budget"),
    "interrupted": ("danger", "stopped"),
    "submitted": ("info", "submitted: waiting for the provider's batches"),
}
"""Bar style and headline of each way a run ends (else: failed)."""


class ProgressWidget:
    """Progress of one run, shown in the cell that started it."""

    def __init__(
        self,
        label: str,
        *,
        display: bool = True,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.interval = interval
        self.clock = clock
        self.budget: float | None = None
        self.started: float | None = None
        """When the run started (``clock`` time); None before."""
        self.bar = w.IntProgress(value=0, min=0, max=1, description="", bar_style="info")
        self.text = w.HTML(value=f"<b>{html.escape(label)}</b>: starting")
        self.hints = w.HTML(value="")
        """Why the run goes slower than it could, e.g. the local model's speed and what to do."""
        self.latest = w.HTML(value="")
        """The calls that finished last, newest first: variant, row, repeat, output or error."""
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop")
        self.stop_button.on_click(lambda _: self.request_stop())
        self.box = w.VBox(
            [w.HBox([self.bar, self.stop_button]), self.text, self.hints, self.latest]
        )
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

    def _times(self, tally: Tally, going: bool = True) -> str:
        """Elapsed time, and time left while calls go."""
        if self.started is None:
            return ""
        elapsed = (self.clock() - self.started) * 1000
        shown = f"elapsed {figures.duration(elapsed)}"
        left = tally.total - tally.done
        if going and left > 0 and tally.rate > 0:
            shown += f" · about {figures.duration(left / tally.rate * 1000)} left"
        return shown

    def _show(self, tally: Tally, headline: str = "", note: str = "") -> None:
        self.bar.max = max(tally.total, 1)
        self.bar.value = tally.done
        left = tally.total - tally.done
        spend = figures.money(tally.spent) + (
            f" of ${self.budget:.2f} budget" if self.budget is not None else ""
        )
        state = f" — <b>{headline}</b>" if headline else ""
        times = self._times(tally, going=not headline)
        self.text.value = (
            f"<b>{html.escape(self.label)}</b>{state}: {tally.done}/{tally.total} done · "
            f"{tally.cached} cached · {tally.failed} failed · {left} remaining · {spend} · "
            f"{tally.rate:.1f} calls/s" + (f" · {times}" if times else "")
        ) + (f"<br>{html.escape(note)}" if note else "")
        self.hints.value = "".join(
            f'<div style="color:{_HINT}">⚠ {html.escape(text)}</div>'
            for text in tally.notes.values()
        )
        self.latest.value = _latest_table(tally.recent)

    def start(self, tally: Tally, budget: float | None) -> None:
        self.budget = budget
        self.started = self.clock()
        self._show(tally)

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval or tally.done >= tally.total:
            self._last = now
            self._show(tally)

    def finish(self, tally: Tally, status: str, message: str) -> None:
        style, headline = _ENDED.get(status, ("danger", "failed"))
        self._show(tally, headline, message)
        self.bar.bar_style = style
        self.stop_button.disabled = True
        self.stop_button.layout.display = "none"  # nothing left to stop
        self._release()

    def fail(self, error: BaseException) -> None:
        """The run could not start (or broke): its message takes the widget's place."""
        started = self.started is not None
        panel = w.HTML(value=error_html(error, self.label, started=started))
        self.stop_button.layout.display = "none"
        if started:  # what ran stays in view; the error says why it ended
            self.bar.bar_style = "danger"
            self.box.children = [*self.box.children, panel]
        else:  # nothing ran: no bar, no Stop, just what to do
            self.box.children = [panel]
        self._release()

    def _release(self) -> None:
        """The run has ended: show its final state also to readers without a kernel, and give
        the Stop button's messages back to the kernel's main thread."""
        if self._handle is not None:
            self._handle.update(
                with_static(self.box._repr_mimebundle_(), self.static_html()), raw=True
            )
        if self._unroute is not None:
            self._unroute()
            self._unroute = None

    def static_html(self) -> str:
        """The progress as it stands (or the error that ended it), as HTML saved with the
        notebook."""
        shown = [c.value for c in self.box.children if isinstance(c, w.HTML)]
        return f"<div>{''.join(shown)}</div>"


def _latest_table(recent: Iterable[Finished], width: int = 160) -> str:
    """An HTML table of just-finished calls, newest first (empty when there are none)."""
    rows = []
    for f in reversed(list(recent)):
        if f.error is not None:
            shown = f'<span style="color:{_ERROR}">error: {html.escape(f.error[:width])}</span>'
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
