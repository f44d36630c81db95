"""The lesson timeline file: every sequenced event with its time on the recording (pure).

Why events and not a rendered state track: the replay page (and any other
player) folds the events up to the current time into the lesson state with the
same rules as a live console, so slide, quiz, hands and floor are exact at
every point, and the list doubles as the jump-to index. ``t`` is seconds on the
lead file's timeline (``hub.recording.clock.media_time_s``); events before the
first picture have negative ``t`` and apply from the start.

Shape (``timeline.json``)::

    {"session", "epoch_ms", "kinds": [...], "events": [
        {"seq", "type", "src", "ts", "t", "body"}, ...]}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.recording.clock import media_time_s
from protocols.messages import Envelope

__all__ = ["TIMELINE_TYPES", "build_timeline"]

#: The event types a replay shows (the lesson's sequenced events).
TIMELINE_TYPES = frozenset(
    {
        "lesson.start",
        "slide.show",
        "hand.raise",
        "hand.lower",
        "floor.grant",
        "floor.revoke",
        "quiz.open",
        "quiz.answer",
        "quiz.close",
        "attendance.report",
        "chat.message",
        "annotation.stroke",
        "lesson.end",
    }
)


def build_timeline(session: str, epoch_ms: float, events: Iterable[Envelope]) -> dict[str, Any]:
    """The timeline of ``events`` (sequenced, any order) against a recording at ``epoch_ms``."""
    rows = []
    for event in sorted(events, key=lambda e: e.seq or 0):
        kind = str(getattr(event, "type", ""))
        if kind not in TIMELINE_TYPES or event.ts is None or event.seq is None:
            continue
        body = getattr(event, "body", None)
        rows.append(
            {
                "seq": event.seq,
                "type": kind,
                "src": event.src,
                "ts": event.ts,
                "t": media_time_s(event.ts, epoch_ms),
                "body": body.model_dump(mode="json", exclude_none=True) if body else {},
            }
        )
    return {
        "session": session,
        "epoch_ms": epoch_ms,
        "kinds": sorted({r["type"] for r in rows}),
        "events": rows,
    }
