"""Run async work from plain code and from inside Jupyter's already-running event loop.

The work runs on a fresh event loop in a worker thread; the caller's thread waits. Ctrl-C (or a
notebook's interrupt) asks the work to stop cleanly and returns what it finished.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["run_blocking"]

T = TypeVar("T")


def run_blocking(work: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``work(stop_event)`` to completion on its own loop; KeyboardInterrupt sets the event
    and waits for the work to wind down. A second interrupt abandons it."""
    box: dict[str, object] = {}
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            box["value"] = await work(stop)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    def target() -> None:
        try:
            loop.run_until_complete(main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            ready.set()

    thread = threading.Thread(target=target, name="workbench-run", daemon=True)
    try:
        thread.start()  # inside the try: a Ctrl-C while it starts must stop the work too
        while not ready.wait(0.1):
            pass
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(stop.set)
        ready.wait()  # a second Ctrl-C leaves the thread to finish on its own
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
