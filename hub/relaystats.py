"""Relay statistics of one hub as Prometheus series, with bounded labels.

Why a module of its own: ``SessionRelay.stats()`` is a per-session snapshot of
counters that start at zero with every participant (a reconnect starts them
again) and vanish with the room. Prometheus wants counters that only grow, and a
hub may serve hundreds of sessions with thousands of participants: one series per
(session, participant) would be a cardinality bomb. So ``RelayTally`` (pure)
folds snapshots into hub-wide totals -- it remembers the last value it counted
per (session, participant, figure) and adds only increases (a value below the
last one is a restarted counter: all of it is new) -- and ``RelayCollector``
serves the totals, labelled only by small fixed sets: the layer (``high``,
``low``), the switch reason, the feed or kind.

The rooms ``harvest`` a relay's snapshot before a participant leaves and before
the relay closes, so counts since the last scrape are not lost with it. Layer
changes are counted when they happen (``switched``, from the relay's layer
listener), not from snapshots, so a switch back and forth between two scrapes
counts twice; the same calls keep who is on which layer now (the
``dualclass_hub_relay_subscribers`` gauge, the node's layer, the dashboard).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from protocols.media import LAYERS, LOW_FEED

if TYPE_CHECKING:
    from prometheus_client import Metric

__all__ = ["LAYERS", "REASONS", "RelayCollector", "RelayTally", "reason_label"]

#: Switch reasons the relay gives (anything else is counted as ``other``).
REASONS = ("start", "loss", "estimate", "stable", "uplink", "forced")
#: Upstream feeds and slot kinds (labels of the frame counters).
FEEDS = ("video", LOW_FEED, "audio", "screen")
KINDS = ("video", "audio")

#: (session, participant, figure) -> last value counted
_Key = tuple[str, str, str]


def reason_label(reason: str | None) -> str:
    """A bounded label for a switch reason."""
    return reason if reason in REASONS else "other"


@dataclass
class RelayTally:
    """Hub-wide totals folded from ``SessionRelay.stats()`` snapshots (pure)."""

    frames_in: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEEDS, 0.0))
    frames_out: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    dropped: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    keyframes: float = 0.0
    keyframe_requests: float = 0.0
    stalls: float = 0.0
    layer_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LAYERS, 0.0))
    #: (layer, reason) -> switches, counted as they happen
    switches: dict[tuple[str, str], float] = field(default_factory=dict)
    #: (session, participant) -> the layer it receives now (the dashboard, gauges)
    layers: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (session, participant) -> classroom node, for participants that are one
    classrooms: dict[tuple[str, str], str] = field(default_factory=dict)
    _last: dict[_Key, float] = field(default_factory=dict)

    def _add(self, key: _Key, value: Any) -> float:
        """The increase of a counter since it was last counted (all of it if it restarted)."""
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            return 0.0
        last = self._last.get(key)
        self._last[key] = float(value)
        if last is None or value < last:
            return float(value)
        return float(value) - last

    def fold(self, snapshot: Mapping[str, Any]) -> None:
        """Count one relay snapshot's increases (call it again with newer ones)."""
        session = str(snapshot.get("session", ""))
        for pid, entry in (snapshot.get("participants") or {}).items():
            up = entry.get("upstream")
            if isinstance(up, Mapping):
                for feed in FEEDS:
                    self.frames_in[feed] += self._add((session, pid, f"in/{feed}"), up.get(feed))
                self.keyframes += self._add((session, pid, "keyframes"), up.get("keyframes"))
                self.keyframe_requests += self._add(
                    (session, pid, "kfr"), up.get("keyframe_requests")
                )
                self.stalls += self._add((session, pid, "stalls"), up.get("stalls"))
            for name, slot in (entry.get("slots") or {}).items():
                kind = "audio" if str(name).endswith("/audio") else "video"
                self.frames_out[kind] += self._add((session, pid, f"out/{name}"), slot.get("out"))
                self.dropped[kind] += self._add((session, pid, f"drop/{name}"), slot.get("dropped"))
            layer = entry.get("layer")
            if isinstance(layer, Mapping):
                seconds = layer.get("seconds") or {}
                for name in LAYERS:
                    self.layer_seconds[name] += self._add(
                        (session, pid, f"s/{name}"), seconds.get(name)
                    )

    def forget(self, session: str, participant: str | None = None) -> None:
        """Drop what is remembered of a participant (or a whole session) that left."""
        for key in [k for k in self._last if k[0] == session and participant in (None, k[1])]:
            del self._last[key]
        for room in [k for k in self.layers if k[0] == session and participant in (None, k[1])]:
            del self.layers[room]
            self.classrooms.pop(room, None)

    def switched(
        self,
        session: str,
        participant: str,
        layer: str,
        reason: str | None,
        classroom: str | None = None,
    ) -> None:
        """``participant`` of ``session`` was put on ``layer`` (its start layer included);
        ``classroom``: the node whose camera connection it is (None: a viewer)."""
        if layer not in LAYERS:
            return
        key = (layer, reason_label(reason))
        self.switches[key] = self.switches.get(key, 0.0) + 1
        self.layers[(session, participant)] = layer
        if classroom is not None:
            self.classrooms[(session, participant)] = classroom

    def node_layers(self) -> dict[str, str]:
        """Classroom node -> the layer it receives now (viewers left out: one series
        per node at most, like the other per-node gauges)."""
        return {
            node: self.layers[key] for key, node in self.classrooms.items() if key in self.layers
        }

    @property
    def on_layer(self) -> dict[str, int]:
        """Subscribers on each layer now (a gauge)."""
        out: dict[str, int] = dict.fromkeys(LAYERS, 0)
        for layer in self.layers.values():
            out[layer] += 1
        return out


