"""Entry point: flags → ``NodeConfig`` → ``ClassroomNode``, with signals.

``main(argv)`` is what ``dualclass node`` and ``python -m classroom_node`` call;
``run(config)`` runs ``serve`` through ``runtime.run`` (uvloop where installed).
First SIGTERM/SIGINT: graceful (flush the journal if the broker is there, publish
offline presence, close). Second: forced (``runtime.StopSignals`` cancels the
serving task; the node closes without flushing or saying goodbye), exit status 1.

Start-up is unwound on failure: each step registers its undo on an
``AsyncExitStack`` (the node's shutdown, then the media's stop), so a node whose
media cannot start still says goodbye to the broker and closes its files.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classroom_node.config import NodeConfig
from classroom_node.exceptions import NodeError
from classroom_node.media.runner import NodeMedia
from classroom_node.node import ClassroomNode
from runtime.exceptions import ConfigError
from runtime.loop import StopSignals, run_daemon

__all__ = ["main", "run", "serve"]

log = logging.getLogger("dualclass.node")


def settle_heap() -> None:
    """Keep the collector's pauses off the event path: freeze what start-up built
    (it lives for the whole run) and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def serve(config: NodeConfig, *, ready: Callable[[ClassroomNode], None] | None = None) -> int:
    """Run one node until a signal asks it to stop; returns the exit status."""
    node = ClassroomNode(config)
    with StopSignals(node.should_exit) as signals:

        async def goodbye() -> None:
            # after a second signal: no flushing, no goodbye; just close
            node.force_exit = signals.forced
            await node.shutdown()

        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(goodbye)
            await node.startup()
            settle_heap()
            if config.media.enabled:
                media = NodeMedia(node, config.media)
                node.media = media  # the classroom display shows its video
                stack.push_async_callback(media.stop)
                await media.start()
            if ready is not None:
                ready(node)
            await node.main_loop()
    return 0


def run(config: NodeConfig) -> int:
    """Run a node in this thread until signalled; 0 clean, 1 forced, 2 failed."""
    try:
        return run_daemon(serve(config))
    except NodeError as exc:
        log.error("%s", exc)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dualclass node", description="Run a dualclass classroom node."
    )
    p.add_argument("--config", type=Path, help="TOML config file (default $DUALCLASS_NODE_CONFIG)")
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
        config = NodeConfig.load(args.config, **overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(config)
