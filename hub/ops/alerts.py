"""Alert rules as pure code: conditions in, alerts with since-when out.

A *condition* is something true right now (a classroom offline during its lesson,
video below 15 fps...). It becomes an *alert* once it has held for the rule's hold
time; the alert's ``since`` is when the condition started, so an operator reads
"offline since 10:02" rather than "alerting since 10:02:30". A condition that stops
holding clears at once; when it comes back its clock starts again.

The same rules live in ``deploy/prometheus/rules.yml`` for sites that alert with
Prometheus; the thresholds below and there are kept equal by a test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Alert",
    "AlertKind",
    "AlertRules",
    "AlertTracker",
    "BacklogTrend",
    "ClassroomFacts",
    "Condition",
    "conditions",
]


class AlertKind(StrEnum):
    CLASSROOM_OFFLINE = "classroom_offline"
    LOW_FPS = "low_fps"
    PACKET_LOSS = "packet_loss"
    BACKLOG_GROWING = "backlog_growing"
    HUB_P99 = "hub_p99"


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Thresholds and hold times (seconds) of every rule."""

    min_fps: float = 15.0
    max_loss: float = 0.05
    media_hold_s: float = 30.0
    backlog_hold_s: float = 30.0
    max_p99_ms: float = 100.0
    #: fewer events than this in the p99 window: too few for a percentile to mean much
    min_p99_events: int = 20
    p99_hold_s: float = 0.0
    offline_hold_s: float = 0.0

    def hold_s(self, kind: AlertKind) -> float:
        return {
            AlertKind.CLASSROOM_OFFLINE: self.offline_hold_s,
            AlertKind.LOW_FPS: self.media_hold_s,
            AlertKind.PACKET_LOSS: self.media_hold_s,
            AlertKind.BACKLOG_GROWING: self.backlog_hold_s,
            AlertKind.HUB_P99: self.p99_hold_s,
        }[kind]


@dataclass(frozen=True, slots=True)
class ClassroomFacts:
    """One classroom of one lesson as the alert rules see it."""

    session: str
    node: str
    role: str
    #: the lesson is live, or inside its scheduled window and not ended
    in_lesson: bool
    online: bool
    #: the node has reported working media (so fps 0 means broken, not absent)
    has_media: bool = False
    fps: float | None = None
    loss: float | None = None
    backlog_growing: bool = False


@dataclass(frozen=True, slots=True)
class Condition:
    kind: AlertKind
    subject: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    subject: str
    since_ms: int
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "since": self.since_ms,
            "detail": self.detail,
        }


def conditions(
    classrooms: Iterable[ClassroomFacts],
    p99_ms: float | None,
    rules: AlertRules,
    *,
    p99_events: float | None = None,
) -> list[Condition]:
    """Every condition true now. Subjects: ``session/node`` for classrooms, ``hub``.

    ``p99_events``: events behind ``p99_ms`` (the window's count), when known.
    """
    found: list[Condition] = []
    for c in classrooms:
        if not c.in_lesson:
            continue
        subject = f"{c.session}/{c.node}"
        if not c.online:
            found.append(Condition(AlertKind.CLASSROOM_OFFLINE, subject))
            continue
        # partners receive the lead's video; a lead watches only the floor holder
        if c.has_media and c.role == "partner" and c.fps is not None and c.fps < rules.min_fps:
            found.append(Condition(AlertKind.LOW_FPS, subject, f"{c.fps:.1f} fps"))
        if c.has_media and c.loss is not None and c.loss > rules.max_loss:
            found.append(Condition(AlertKind.PACKET_LOSS, subject, f"{c.loss:.1%}"))
        if c.backlog_growing:
            found.append(Condition(AlertKind.BACKLOG_GROWING, subject))
    enough = p99_events is None or p99_events >= rules.min_p99_events
    if p99_ms is not None and p99_ms > rules.max_p99_ms and enough:
        found.append(Condition(AlertKind.HUB_P99, "hub", f"{p99_ms:.0f} ms"))
    return found


@dataclass
class AlertTracker:
    """Remembers when each condition started; ``update`` returns the alerts now."""

    rules: AlertRules = field(default_factory=AlertRules)
    _started: dict[tuple[AlertKind, str], int] = field(default_factory=dict)

    def update(self, now_ms: int, current: Iterable[Condition]) -> list[Alert]:
        seen: dict[tuple[AlertKind, str], Condition] = {}
        for cond in current:
            seen.setdefault((cond.kind, cond.subject), cond)
        self._started = {key: self._started.get(key, now_ms) for key in seen}
        alerts = [
            Alert(cond.kind, cond.subject, self._started[key], cond.detail)
            for key, cond in seen.items()
            if now_ms - self._started[key] >= self.rules.hold_s(cond.kind) * 1000
        ]
        return sorted(alerts, key=lambda a: (a.since_ms, a.kind, a.subject))


@dataclass
class BacklogTrend:
    """Whether each node's journal backlog is growing (pure, clock passed in).

    Growing: above zero, never smaller than the previous report, and larger than
    where the current run of reports started. A node that flushes (the backlog
    shrinks) starts a new run.
    """

    _runs: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def report(self, node: str, backlog: int, now_ms: int) -> None:
        run = self._runs.get(node)
        if backlog <= 0:
            self._runs.pop(node, None)
        elif run is None or backlog < run[2]:
            self._runs[node] = (now_ms, backlog, backlog)
        else:
            self._runs[node] = (run[0], run[1], backlog)

    def growing(self, node: str) -> bool:
        """True while the current run grows (the alert's hold time does the rest)."""
        run = self._runs.get(node)
        return run is not None and run[2] > run[1]

    def forget(self, node: str) -> None:
        self._runs.pop(node, None)
