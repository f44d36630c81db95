"""Which nodes are online, when each was last heard of, and its last heartbeat.

Pure bookkeeping with the clock passed in: the router feeds presence messages
(retained, with the node's last will for ``offline``) and heartbeats; the API reads
``view``. A node counts as online when its presence says so and it was heard of
within ``timeout_s`` (a node that hangs without its TCP connection dropping stops
heartbeating before the broker notices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocols.messages import HeartbeatBody

__all__ = ["NodeTracker", "NodeView"]


@dataclass(slots=True)
class NodeView:
    online: bool = False
    last_seen_ms: int | None = None
    heartbeat_ms: int | None = None
    heartbeat: dict[str, Any] | None = None


@dataclass
class NodeTracker:
    timeout_s: float = 30.0
    _presence: dict[str, bool] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)
    _heartbeats: dict[str, tuple[int, HeartbeatBody]] = field(default_factory=dict)

    def presence(self, node: str, online: bool, now_ms: int) -> bool:
        """Record a presence message; True if the node just came online."""
        was = self.is_online(node, now_ms)
        self._presence[node] = online
        if online:
            self._seen[node] = now_ms
        return online and not was

    def heartbeat(self, node: str, body: HeartbeatBody, now_ms: int) -> bool:
        """Record a heartbeat; True if the node just came online by it."""
        was = self.is_online(node, now_ms)
        self._heartbeats[node] = (now_ms, body)
        self._seen[node] = now_ms
        self._presence[node] = True
        return not was

    def seen(self, node: str, now_ms: int) -> None:
        """Any uplink proves the node is alive."""
        self._seen[node] = now_ms

    def forget(self, node: str) -> None:
        self._presence.pop(node, None)
        self._seen.pop(node, None)
        self._heartbeats.pop(node, None)

    def is_online(self, node: str, now_ms: int) -> bool:
        if not self._presence.get(node, False):
            return False
        seen = self._seen.get(node)
        return seen is not None and now_ms - seen <= self.timeout_s * 1000

    def known(self) -> set[str]:
        """Every node with a presence or a heartbeat on record."""
        return set(self._presence) | set(self._heartbeats)

    def online_count(self, now_ms: int) -> int:
        return sum(1 for n in self._presence if self.is_online(n, now_ms))

    def view(self, node: str, now_ms: int) -> NodeView:
        hb = self._heartbeats.get(node)
        return NodeView(
            online=self.is_online(node, now_ms),
            last_seen_ms=self._seen.get(node),
            heartbeat_ms=hb[0] if hb else None,
            heartbeat=hb[1].model_dump(mode="json") if hb else None,
        )
