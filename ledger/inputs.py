"""What the ledger is fed: sequenced lesson events and three small records.

Why a module of its own: the hub (sequencer, presence watcher, signalling) is the
only producer, and the ledger must be rebuildable from what the hub stored. So the
records are plain frozen values with a stable wire form (``to_wire`` /
``from_wire``, msgpack in field ``r`` of the Redis stream ``dc:ledger:inputs``).

``LedgerInput`` is one of:

- a sequenced lesson event (``protocols.messages`` event with ``seq``, ``ts``,
  ``src`` and ``session`` set by the hub); its key is ``(session, seq)``;
- ``PresenceInput``: a node went on- or offline at hub time ``ts``; key
  ``(node, ts, online)``;
- ``HeartbeatInput``: a node's heartbeat with its media figures and the sessions it
  is joined to; key ``(node, ts)``;
- ``BrowserInput``: a browser participant joined or left a session; key
  ``(participant, session, ts, joined)``. ``classroom`` is set when the browser is
  a tutor console standing in for a classroom (it then counts as that classroom
  being connected); otherwise the participant is a viewer.
- ``ReplayInput``: a replay view of a recorded session has played ``watched_ms``
  so far (a running total, sent by the replay page or a node's playback); key
  ``(view, session)``, the largest total counts. ``classroom`` comes from the
  viewer's token or node credentials (None: an admin or observer viewer). Replay
  viewing is reported apart from live participation.
- ``LayerInput``: the hub's relay put classroom ``classroom`` on video layer
  ``layer`` (``high`` or ``low``; None: it stopped receiving video) of ``session``
  at hub time ``ts``, for ``reason``; key ``(session, classroom, ts, layer)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import msgpack

from ledger.exceptions import LedgerInputError
from protocols.media import LAYERS
from protocols.messages import Envelope, NodeHeartbeat

__all__ = [
    "BrowserInput",
    "HeartbeatInput",
    "LayerInput",
    "LedgerInput",
    "PresenceInput",
    "ReplayInput",
    "from_wire",
    "heartbeat_input",
    "to_wire",
]


@dataclass(frozen=True, slots=True)
class PresenceInput:
    """Node ``node`` became ``online`` (or not) at hub time ``ts`` (ms)."""

    node: str
    online: bool
    ts: int


@dataclass(frozen=True, slots=True)
class HeartbeatInput:
    """A heartbeat as the ledger needs it (``freezes`` is the node's running count)."""

    node: str
    ts: int
    sessions: tuple[str, ...]
    fps: float | None = None
    freezes: int | None = None
    #: Decks the node had complete on disk (ids), for "ready in time" in reports.
    decks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BrowserInput:
    """A browser ``participant`` joined (``joined``) or left ``session`` at ``ts``."""

    participant: str
    session: str
    ts: int
    joined: bool
    classroom: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayInput:
    """Replay view ``view`` of ``session`` has played ``watched_ms`` by hub time ``ts``."""

    view: str
    session: str
    ts: int
    watched_ms: int
    classroom: str | None = None


@dataclass(frozen=True, slots=True)
class LayerInput:
    """Classroom ``classroom`` receives ``layer`` of ``session``'s video from hub time ``ts``."""

    session: str
    classroom: str
    ts: int
    #: ``high`` or ``low``; None: no video any more (left, or the relay closed)
    layer: str | None
    reason: str = ""


#: Longest switch reason kept (the relay's are short words).
MAX_REASON = 32

Record: TypeAlias = PresenceInput | HeartbeatInput | BrowserInput | ReplayInput | LayerInput
LedgerInput: TypeAlias = Envelope | Record


def heartbeat_input(message: NodeHeartbeat, node: str, ts: int) -> HeartbeatInput:
    """The ledger record of a received heartbeat; ``node`` and ``ts`` come from the hub.

    The node's own ``src``/``ts`` are not trusted (identity comes from the MQTT
    topic the broker authenticated, time from the hub's clock): the hub passes the
    authenticated node id and its own receive time.
    """
    media = message.body.media
    return HeartbeatInput(
        node=node,
        ts=ts,
        sessions=tuple(message.body.sessions),
        fps=None if media is None else media.fps,
        freezes=None if media is None else media.freezes,
        decks=tuple(sorted(d for d, ok in (message.body.decks or {}).items() if ok)),
    )


def to_wire(record: Record) -> bytes:
    """msgpack bytes of a record, for field ``r`` of ``dc:ledger:inputs``."""
    data: dict[str, Any]
    match record:
        case PresenceInput():
            data = {"k": "p", "n": record.node, "o": record.online, "t": record.ts}
        case HeartbeatInput():
            data = {
                "k": "h",
                "n": record.node,
                "t": record.ts,
                "s": list(record.sessions),
                "f": record.fps,
                "z": record.freezes,
            }
            if record.decks:
                data["d"] = list(record.decks)
        case BrowserInput():
            data = {
                "k": "b",
                "u": record.participant,
                "s": record.session,
                "t": record.ts,
                "j": record.joined,
                "c": record.classroom,
            }
        case ReplayInput():
            data = {
                "k": "r",
                "w": record.view,
                "s": record.session,
                "t": record.ts,
                "m": record.watched_ms,
                "c": record.classroom,
            }
        case LayerInput():
            data = {
                "k": "l",
                "s": record.session,
                "c": record.classroom,
                "t": record.ts,
                "y": record.layer,
                "r": record.reason,
            }
    packed: bytes = msgpack.packb(data, use_bin_type=True)
    return packed


def from_wire(data: bytes) -> Record:
    """Inverse of ``to_wire``; a malformed record raises ``LedgerInputError``."""
    try:
        raw = msgpack.unpackb(data, raw=False)
        kind = raw["k"]
        if kind == "p":
            return PresenceInput(node=str(raw["n"]), online=bool(raw["o"]), ts=int(raw["t"]))
        if kind == "h":
            fps = raw.get("f")
            freezes = raw.get("z")
            return HeartbeatInput(
                node=str(raw["n"]),
                ts=int(raw["t"]),
                sessions=tuple(str(s) for s in raw["s"]),
                fps=None if fps is None else float(fps),
                freezes=None if freezes is None else int(freezes),
                decks=tuple(str(d) for d in raw.get("d", ())),
            )
        if kind == "b":
            room = raw.get("c")
            return BrowserInput(
                participant=str(raw["u"]),
                session=str(raw["s"]),
                ts=int(raw["t"]),
                joined=bool(raw["j"]),
                classroom=None if room is None else str(room),
            )
        if kind == "r":
            room = raw.get("c")
            return ReplayInput(
                view=str(raw["w"]),
                session=str(raw["s"]),
                ts=int(raw["t"]),
                watched_ms=int(raw["m"]),
                classroom=None if room is None else str(room),
            )
        if kind == "l":
            layer = raw.get("y")
            # layer names from protocols.media; anything else is refused on the wire
            if layer is not None and layer not in LAYERS:
                raise ValueError(f"layer {layer!r}")
            return LayerInput(
                session=str(raw["s"]),
                classroom=str(raw["c"]),
                ts=int(raw["t"]),
                layer=layer,
                reason=str(raw.get("r") or "")[:MAX_REASON],
            )
    except (ValueError, TypeError, KeyError, msgpack.ExtraData, msgpack.FormatError) as exc:
        raise LedgerInputError("input record", f"malformed: {exc}") from None
    raise LedgerInputError("input record", f"unknown kind {kind!r}")
