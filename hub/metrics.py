"""Prometheus metrics of one hub, in a registry of its own.

A registry per ``Hub`` (not the global default) so that tests can run several hubs
in one process and read each one's counts; ``/metrics`` serves this registry.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from hub.relaystats import RelayCollector

__all__ = ["HubMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class HubMetrics:
    """Counters and histograms the sequencer, router and API update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # process_cpu_seconds_total, process_resident_memory_bytes ...: what the
        # load simulator (and any Prometheus) reads to say what the hub costs. In a
        # registry of their own, added only to /metrics: collecting them reads /proc
        # (and lists every open socket), which in-process readers of ``registry``
        # (the ops feed, every second) must not pay for.
        self.process = CollectorRegistry()
        ProcessCollector(registry=self.process)
        self.rejected = Counter(
            "dualclass_hub_rejected", "Uplinks refused, by reason", ["reason"], registry=r
        )
        self.sequenced = Counter(
            "dualclass_hub_events_sequenced", "Events appended to a session log", registry=r
        )
        self.duplicates = Counter(
            "dualclass_hub_duplicates_dropped", "Uplinks whose id was already sequenced", registry=r
        )
        self.conflicts = Counter(
            "dualclass_hub_seq_conflicts",
            "Appends refused because another replica sequenced first",
            registry=r,
        )
        self.resync_requests = Counter(
            "dualclass_hub_resync_requests", "node.resync requests answered", registry=r
        )
        self.resync_events = Counter(
            "dualclass_hub_resync_events", "Events sent in cmd.resync replies", registry=r
        )
        self.deck_refused = Counter(
            "dualclass_hub_deck_refused", "Deck uploads refused, by code", ["code"], registry=r
        )
        self.decks_rendered = Counter(
            "dualclass_hub_decks_rendered", "Decks rendered to page images", registry=r
        )
        self.deck_pages_served = Counter(
            "dualclass_hub_deck_pages_served", "Deck page images served", registry=r
        )
        self.heartbeats = Counter(
            "dualclass_hub_heartbeats", "node.heartbeat messages received", registry=r
        )
        self.publish_retries = Counter(
            "dualclass_hub_publish_retries",
            "Downlink publishes retried after a failure",
            registry=r,
        )
        self.store_retries = Counter(
            "dualclass_hub_store_retries",
            "Sequencing attempts retried: Redis unavailable",
            registry=r,
        )
        self.sequencing_latency = Histogram(
            "dualclass_hub_sequencing_seconds",
            "Uplink received -> appended to the session log",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_latency = Histogram(
            "dualclass_hub_delivery_seconds",
            "Uplink received -> sequenced event acknowledged by the broker",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.sent_dropped = Counter(
            "dualclass_hub_sent_dropped",
            "Events whose sender clock (sent) was outside the window around the hub's",
            registry=r,
        )
        self.input_refused = Counter(
            "dualclass_hub_input_refused",
            "HTTP requests and CSV files refused by a size/count limit, by limit",
            ["limit"],
            registry=r,
        )
        self.api_errors = Counter(
            "dualclass_hub_api_errors",
            "API requests that failed unexpectedly (answered 500 problem+json)",
            registry=r,
        )
        self.rate_limited = Counter(
            "dualclass_hub_rate_limited",
            "Uplinks refused by the per-node rate limit (rate_limited), by node",
            ["node"],
            registry=r,
        )
        self.quarantined = Counter(
            "dualclass_hub_quarantined",
            "Times a flooding node was shut out at the broker, by node",
            ["node"],
            registry=r,
        )
        self.signal_joins = Counter(
            "dualclass_hub_signal_joins",
            "Signalling joins by outcome: camera, watch, control (no media), or the refusal code",
            ["outcome"],
            registry=r,
        )
        self.turn_credentials = Counter(
            "dualclass_hub_turn_credentials",
            "TURN credentials minted for signalling joins",
            registry=r,
        )
        self.ops_signin_failed = Counter(
            "dualclass_hub_ops_signin_failed",
            "Dashboard sign-ins refused (wrong admin key)",
            registry=r,
        )
        self.nodes_online = Gauge("dualclass_hub_nodes_online", "Nodes seen online", registry=r)
        self.sessions = Gauge("dualclass_hub_sessions", "Sessions known to this hub", registry=r)
        #: the media relays' figures (``hub.relaystats``), read at scrape time
        self.relay = RelayCollector()
        r.register(self.relay)
        self.recording_stopped = Counter(
            "dualclass_hub_recording_stopped",
            "Recordings stopped before the lesson ended (the alert), by reason",
            ["reason"],
            registry=r,
        )

    def rejected_count(self, reason: str) -> float:
        """Current value of the rejection counter for ``reason`` (for tests and the API)."""
        value = self.registry.get_sample_value("dualclass_hub_rejected_total", {"reason": reason})
        return value or 0.0

    def rate_limited_count(self, node: str) -> float:
        value = self.registry.get_sample_value("dualclass_hub_rate_limited_total", {"node": node})
        return value or 0.0

    def render(self) -> bytes:
        return generate_latest(self.registry) + generate_latest(self.process)
