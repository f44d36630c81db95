"""The one way a dualclass process runs its event loop, and how it stops.

``run(main)`` runs a coroutine to completion on uvloop when it is installed (the
default asyncio loop elsewhere) and returns its result; ``run_daemon(main)`` does
the same for a daemon's main coroutine and returns its exit status. Every daemon,
command and benchmark goes through them, so they all measure and behave alike.

``StopSignals(stop)`` is the daemons' signal policy, as in uvicorn: the first
SIGTERM or SIGINT sets ``stop`` (the daemon drains and exits cleanly); the second
cancels the task that installed the handlers, so a daemon stuck in its drain
still exits, with ``forced`` set for its exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["FORCED_EXIT", "StopSignals", "run", "run_daemon"]

T = TypeVar("T")

log = logging.getLogger("dualclass.runtime")

#: Exit status of a daemon stopped by a second signal.
FORCED_EXIT = 1

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed on Linux
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True) -> T:
    """Run ``main`` on a fresh loop (uvloop if installed and wanted); its result."""
    with asyncio.Runner(loop_factory=_loop_factory(use_uvloop)) as runner:
        return runner.run(main)


def run_daemon(main: Coroutine[Any, Any, int | None]) -> int:
    """Run a daemon's main coroutine; its exit status (``None`` counts as 0).

    A main task cancelled by ``StopSignals`` (forced exit) returns ``FORCED_EXIT``
    instead of raising.
    """
    try:
        return int(run(main) or 0)
    except asyncio.CancelledError:
        return FORCED_EXIT


class StopSignals:
    """SIGTERM/SIGINT handlers for the current task; a context manager.

    ``with StopSignals(stop) as signals:`` inside the daemon's main coroutine;
    the handlers are removed on exit. ``forced`` tells whether the second
    signal cancelled the task.
    """

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.forced = False
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            log.info("%s: stopping (send it again to exit at once)", sig.name)
            self.stop.set()
            return
        log.warning("second %s: exiting now", sig.name)
        self.forced = True
        if self._task is not None:
            self._task.cancel()

    def __enter__(self) -> StopSignals:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is None:
            return
        for sig in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.remove_signal_handler(sig)
