"""The hub process: ``Hub(config)`` with startup -> main loop -> shutdown.

``startup`` connects Redis (retrying with backoff while it is away), records the hub
users, starts the ledger feed, connects the publishing MQTT link, rebuilds every
session from its log, brings the broker files up to date, subscribes (shared
uplinks + all presence), starts the lesson scheduler, the signalling service and
the HTTP API. Each step registers its own undo on an ``AsyncExitStack``: if a
later step fails, what was started is closed again, in reverse order, and the
error propagates. Long-running work (the uplink consumer, the HTTP server) runs
in one ``asyncio.TaskGroup``.

``main_loop`` waits for ``should_exit``; ``shutdown`` closes the stack, which is
the drain, in reverse start order: the dashboards' event streams end, the API
stops, signalling closes its rooms (relay peer connections included), the
scheduler stops, routing stops (uplinks not yet routed stay unacknowledged at the
broker, which delivers them to the next start), uplinks already queued are stored
and acknowledged, the subscribing link disconnects (the broker keeps our
persistent session and queues further uplinks), the runtimes publish and stop,
then the publishing link, the ledger feed (final save) and Redis are closed.

``run(config)`` is the process entry (``runtime.run``: uvloop; ``StopSignals``:
the first SIGTERM/SIGINT drains, the second exits at once, status 1).
``main(argv)`` parses the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI

from hub.api import create_app
from hub.api.signalling import install_signalling
from hub.config import HubConfig
from hub.core import HubCore
from hub.exceptions import HubError, StoreUnavailable
from hub.recording.storage import RecordingStore
from hub.scheduling.due import Timing
from hub.scheduling.runs import Runner, RunStore
from hub.scheduling.scheduler import LessonScheduler
from hub.signalling.service import Signalling
from protocols.signalling import MAX_SIGNAL_SIZE
from runtime.exceptions import ConfigError
from runtime.loop import FORCED_EXIT, StopSignals, run_daemon
from runtime.tasks import cancel_and_wait

__all__ = ["Hub", "main", "run"]

log = logging.getLogger("dualclass.hub")

#: Sent with every HTTPS response: browsers use HTTPS for this host for a year.
HSTS = "max-age=31536000"


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the hub owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Hub(HubCore):
    """One hub replica. ``async with Hub(config) as hub`` runs startup and shutdown."""

    def __init__(self, config: HubConfig, *, routers: Sequence[APIRouter] = ()) -> None:
        super().__init__(config)
        self.should_exit = asyncio.Event()
        self.api_port: int | None = None
        self._routers = routers
        #: The FastAPI application once the API runs (tests reach its services here).
        self.app: FastAPI | None = None
        self._api: _ApiServer | None = None
        self._api_task: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        #: The undo of every start-up step; closing it is the drain.
        self._stack: contextlib.AsyncExitStack | None = None
        self.signalling: Signalling | None = None
        self.matching_runs: Runner | None = None
        # joins before each lesson, leaves after it (one loop, see hub.scheduling)
        self.lessons = LessonScheduler(
            self,
            timing=Timing(lead_s=config.join_lead_time_s),
            interval_s=config.join_check_interval_s,
        )
        self._started = False

    async def __aenter__(self) -> Hub:
        await self.startup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    # --------------------------------------------------------------- startup

    async def _wait_for_redis(self) -> None:
        delay = 0.1
        while True:
            try:
                await self.store.ping()
                return
            except StoreUnavailable as exc:
                log.warning("%s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.redis_retry_max_s)

    async def startup(self) -> None:
        """Start everything; on failure, close what was started and re-raise."""
        async with contextlib.AsyncExitStack() as stack:
            await self._wait_for_redis()
            stack.push_async_callback(self.store.close)
            await self.ensure_hub_users()
            # the ledger first: runtimes feed it the events they catch up on
            await self.ledger_feed.start(await self.store.all_sessions())
            stack.push_async_callback(self.ledger_feed.stop)
            # broker files first: a replica whose MQTT password was just rotated can
            # only log in once its new hash is in the password file (docs/security.md)
            applied = await self.broker.apply(confirm=False)
            await self.link_out.start(wait=True)
            stack.push_async_callback(self.link_out.close)
            if applied:
                await self.broker.barrier()
            sessions = await self.load_sessions()
            stack.push_async_callback(self._stop_runtimes)
            log.info("rebuilt %d sessions from redis", sessions)
            await self.ledger_feed.ensure_infos(r.spec for r in list(self.runtimes.values()))
            tasks = await stack.enter_async_context(asyncio.TaskGroup())
            group = self.config.share_group or await self.store.share_group()
            await self.link_in.subscribe(self.topics.shared_uplinks(group))
            await self.link_in.subscribe(self.topics.all_presence)
            stack.push_async_callback(self._stop_intake)
            await self.link_in.start(wait=True)
            self._consumer = tasks.create_task(self._consume(), name="hub-consume")
            self.lessons.start()
            stack.push_async_callback(self.lessons.stop)
            pruner = asyncio.create_task(self._prune_recordings(), name="hub-recordings")
            stack.push_async_callback(cancel_and_wait, pruner)
            app = None
            if self.config.api_enabled:
                app = create_app(self, routers=self._routers)
                self.app = app
                self.signalling = install_signalling(app)
                stack.push_async_callback(self.signalling.close)
                self.matching_runs = Runner(RunStore(self.store.redis))
                app.state.matching_runner = self.matching_runs
                stack.callback(self.matching_runs.close)
                stack.push_async_callback(self._stop_api)
            self.ops.start()
            # first in the drain: ends the dashboards' event streams, which uvicorn
            # would otherwise wait for
            stack.push_async_callback(self.ops.stop)
            if app is not None:
                await self._start_api(app, tasks)
            self._stack = stack.pop_all()
        self._started = True
        log.info("hub %s ready (api port %s)", self.config.mqtt_client_id, self.api_port)

    async def _prune_recordings(self) -> None:
        """Delete recordings older than ``recording_retention_days``: now, then hourly."""
        store = RecordingStore(self.config.recording_dir)
        while True:
            try:
                await asyncio.to_thread(store.prune, self.config.recording_retention_days)
            except OSError as exc:
                log.warning("recordings: retention check failed: %s", exc)
            await asyncio.sleep(3600)

    async def _start_api(self, app: FastAPI, tasks: asyncio.TaskGroup) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.api_host, self.config.api_port))
        self.api_port = sock.getsockname()[1]
        tls: dict[str, Any] = {}
        if self.config.api_tls:
            # HTTPS and WSS from the hub itself; browsers remember to stay on HTTPS
            tls = {
                "ssl_certfile": str(self.config.api_cert_file),
                "ssl_keyfile": str(self.config.api_key_file),
                "headers": [("strict-transport-security", HSTS)],
            }
        config = uvicorn.Config(
            app,
            log_level=self.config.log_level.lower(),
            lifespan="off",
            access_log=False,
            # a signalling frame is at most MAX_SIGNAL_SIZE; uvicorn's default is
            # 16 MiB read into memory before our own check could refuse it
            ws_max_size=MAX_SIGNAL_SIZE + 1024,
            **tls,
        )
        self._api = _ApiServer(config)
        self._api_task = tasks.create_task(self._api.serve(sockets=[sock]), name="hub-api")
        while not self._api.started:
            if self._api_task.done():
                self._api_task.result()
                raise HubError("API server stopped during startup")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------- main loop

    async def _consume(self) -> None:
        async for incoming in self.link_in.messages():
            await self.router.handle(incoming)

    async def main_loop(self) -> None:
        """Run until ``should_exit`` is set (by a signal or the caller)."""
        await self.should_exit.wait()

    # -------------------------------------------------------------- shutdown

    async def _stop_api(self) -> None:
        """Stop taking requests; give uvicorn the drain timeout to finish them."""
        if self._api is None or self._api_task is None:
            return
        self._api.should_exit = True
        done, _ = await asyncio.wait({self._api_task}, timeout=self.config.drain_timeout_s)
        if not done:
            self._api_task.cancel()

    async def _stop_intake(self) -> None:
        """Stop routing, settle what was taken in while the link can still acknowledge
        it, then disconnect the subscribing link."""
        timeout = self.config.drain_timeout_s
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.wait({self._consumer})
        await self.router.drain()
        await asyncio.gather(*(r.drain_inbox(timeout) for r in self.runtimes.values()))
        await self.link_in.close()

    async def _stop_runtimes(self) -> None:
        timeout = self.config.drain_timeout_s
        await asyncio.gather(*(r.stop(timeout) for r in self.runtimes.values()))

    async def shutdown(self) -> None:
        """Drain: undo every start-up step in reverse order (see the module docstring)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self._started = False
        log.info("hub %s stopped", self.config.mqtt_client_id)