class RelayCollector(Collector):
    """Serves a ``RelayTally`` at scrape time, folding the live relays' stats first.

    ``source`` returns the live relays' ``stats()`` snapshots; the signalling
    service sets it (a hub without signalling has none, and serves zeros).
    """

    def __init__(self, tally: RelayTally | None = None) -> None:
        self.tally = tally or RelayTally()
        self.source: Callable[[], list[Mapping[str, Any]]] = list

    def refresh(self) -> None:
        for snapshot in self.source():
            self.tally.fold(snapshot)

    def collect(self) -> Iterator[Metric]:
        self.refresh()
        t = self.tally
        frames_in = CounterMetricFamily(
            "dualclass_hub_relay_frames_in",
            "Encoded frames the relay received from publishers, by feed",
            labels=["feed"],
        )
        for feed, value in t.frames_in.items():
            frames_in.add_metric([feed], value)
        frames_out = CounterMetricFamily(
            "dualclass_hub_relay_frames_out",
            "Frames the relay sent to subscribers, by kind",
            labels=["kind"],
        )
        dropped = CounterMetricFamily(
            "dualclass_hub_relay_frames_dropped",
            "Frames a subscriber's queue dropped (slow link: skipped to the next keyframe)",
            labels=["kind"],
        )
        for kind in KINDS:
            frames_out.add_metric([kind], t.frames_out[kind])
            dropped.add_metric([kind], t.dropped[kind])
        switches = CounterMetricFamily(
            "dualclass_hub_relay_layer_switches",
            "Subscribers put on a video layer (start included), by layer and reason",
            labels=["layer", "reason"],
        )
        for (layer, reason), value in sorted(t.switches.items()):
            switches.add_metric([layer, reason], value)
        seconds = CounterMetricFamily(
            "dualclass_hub_relay_layer_seconds",
            "Subscriber-seconds of video received on each layer",
            labels=["layer"],
        )
        subscribers = GaugeMetricFamily(
            "dualclass_hub_relay_subscribers",
            "Subscribers receiving each video layer now",
            labels=["layer"],
        )
        for layer in LAYERS:
            seconds.add_metric([layer], t.layer_seconds[layer])
            subscribers.add_metric([layer], float(t.on_layer[layer]))
        yield from (frames_in, frames_out, dropped, switches, seconds, subscribers)
        yield CounterMetricFamily(
            "dualclass_hub_relay_keyframes",
            "Keyframes received from publishers (camera)",
            value=t.keyframes,
        )
        yield CounterMetricFamily(
            "dualclass_hub_relay_keyframe_requests",
            "Keyframe requests (PLI) the relay sent to publishers",
            value=t.keyframe_requests,
        )
        yield CounterMetricFamily(
            "dualclass_hub_relay_stalls",
            "Times a publisher sent RTP but no complete frame for 500 ms",
            value=t.stalls,
        )
