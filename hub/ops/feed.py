"""``OpsFeed``: samples the hub once a tick, keeps the dashboard document, fans out patches.

I/O around the pure modules: each tick (``ops_interval_s``, 1 s by default) it reads
the session runtimes, the node tracker and the metrics registry, asks
``alerts`` which conditions are alerts, builds the document with ``overview`` and
sends each open page the merge patch from the previous tick (nothing when nothing
changed). A page that cannot keep up (its queue is full) is dropped; its
``EventSource`` reconnects by itself and starts again from a full snapshot, so a
slow browser costs the hub a bounded queue, never memory without end.

The coverage summary is the week's coverage report (the same code as
``/api/reports/coverage``), rebuilt in a worker thread every
``ops_coverage_interval_s``: it is seconds of CPU for a large district.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import resource
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.ops import overview
from hub.ops.alerts import AlertRules, AlertTracker, BacklogTrend, conditions
from hub.ops.hubstats import HubWindow, Sample
from hub.ops.patch import diff, strip_none
from protocols.ids import now_ms

if TYPE_CHECKING:
    from prometheus_client import Metric

    from hub.core import HubCore
from runtime.tasks import cancel_and_wait

__all__ = ["NodeGauges", "OpsFeed", "week_window"]

log = logging.getLogger("dualclass.hub.ops")

#: Patches queued per open page before it is dropped (it reconnects with a snapshot).
_QUEUE = 64
#: Open live pages at most (each holds a queue); more are refused with 503.
MAX_SUBSCRIBERS = 200


def week_window(now: datetime) -> tuple[date, date]:
    """Monday .. Sunday of the ISO week ``now`` falls in."""
    monday = now.date() - timedelta(days=now.weekday())
    return monday, monday + timedelta(days=6)


def _rss_kb() -> int:
    """Resident memory now (``/proc``: a read of a few bytes), else the peak."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class OpsFeed:
    """See the module docstring."""

    def __init__(self, hub: HubCore, *, rules: AlertRules | None = None) -> None:
        self.hub = hub
        self.rules = rules or AlertRules()
        self.alerts = AlertTracker(self.rules)
        self.backlog = BacklogTrend()
        self.window = HubWindow()
        self.document: dict[str, Any] = {}
        self.keyed: dict[str, Any] = {}
        self.subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.dropped = 0
        self._with_media: set[str] = set()
        self._backlog_seen: dict[str, int] = {}
        self._ended_at: dict[str, int] = {}
        self._status: dict[str, str] = {}
        self._coverage: dict[str, Any] | None = None
        self._coverage_at = 0.0
        self._coverage_task: asyncio.Task[None] | None = None
        self._cpu = (time.monotonic(), time.process_time())
        self._cpu_percent = 0.0
        self._redis_ok = True
        self._redis_checked = 0.0
        self._registered: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._facts: dict[str, overview.NodeFacts] = {}
        self._in_lesson: dict[str, str] = {}

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hub-ops-feed")

    async def stop(self) -> None:
        self._closed = True
        await cancel_and_wait(self._task, self._coverage_task)
        self._task = None
        for queue in list(self.subscribers):
            self._close(queue)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ops tick failed")
            await asyncio.sleep(self.hub.config.ops_interval_s)

    # ----------------------------------------------------------- sampling

    def _sample(self, now: int) -> Sample:
        # one pass over the registry: with a thousand nodes it holds thousands of
        # per-node samples, and this runs every second
        wanted: dict[str, list[tuple[float, float]]] = {
            "dualclass_hub_sequencing_seconds_bucket": [],
            "dualclass_hub_delivery_seconds_bucket": [],
        }
        rejected: dict[str, float] = {}
        sequenced = 0.0
        for metric in self.hub.metrics.registry.collect():
            if not metric.name.startswith("dualclass_hub_"):
                continue
            for s in metric.samples:
                if s.name in wanted:
                    wanted[s.name].append((float(s.labels["le"]), s.value))
                elif s.name == "dualclass_hub_rejected_total":
                    rejected[s.labels["reason"]] = s.value
                elif s.name == "dualclass_hub_events_sequenced_total":
                    sequenced = s.value
        return Sample(
            at_ms=now,
            sequenced=sequenced,
            sequencing=tuple(wanted["dualclass_hub_sequencing_seconds_bucket"]),
            delivery=tuple(wanted["dualclass_hub_delivery_seconds_bucket"]),
            rejected=rejected,
        )

    def _node_facts(self, now: int) -> dict[str, overview.NodeFacts]:
        tracker = self.hub.tracker
        # registered boxes never seen yet are shown too (offline, never seen)
        names = tracker.known() | self._registered
        facts = {}
        for node in sorted(names):
            view = tracker.view(node, now)
            hb = view.heartbeat or {}
            media = hb.get("media") or None
            if media and (media.get("fps", 0) > 0 or media.get("bitrate_kbps", 0) > 0):
                self._with_media.add(node)
            backlog = hb.get("journal_backlog")
            if view.heartbeat_ms is not None and self._backlog_seen.get(node) != view.heartbeat_ms:
                self._backlog_seen[node] = view.heartbeat_ms
                self.backlog.report(node, int(backlog or 0), view.heartbeat_ms)
            facts[node] = overview.NodeFacts(
                node=node,
                online=view.online,
                last_seen=view.last_seen_ms,
                heartbeat_at=view.heartbeat_ms,
                sessions=tuple(hb.get("sessions", ())),
                last_seq=dict(hb.get("last_seq", {})),
                journal_backlog=backlog,
                journal_oldest_s=hb.get("journal_oldest_s"),
                media=media,
                version=str(hb.get("version") or ""),
                latency_ms=hb.get("latency_ms"),
                rejected=hb.get("rejected"),
                has_media=node in self._with_media,
                backlog_growing=self.backlog.growing(node),
            )
        return facts

    def _layers(self) -> dict[str, dict[str, str]]:
        """session -> participant -> the video layer the relay sends it now."""
        layers: dict[str, dict[str, str]] = {}
        for (session, participant), layer in self.hub.metrics.relay.tally.layers.items():
            layers.setdefault(session, {})[participant] = layer
        return layers

    def _lesson_facts(
        self, now: int, day_start: int, layers: dict[str, dict[str, str]] | None = None
    ) -> list[overview.LessonFacts]:
        """Lessons shown or in progress (a term's other sessions cost a comparison);
        ``layers``: see ``_layers``."""
        out = []
        layers = layers or {}
        for runtime in list(self.hub.runtimes.values()):
            spec = runtime.spec
            status = str(runtime.machine.status.value)
            before = self._status.get(spec.session)
            self._status[spec.session] = status
            if status == "ended" and before is not None and before != "ended":
                self._ended_at[spec.session] = now  # seen ending (else: its ends_at)
            facts = overview.LessonFacts(
                session=spec.session,
                status=status,
                roster={},
                starts_at=spec.starts_at,
                ends_at=spec.ends_at,
                ended_at=self._ended_at.get(spec.session),
            )
            shown = overview.lesson_bucket(facts, now, day_start) is not None
            if not shown and not overview.in_lesson(facts, now):
                continue
            out.append(
                dataclasses.replace(
                    facts,
                    roster={n: str(r.value) for n, r in spec.roster().items()},
                    title=runtime.machine.title or spec.title,
                    subject=spec.subject,
                    grade=spec.grade,
                    head_seq=runtime.machine.last_seq,
                    accepted=runtime.accepted,
                    rejected=runtime.rejected,
                    layers=layers.get(spec.session, {}),
                )
            )
        return out

    async def _health(self, now: int) -> dict[str, Any]:
        wall, cpu = time.monotonic(), time.process_time()
        if wall - self._cpu[0] >= 1.0:
            self._cpu_percent = 100 * (cpu - self._cpu[1]) / (wall - self._cpu[0])
            self._cpu = (wall, cpu)
        if wall - self._redis_checked >= 5.0:
            self._redis_checked = wall
            try:
                await asyncio.wait_for(self.hub.store.ping(), 2.0)
                self._registered = set(await asyncio.wait_for(self.hub.store.nodes(), 2.0))
                self._redis_ok = True
            except Exception:
                self._redis_ok = False
        rss_kb = _rss_kb()
        p99 = self.window.p99_ms("sequencing")
        delivery = self.window.p99_ms("delivery")
        return {
            "events_per_s": round(self.window.events_per_s(), 1),
            "sequencing_p99_ms": None if p99 is None else round(p99, 1),
            "delivery_p99_ms": None if delivery is None else round(delivery, 1),
            "rejected": self.window.rejected(),
            "broker": self.hub.link_in.connected.is_set() and self.hub.link_out.connected.is_set(),
            "redis": self._redis_ok,
            "cpu_percent": round(self._cpu_percent),
            "memory_mb": round(rss_kb / 1024),
            "sessions": len(self.hub.runtimes),
        }

    # ----------------------------------------------------------- coverage

    def _maybe_refresh_coverage(self) -> None:
        interval = self.hub.config.ops_coverage_interval_s
        if self._coverage_task is not None and not self._coverage_task.done():
            return
        if self._coverage_at and time.monotonic() - self._coverage_at < interval:
            return
        self._coverage_at = time.monotonic()
        self._coverage_task = asyncio.create_task(self._refresh_coverage(), name="hub-ops-coverage")

    async def _refresh_coverage(self) -> None:
        from ledger.command import load_window
        from ledger.report import ReportWindow, build_report, parse_tz

        tz = parse_tz(self.hub.config.ops_tz)
        first, last = week_window(datetime.now(tz))
        window = ReportWindow(first, last, tz, None)
        try:
            await self.hub.ledger_feed.flush()
            term = await load_window(self.hub.store.redis, window, records=False)
            report = await asyncio.to_thread(build_report, term, window, progress=False)
        except Exception as exc:
            log.warning("week coverage not refreshed: %s", exc)
            return
        s = report.summary
        gaps = []
        for region in report.coverage.regions:
            m = region.matrix
            for i, grade in enumerate(m.grades):
                for j, subject in enumerate(m.subjects):
                    if m.lessons[i][j] == 0:
                        gaps.append({"region": region.region, "grade": grade, "subject": subject})
        lo, hi = window.lo_ms, window.lo_ms + 7 * 86_400_000
        scheduled = sum(
            1
            for r in list(self.hub.runtimes.values())
            if r.spec.starts_at is not None and lo <= r.spec.starts_at < hi
        )
        self._coverage = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "tz": self.hub.config.ops_tz,
            "lessons_held": s.lessons,
            "lessons_scheduled": max(scheduled, s.lessons),
            "schools_reached": s.schools_reached,
            "partner_schools": s.partner_schools,
            "gaps": gaps[:20],
            "gap_count": len(gaps),
            "report": (
                f"/ops/report?from={first.isoformat()}&to={last.isoformat()}"
                f"&tz={self.hub.config.ops_tz.replace('+', '%2B')}"
            ),
        }

    # ----------------------------------------------------------- the tick

    def _day_start(self, now: int) -> int:
        from ledger.report import parse_tz

        tz = parse_tz(self.hub.config.ops_tz)
        local = datetime.fromtimestamp(now / 1000, tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return int(midnight.timestamp() * 1000)

    async def tick(self) -> dict[str, Any]:
        """Sample, rebuild, and send each page what changed; returns the patch."""
        now = now_ms()
        self.window.add(self._sample(now))
        self._maybe_refresh_coverage()
        health = await self._health(now)  # first: it refreshes the registered boxes
        nodes = self._node_facts(now)
        day_start = self._day_start(now)
        lessons = self._lesson_facts(now, day_start, self._layers())
        current = conditions(
            overview.classroom_facts(lessons, nodes, now),
            self.window.p99_ms(),
            self.rules,
            p99_events=self.window.count(),
        )
        alerts = self.alerts.update(now, current)
        document = overview.build(
            now_ms=now,
            day_start_ms=day_start,
            lessons=lessons,
            nodes=nodes,
            hub=health,
            coverage=self._coverage,
            alerts=alerts,
        )
        self._facts = nodes
        self._in_lesson = {
            room.node: room.role
            for room in overview.classroom_facts(lessons, nodes, now)
            if room.in_lesson
        }
        keyed = strip_none(overview.keyed(document))
        patch = diff(self.keyed, keyed) if self.keyed else {}
        self.document, self.keyed = document, keyed
        if patch:
            self._fan_out({"now": now, "patch": patch})
        return patch

    # ----------------------------------------------------------- pages

    def _fan_out(self, message: dict[str, Any]) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self.dropped += 1
                self._close(queue)

    def _close(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self.subscribers.discard(queue)
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                queue.get_nowait()
        queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue of ``{"now", "patch"}`` messages; ``None`` means "start again"."""
        if not self.document:
            await self.tick()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE)
        if self._closed:
            queue.put_nowait(None)  # shutting down: the stream ends at once
        else:
            self.subscribers.add(queue)
        try:
            yield queue
        finally:
            self.subscribers.discard(queue)

    # ----------------------------------------------------------- metrics

    def node_rows(self) -> Iterator[tuple[str, overview.NodeFacts, str | None]]:
        """(node, facts, role in a lesson in progress or None) for the gauges."""
        for node, facts in self._facts.items():
            yield node, facts, self._in_lesson.get(node)


class NodeGauges(Collector):
    """Per-node gauges at scrape time, for the Prometheus alert rules.

    ``dualclass_node_online``, ``dualclass_node_in_lesson{role}``,
    ``dualclass_node_video_fps``, ``dualclass_node_packet_loss_ratio``,
    ``dualclass_node_journal_backlog``: from the last tick of the feed;
    ``dualclass_node_video_layer{layer}`` (1 on the layer the hub's relay sends the
    classroom now, from the relay's layer changes: one series per node, like the
    others); and the
    dashboard's own ``dualclass_hub_ops_pages`` / ``..._pages_dropped_total``.
    """

    def __init__(self, feed: OpsFeed) -> None:
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        online = GaugeMetricFamily(
            "dualclass_node_online", "Node online (1) or not", labels=["node"]
        )
        lesson = GaugeMetricFamily(
            "dualclass_node_in_lesson",
            "Node belongs to a lesson in progress (live or inside its scheduled time)",
            labels=["node", "role"],
        )
        fps = GaugeMetricFamily(
            "dualclass_node_video_fps", "Video frames/s the node decodes", labels=["node"]
        )
        loss = GaugeMetricFamily(
            "dualclass_node_packet_loss_ratio", "Media packet loss the node sees", labels=["node"]
        )
        backlog = GaugeMetricFamily(
            "dualclass_node_journal_backlog",
            "Events waiting in the node's journal",
            labels=["node"],
        )
        layer = GaugeMetricFamily(
            "dualclass_node_video_layer",
            "1 on the video layer the hub's relay sends the node now (high or low)",
            labels=["node", "layer"],
        )
        for node, name in sorted(self.feed.hub.metrics.relay.tally.node_layers().items()):
            layer.add_metric([node, name], 1.0)
        for node, facts, role in self.feed.node_rows():
            online.add_metric([node], 1.0 if facts.online else 0.0)
            if role is not None:
                lesson.add_metric([node, role], 1.0)
            if facts.has_media and facts.media:
                fps.add_metric([node], float(facts.media.get("fps", 0.0)))
                loss.add_metric([node], float(facts.media.get("loss", 0.0)))
            if facts.journal_backlog is not None:
                backlog.add_metric([node], float(facts.journal_backlog))
        yield from (online, lesson, fps, loss, backlog, layer)
        yield GaugeMetricFamily(
            "dualclass_hub_ops_pages", "Dashboards streaming now", value=len(self.feed.subscribers)
        )
        yield CounterMetricFamily(
            "dualclass_hub_ops_pages_dropped",
            "Dashboards dropped for not keeping up (they reconnect)",
            value=self.feed.dropped,
        )