# ------------------------------------------------------------------ process


def settle_heap() -> None:
    """Keep the collector's pauses out of the event path once the daemon is up.

    Everything built at start-up (app, routes, models, rebuilt sessions) lives for the
    whole run: ``gc.freeze`` moves it out of the collector's sight, and a larger first
    generation threshold makes collections rarer. Measured in bench/events.py: the
    hub-path p99 fell by about half.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def _serve(config: HubConfig) -> int:
    hub = Hub(config)
    with StopSignals(hub.should_exit) as signals:
        await hub.startup()
        try:
            settle_heap()
            await hub.main_loop()
        finally:
            # a forced exit (second signal) skips the drain: the task is cancelled
            if not signals.forced:
                await hub.shutdown()
    return 0


def run(config: HubConfig) -> int:
    """Run a hub until signalled; 0 after a clean drain, 1 on a forced exit."""
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return run_daemon(_serve(config))
    except KeyboardInterrupt:  # a SIGINT before the handlers were installed
        return FORCED_EXIT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualclass hub", description="Run the dualclass hub.")
    parser.add_argument(
        "--config", type=Path, help="TOML file of hub settings (default $DUALCLASS_HUB_CONFIG)"
    )
    parser.add_argument("--stack-file", type=Path, help="JSON written by `dualclass stack up`")
    parser.add_argument("--api-host", help="HTTP API bind address")
    parser.add_argument("--api-port", type=int, help="HTTP API port (0 = pick a free one)")
    parser.add_argument("--mqtt-host")
    parser.add_argument("--mqtt-port", type=int)
    parser.add_argument("--mqtt-ca-file", type=Path, help="CA of the broker (MQTT over TLS)")
    parser.add_argument("--client-id", dest="mqtt_client_id", help="MQTT client id base")
    parser.add_argument("--redis-url")
    parser.add_argument("--api-cert-file", type=Path, help="serve HTTPS/WSS: certificate (PEM)")
    parser.add_argument("--api-key-file", type=Path, help="serve HTTPS/WSS: private key (PEM)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--recording-dir", type=Path, help="folder of lesson recordings")
    parser.add_argument(
        "--record-by-default",
        action="store_const",
        const=True,
        help="record sessions whose spec does not say (default: only those marked)",
    )
    parser.add_argument(
        "--recording-min-free-mb", type=float, help="stop recording below this free disk space"
    )
    parser.add_argument("--recording-retention-days", type=float, help="delete older recordings")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``dualclass hub`` / ``python -m hub``: parse flags, load config, run."""
    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    try:
        config = HubConfig.load(args.config, **overrides)
    except (ConfigError, HubError, ValueError) as exc:
        print(f"dualclass hub: {exc}", file=sys.stderr)
        return 2
    return run(config)
