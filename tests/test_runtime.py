"""The shared daemon runtime: stopping tasks, signals, the event loop."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from runtime.loop import FORCED_EXIT, StopSignals, run, run_daemon
from runtime.tasks import cancel_and_wait


async def test_cancel_and_wait_stops_tasks_and_keeps_the_callers_cancellation() -> None:
    forever = asyncio.create_task(asyncio.Event().wait())
    failed = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await cancel_and_wait(forever, None, failed)
    assert forever.cancelled() and failed.done()

    async def stubborn() -> None:
        # a task that takes its time to stop: its stop is what we will be waiting on
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(30)

    slow = asyncio.create_task(stubborn())
    await asyncio.sleep(0.01)
    stopper = asyncio.create_task(cancel_and_wait(slow))
    await asyncio.sleep(0.05)
    stopper.cancel()  # the caller itself is cancelled while it waits
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()  # not swallowed, as suppress(CancelledError) would
    slow.cancel()
    await asyncio.wait({slow})


def test_run_uses_uvloop_and_returns_the_result() -> None:
    async def loop_name() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run(loop_name()).startswith("uvloop")
    assert run(loop_name(), use_uvloop=False).startswith("asyncio")


def test_first_signal_asks_to_stop_second_forces_exit() -> None:
    async def daemon() -> int:
        stop = asyncio.Event()
        with StopSignals(stop):
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(stop.wait(), 10)  # the first: a graceful stop
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(30)  # the second cancels us before this ends
        return 0

    assert run_daemon(daemon()) == FORCED_EXIT
    # the handlers are gone afterwards: the default SIGINT handler is back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
