"""Keep a managed Mosquitto's password and ACL files in step with the registry.

Called after every change of nodes or session memberships. The whole picture is
read from Redis (so replicas that created sessions or nodes elsewhere are included),
rendered by ``broker.admin.BrokerFiles`` and followed by SIGHUP.

Mosquitto handles SIGHUP in its main loop: the signal sets a flag that is checked
at the end of each loop iteration. A QoS 1 publish round trip started after the
signal is handled in an iteration that ends with the reload, so the PUBACK of a
*second* round trip proves the reload is done (``barrier``). Only then does the hub
tell nodes to join: their reads of the new session's topics are allowed by then.
(Mosquitto 2.0 does not refuse SUBSCRIBE by ACL; it filters at delivery. Nodes
resync from seq 1 after joining anyway.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from broker.admin import BrokerFiles
from broker.exceptions import NotConnected
from hub.sessions import SessionSpec
from hub.store import Store

__all__ = ["BrokerSync", "memberships"]

log = logging.getLogger("dualclass.hub.brokersync")

Probe = Callable[[], Awaitable[None]]


def memberships(specs: list[SessionSpec]) -> dict[str, list[str]]:
    """Node id -> the sessions it may read."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        for node in spec.members:
            out.setdefault(node, []).append(spec.session)
    return out


class BrokerSync:
    """Render, reload, wait for the reload; one at a time."""

    def __init__(
        self,
        files: BrokerFiles | None,
        store: Store,
        probe: Probe,
        muted: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.files = files
        self._store = store
        self._probe = probe
        self._muted = muted
        self._lock = asyncio.Lock()
        self.reloads = 0
        #: apply() calls so far, and how many of them the last render covered
        self._requested = 0
        self._covered = 0

    @property
    def enabled(self) -> bool:
        return self.files is not None

    async def apply(self, *, confirm: bool = True) -> bool:
        """Bring the broker files up to date; False if no broker is managed.

        Calls that queue up behind a running render share the next one: a render
        that starts after a caller's change reads it from Redis, so registering a
        thousand nodes 8 at a time costs about a thousand / 8 reloads, not a
        thousand. ``confirm``: wait until the reload took effect (``barrier``); at
        start-up the hub renders before its own links are up and confirms after.
        """
        if self.files is None:
            return False
        self._requested += 1
        mine = self._requested
        async with self._lock:
            if self._covered >= mine:
                return True  # a render that began after our change has finished
            covers = self._requested
            nodes = await self._store.nodes()
            hub_users = await self._store.hub_users()
            specs = [
                SessionSpec.model_validate_json(raw)
                for raw in (await self._store.all_sessions()).values()
            ]
            files = self.files
            await asyncio.to_thread(
                files.write,
                hub_users=hub_users,
                node_users=nodes,
                node_sessions=memberships(specs),
                muted=sorted(self._muted()),
            )
            if files.reload():
                self.reloads += 1
                if confirm:
                    await self.barrier()
            else:
                log.warning("broker files written but no broker to reload (pid file?)")
            self._covered = covers
        return True

    async def barrier(self) -> None:
        """Two broker round trips: the reload signalled before them has happened."""
        try:
            await asyncio.wait_for(self._probe(), 5.0)
            await asyncio.wait_for(self._probe(), 5.0)
        except (NotConnected, TimeoutError):
            log.warning("could not confirm the broker reload (not connected)")
