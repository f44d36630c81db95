"""The dashboard document, built from plain facts (pure).

``build`` takes what the hub knows (lessons, nodes, hub figures, coverage, alerts)
and the time, and returns the document ``/api/ops/overview`` serves and the live
page mirrors. Everything time-dependent that ticks by itself (heartbeat ages) is
derived from absolute times (``heartbeat_at``) so that the live feed only sends a
change when something really changed; ``/api/ops/overview`` adds the ages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.ops.alerts import Alert, ClassroomFacts

__all__ = [
    "HOUR_MS",
    "LessonFacts",
    "NodeFacts",
    "build",
    "classroom_facts",
    "in_lesson",
    "keyed",
    "lesson_bucket",
    "with_ages",
]

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class LessonFacts:
    session: str
    status: str  # scheduled | live | ended
    roster: Mapping[str, str]  # node -> role
    title: str = ""
    subject: str = ""
    grade: int | None = None
    starts_at: int | None = None
    ends_at: int | None = None
    #: when this hub saw the lesson end (None: before this hub started)
    ended_at: int | None = None
    head_seq: int = 0
    accepted: int = 0
    rejected: int = 0
    #: node -> the video layer the hub's relay sends it now ("high" or "low")
    layers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeFacts:
    node: str
    online: bool
    last_seen: int | None = None
    heartbeat_at: int | None = None
    sessions: tuple[str, ...] = ()
    last_seq: Mapping[str, int] = field(default_factory=dict)
    journal_backlog: int | None = None
    #: age of the oldest event still in the journal (seconds)
    journal_oldest_s: float | None = None
    media: Mapping[str, float] | None = None
    version: str = ""
    latency_ms: float | None = None
    rejected: int | None = None
    has_media: bool = False
    backlog_growing: bool = False


def lesson_bucket(lesson: LessonFacts, now_ms: int, day_start_ms: int) -> str | None:
    """``live``, ``soon`` (within the hour, or due and not started), ``ended`` (today)."""
    if lesson.status == "live":
        return "live"
    if lesson.status == "ended":
        end = lesson.ended_at if lesson.ended_at is not None else lesson.ends_at
        return "ended" if end is not None and end >= day_start_ms else None
    if lesson.ends_at is not None and lesson.ends_at <= now_ms:
        return None  # never started and its time is over
    if lesson.starts_at is None or lesson.starts_at <= now_ms + HOUR_MS:
        return "soon"
    return None


def in_lesson(lesson: LessonFacts, now_ms: int) -> bool:
    """Live, or inside its scheduled window and not ended: classrooms should be there."""
    if lesson.status == "live":
        return True
    if lesson.status == "ended" or lesson.starts_at is None:
        return False
    return lesson.starts_at <= now_ms and (lesson.ends_at is None or now_ms < lesson.ends_at)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _classroom(
    lesson: LessonFacts, node: str, role: str, facts: NodeFacts | None
) -> dict[str, Any]:
    f = facts or NodeFacts(node, online=False)
    media = f.media or {}
    applied = f.last_seq.get(lesson.session)
    return {
        "node": node,
        "role": role,
        "online": f.online,
        "joined": lesson.session in f.sessions,
        "heartbeat_at": f.heartbeat_at,
        "latency_ms": _r(f.latency_ms, 0),
        "behind": None if applied is None else max(lesson.head_seq - applied, 0),
        # rounded: the live feed sends a change only when a shown figure changes
        "fps": _r(media.get("fps"), 0) if f.has_media else None,
        "bitrate_kbps": _r(media.get("bitrate_kbps"), 0) if f.has_media else None,
        "loss": _r(media.get("loss"), 3) if f.has_media else None,
        "rtt_ms": _r(media.get("rtt_ms"), 0) if f.has_media else None,
        "freezes": int(media["freezes"]) if f.has_media and "freezes" in media else None,
        "layer": lesson.layers.get(node),
        "backlog": f.journal_backlog,
        "backlog_oldest_s": (
            round(f.journal_oldest_s) if f.journal_backlog and f.journal_oldest_s else None
        ),
        "rejections": f.rejected,
    }


def classroom_facts(
    lessons: Sequence[LessonFacts], nodes: Mapping[str, NodeFacts], now_ms: int
) -> list[ClassroomFacts]:
    """The alert rules' view of every classroom of every lesson."""
    out = []
    for lesson in lessons:
        during = in_lesson(lesson, now_ms)
        for node, role in lesson.roster.items():
            f = nodes.get(node) or NodeFacts(node, online=False)
            media = f.media or {}
            out.append(
                ClassroomFacts(
                    session=lesson.session,
                    node=node,
                    role=role,
                    in_lesson=during,
                    online=f.online,
                    has_media=f.has_media,
                    fps=media.get("fps"),
                    loss=media.get("loss"),
                    backlog_growing=f.backlog_growing,
                )
            )
    return out


