"""The lesson timeline file: every sequenced event with its time on the recording (pure).

Why events and not a rendered state track: the replay page (and any other
player) folds the events up to the current time into the lesson state with the
same rules as a live console, so slide, quiz, hands and floor are exact at
every point, and the list doubles as the jump-to index. ``t`` is seconds on the
lead file's timeline (``hub.recording.clock.media_time_s``); events before the
first picture have negative ``t`` and apply from the start.

When did an event happen? The hub sequences it at ``ts``, after the MQTT trip
and the queue in front of Redis, which on a loaded hub can take a good part of
a second, while the picture changed when the teacher acted. So ``t`` is taken
from the sender's own ``sent`` time when that is plausible: not after ``ts``
and at most ``MAX_SEND_DELAY_MS`` before it (a classroom box with a clock far
off, or an event replayed from a node's offline journal, falls back to ``ts``).
The sender is authenticated, so at worst it moves its own events by that much.

Shape (``timeline.json``)::

    {"session", "epoch_ms", "kinds": [...], "events": [
        {"seq", "type", "src", "ts", "sent", "t", "body"}, ...]}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.recording.clock import media_time_s
from protocols.messages import Envelope

__all__ = ["MAX_SEND_DELAY_MS", "TIMELINE_TYPES", "build_timeline", "event_time_ms"]

#: Longest a sender's ``sent`` may precede ``ts`` and still date the event.
MAX_SEND_DELAY_MS = 2000

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


def event_time_ms(ts: int, sent: int | None) -> int:
    """When the event happened (see the module docstring)."""
    if sent is not None and ts - MAX_SEND_DELAY_MS <= sent <= ts:
        return sent
    return ts


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
                "sent": event.sent,
                "t": media_time_s(event_time_ms(event.ts, event.sent), epoch_ms),
                "body": body.model_dump(mode="json", exclude_none=True) if body else {},
            }
        )
    return {
        "session": session,
        "epoch_ms": epoch_ms,
        "kinds": sorted({r["type"] for r in rows}),
        "events": rows,
    }
