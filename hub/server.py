"""The hub process: ``Hub(config)`` with startup -> main loop -> shutdown.

``startup`` connects Redis (retrying with backoff while it is away), records the hub
users, rebuilds every session from its log, connects the two MQTT links, brings the
broker files up to date, subscribes (shared uplinks + all presence) and starts the
HTTP API. ``main_loop`` routes incoming messages until ``should_exit``; ``shutdown``
drains: API stops, routing stops (uplinks not yet routed stay unacknowledged at the
broker, which delivers them to the next start), uplinks already queued are stored
and acknowledged, the subscribing link disconnects (the broker keeps our persistent
session and queues further uplinks), events are published, then the publishing
link and Redis are closed.

``run(config)`` is the process entry: uvloop, first SIGTERM/SIGINT drains, the
second exits at once. ``main(argv)`` parses the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI

from hub.api import create_app
from hub.config import HubConfig
from hub.core import HubCore
from hub.exceptions import HubError, StoreUnavailable
from hub.recording.storage import RecordingStore
from hub.scheduling.due import Timing
from hub.scheduling.scheduler import LessonScheduler

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
        self.force_exit = False
        self.api_port: int | None = None
        self._routers = routers
        #: The FastAPI application once the API runs (tests reach its services here).
        self.app: FastAPI | None = None
        self._api: _ApiServer | None = None
        self._api_task: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
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
        await self._wait_for_redis()
        await self.ensure_hub_users()
        # the ledger first: runtimes feed it the events they catch up on
        await self.ledger_feed.start(await self.store.all_sessions())
        sessions = await self.load_sessions()
        log.info("rebuilt %d sessions from redis", sessions)
        await self.ledger_feed.ensure_infos(r.spec for r in list(self.runtimes.values()))
        await self.link_out.start(wait=True)
        await self.broker.apply()
        group = self.config.share_group or await self.store.share_group()
        await self.link_in.subscribe(self.topics.shared_uplinks(group))
        await self.link_in.subscribe(self.topics.all_presence)
        await self.link_in.start(wait=True)
        self._consumer = asyncio.create_task(self._consume(), name="hub-consume")
        self.lessons.start()
        self.ops.start()
        self._pruner = asyncio.create_task(self._prune_recordings(), name="hub-recordings")
        if self.config.api_enabled:
            await self._start_api()
        self._started = True
        log.info("hub %s ready (api port %s)", self.config.mqtt_client_id, self.api_port)

    async def _start_api(self) -> None:
        app = create_app(self, routers=self._routers)
        self.app = app
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
            app, log_level=self.config.log_level.lower(), lifespan="off", access_log=False, **tls
        )
        self._api = _ApiServer(config)
        self._api_task = asyncio.create_task(self._api.serve(sockets=[sock]), name="hub-api")
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

    async def _prune_recordings(self) -> None:
        """Delete recordings older than ``recording_retention_days``: now, then hourly."""
        store = RecordingStore(self.config.recording_dir)
        while True:
            try:
                await asyncio.to_thread(store.prune, self.config.recording_retention_days)
            except OSError as exc:
                log.warning("recordings: retention check failed: %s", exc)
            await asyncio.sleep(3600)

    async def shutdown(self) -> None:
        """Drain: stop taking uplinks, finish what was accepted, close links."""
        timeout = self.config.drain_timeout_s
        # first: ends the dashboards' event streams, which uvicorn would wait for
        await self.ops.stop()
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._api_task, timeout)
        service = getattr(getattr(self.app, "state", None), "signalling", None)
        if service is not None:
            # closes every room: peers are told, recordings are finished (index, timeline)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.close(), timeout)
        if self._pruner is not None:
            self._pruner.cancel()
        await self.lessons.stop()
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._consumer
        await self.router.drain()
        # settle what was taken while the link can still acknowledge it
        await asyncio.gather(*(r.drain_inbox(timeout) for r in self.runtimes.values()))
        await self.link_in.close()
        await asyncio.gather(*(r.stop(timeout) for r in self.runtimes.values()))
        await self.ledger_feed.stop()
        await self.link_out.close()
        await self.store.close()
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


async def _serve(config: HubConfig) -> None:
    hub = Hub(config)
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if hub.should_exit.is_set():
            log.warning("second signal: exiting now")
            hub.force_exit = True
            for task in asyncio.all_tasks(loop):
                task.cancel()
            return
        log.info("signal received: draining (send again to exit now)")
        hub.should_exit.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await hub.startup()
    settle_heap()
    try:
        await hub.main_loop()
    finally:
        if not hub.force_exit:
            await hub.shutdown()


def _run_loop(coro: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (Linux), the default loop elsewhere."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a Linux dependency
        asyncio.run(coro)
        return
    uvloop.run(coro)


def run(config: HubConfig) -> int:
    """Run a hub until signalled; 0 after a clean drain, 1 on a forced exit."""
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        _run_loop(_serve(config))
    except (asyncio.CancelledError, KeyboardInterrupt):
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualclass hub", description="Run the dualclass hub.")
    parser.add_argument("--config", type=Path, help="TOML or JSON file of hub settings")
    parser.add_argument("--stack-file", type=Path, help="JSON written by `dualclass stack up`")
    parser.add_argument("--api-host", help="HTTP API bind address")
    parser.add_argument("--api-port", type=int, help="HTTP API port (0 = pick a free one)")
    parser.add_argument("--mqtt-host")
    parser.add_argument("--mqtt-port", type=int)
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
    except (HubError, ValueError) as exc:
        print(f"dualclass hub: {exc}", file=sys.stderr)
        return 2
    return run(config)