def build(
    *,
    now_ms: int,
    day_start_ms: int,
    lessons: Sequence[LessonFacts],
    nodes: Mapping[str, NodeFacts],
    hub: Mapping[str, Any],
    coverage: Mapping[str, Any] | None,
    alerts: Sequence[Alert],
) -> dict[str, Any]:
    """The dashboard document (lists ordered for display; see the module docstring)."""
    order = {"live": 0, "soon": 1, "ended": 2}
    shown = []
    scheduled_now: set[str] = set()
    for lesson in lessons:
        bucket = lesson_bucket(lesson, now_ms, day_start_ms)
        if in_lesson(lesson, now_ms):
            scheduled_now.update(lesson.roster)
        if bucket is None:
            continue
        shown.append(
            (
                order[bucket],
                lesson.starts_at or 0,
                lesson.session,
                {
                    "session": lesson.session,
                    "state": lesson.status,
                    "bucket": bucket,
                    "title": lesson.title,
                    "subject": lesson.subject,
                    "grade": lesson.grade,
                    "starts_at": lesson.starts_at,
                    "ends_at": lesson.ends_at,
                    "events": lesson.head_seq,
                    "rejected": lesson.rejected,
                    "classrooms": [
                        _classroom(lesson, node, role, nodes.get(node))
                        for node, role in lesson.roster.items()
                    ],
                },
            )
        )
    shown.sort(key=lambda item: item[:3])
    node_rows = []
    for name, f in nodes.items():
        missing = name in scheduled_now and not f.online
        media = f.media if f.has_media else None
        node_rows.append(
            {
                "node": name,
                "online": f.online,
                "last_seen": f.last_seen,
                "version": f.version or None,
                "missing_in_lesson": missing,
                "sessions": list(f.sessions),
                "fps": _r(media.get("fps"), 0) if media else None,
                "bitrate_kbps": _r(media.get("bitrate_kbps"), 0) if media else None,
                "loss": _r(media.get("loss"), 3) if media else None,
                "rtt_ms": _r(media.get("rtt_ms"), 0) if media else None,
            }
        )
    # offline during a scheduled lesson first, then offline, then by name
    node_rows.sort(key=lambda r: (not r["missing_in_lesson"], r["online"], r["node"]))
    return {
        "now": now_ms,
        "lessons": [item[3] for item in shown],
        "nodes": node_rows,
        "hub": dict(hub),
        "coverage": dict(coverage) if coverage is not None else None,
        "alerts": [a.as_json() for a in alerts],
    }


def with_ages(document: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Add ``heartbeat_age_s`` to every classroom (for the JSON API)."""
    for lesson in document["lessons"]:
        for room in lesson["classrooms"]:
            at = room.get("heartbeat_at")
            room["heartbeat_age_s"] = None if at is None else round((now_ms - at) / 1000, 1)
    return document


def keyed(document: dict[str, Any]) -> dict[str, Any]:
    """The live page's form: lists become objects keyed by id, so patches stay small.

    Display order travels as ``order`` lists of keys (they change rarely).
    """
    lessons = {}
    for lesson in document["lessons"]:
        rooms = {room["node"]: room for room in lesson["classrooms"]}
        lessons[lesson["session"]] = {
            **{k: v for k, v in lesson.items() if k != "classrooms"},
            "classrooms": rooms,
            "room_order": list(rooms),
        }
    return {
        "lessons": lessons,
        "lesson_order": [lesson["session"] for lesson in document["lessons"]],
        "nodes": {row["node"]: row for row in document["nodes"]},
        "node_order": [row["node"] for row in document["nodes"]],
        "hub": document["hub"],
        "coverage": document["coverage"],
        "alerts": {f"{a['kind']}:{a['subject']}": a for a in document["alerts"]},
    }
