"""Entry point: flags → ``NodeConfig`` → ``ClassroomNode`` on uvloop, with signals.

First SIGTERM/SIGINT: graceful (flush the journal if the broker is there, publish
offline presence, close). Second: force (skip the flushing and the API drain).
``main(argv)`` is what ``dualclass node`` and ``python -m classroom_node`` call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classroom_node.config import NodeConfig, load_config
from classroom_node.exceptions import NodeError
from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from classroom_node.node import ClassroomNode

__all__ = ["main", "run", "serve"]

log = logging.getLogger("dualclass.node")


def settle_heap() -> None:
    """Keep the collector's pauses off the event path: freeze what start-up built
    (it lives for the whole run) and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def _media_for(node: ClassroomNode) -> NodeMedia | None:
    """The node's WebRTC media when ``DUALCLASS_MEDIA_ENABLED`` is set (off by default:
    a node without camera hardware still carries the lesson's events)."""
    settings = MediaSettings()
    if not settings.enabled:
        return None
    node.media = NodeMedia(node, settings)  # the classroom display shows its video
    return node.media  # type: ignore[no-any-return]


async def serve(config: NodeConfig, *, ready: Callable[[ClassroomNode], None] | None = None) -> int:
    """Run one node until a signal asks it to stop; returns the exit status."""
    node = ClassroomNode(config)
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def on_signal(sig: signal.Signals) -> None:
        if node.should_exit.is_set():
            log.warning("second %s: forcing exit", sig.name)
            node.force_exit = True
            if main_task is not None:
                main_task.cancel()
        else:
            log.info("%s: shutting down", sig.name)
            node.request_exit()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    media = _media_for(node)
    try:
        await node.startup()
        settle_heap()
        if media is not None:
            await media.start()
        if ready is not None:
            ready(node)
        await node.main_loop()
        if media is not None:
            await media.stop()
        await node.shutdown()
    except asyncio.CancelledError:
        if not node.force_exit:
            raise
        node._close_files()
        return 1
    except NodeError as exc:
        log.error("%s", exc)
        with contextlib.suppress(Exception):
            await node.shutdown()
        return 2
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - non-Linux
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(config: NodeConfig) -> int:
    """Run a node on uvloop (when available) in this thread."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(serve(config))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dualclass node", description="Run a dualclass classroom node."
    )
    p.add_argument(
        "--config", type=Path, help="TOML or JSON config file (default $DUALCLASS_CONFIG)"
    )
    p.add_argument("--node-id", dest="node_id")
    p.add_argument("--mqtt-host", dest="mqtt_host")
    p.add_argument("--mqtt-port", dest="mqtt_port", type=int)
    p.add_argument("--mqtt-username", dest="mqtt_username")
    p.add_argument("--mqtt-password", dest="mqtt_password")
    p.add_argument(
        "--mqtt-ca-file", dest="mqtt_ca_file", type=Path, help="CA of the broker (MQTT over TLS)"
    )
    p.add_argument("--state-dir", dest="state_dir", type=Path)
    p.add_argument("--api-host", dest="api_host")
    p.add_argument("--api-port", dest="api_port", type=int)
    p.add_argument("--api-uds", dest="api_uds", type=Path)
    p.add_argument("--log-level", dest="log_level")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {
        k: v for k, v in vars(args).items() if k != "config" and v is not None
    }
    try:
        config = load_config(args.config, **overrides)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(config)
