"""xAPI 1.0.3 statements: what a learning record store (LRS) takes.

Why a module of its own: the mapping from ledger figures to statements is a
contract with LRSs and must stay stable across re-exports, so statement ids are
``uuid5`` of stable keys (session, classroom, seq) and a re-export yields the
same ids (an LRS then treats them as the same statements, not new ones).

Mapping (docs/reports.md, "xAPI"):

- ``attended``: one per classroom per started session with connected time; actor
  the classroom, object the session, ``result.duration`` the connected time,
  ``result.completion`` whether it counted as received; when a partner
  classroom received the lesson's video, ``result.extensions`` has ``{home}/xapi/video-layers``:
  ``{"high_ms", "low_ms", "switches"}`` (time on each video layer, switches).
- ``answered``: one per last answer to a quiz; actor the student (account
  ``{classroom}/{student}``) or the classroom for a whole-class answer; object the
  quiz (a cmi.interaction of type choice); ``result.response`` the choice index,
  ``result.success`` its correctness once revealed.
- ``asked``: one per hand raised; actor the classroom, object the session.
- ``experienced``: one per replay view of the session's recording; actor the
  classroom (or ``viewer/{view}`` for an admin or observer viewer), object the
  recording (``.../sessions/{id}/recording``, a child of the session),
  ``result.duration`` the time watched. Live ``attended`` statements never
  include replay time.

Actors are Agents identified by ``account`` {homePage, name}; every statement has
``context.registration`` = uuid5 of the session, so an LRS groups a lesson.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ledger.figures import SessionFigures
from ledger.report import ReportWindow, lesson_day
from ledger.term import Lesson, Term

__all__ = [
    "VERBS",
    "XAPI_VERSION",
    "iso_duration",
    "iso_timestamp",
    "statements",
    "write_xapi",
]

XAPI_VERSION = "1.0.3"
ADL = "http://adlnet.gov/expapi"
VERBS = {
    "attended": f"{ADL}/verbs/attended",
    "answered": f"{ADL}/verbs/answered",
    "asked": f"{ADL}/verbs/asked",
    "experienced": f"{ADL}/verbs/experienced",
}
MEDIA = f"{ADL}/activities/media"
MEETING = f"{ADL}/activities/meeting"
INTERACTION = f"{ADL}/activities/cmi.interaction"
LANG = "en-US"


def iso_duration(ms: int) -> str:
    """ISO 8601 duration with 0.01 s precision (the xAPI recommendation): PT1H2M3.45S."""
    centis = max(0, round(ms / 10))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    seconds, cs = divmod(rest, 100)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if seconds or cs or out == "PT":
        out += f"{seconds}.{cs:02d}S" if cs else f"{seconds}S"
    return out


def iso_timestamp(ms: int, tz: timezone) -> str:
    """ISO 8601 timestamp with milliseconds and an explicit offset."""
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="milliseconds")


class _Mapper:
    def __init__(self, home_page: str, tz: timezone, min_minutes: float) -> None:
        self.home = home_page.rstrip("/")
        self.ns = uuid.uuid5(uuid.NAMESPACE_URL, self.home)
        self.tz = tz
        self.min_ms = min_minutes * 60_000

    def uid(self, key: str) -> str:
        return str(uuid.uuid5(self.ns, key))

    def agent(self, name: str, display: str | None = None) -> dict[str, Any]:
        agent: dict[str, Any] = {
            "objectType": "Agent",
            "account": {"homePage": self.home, "name": name},
        }
        if display:
            agent["name"] = display
        return agent

    def verb(self, name: str) -> dict[str, Any]:
        return {"id": VERBS[name], "display": {LANG: name}}

    def session_activity(self, lesson: Lesson) -> dict[str, Any]:
        info, fig = lesson.info, lesson.figures
        title = fig.title or f"{info.subject}, grade {info.grade}"
        return {
            "objectType": "Activity",
            "id": f"{self.home}/sessions/{info.session}",
            "definition": {
                "name": {LANG: title},
                "description": {
                    LANG: f"{info.subject}, grade {info.grade}, by {info.lead_teacher}"
                },
                "type": MEETING,
            },
        }

    def context(self, fig: SessionFigures, parent: dict[str, Any] | None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "registration": self.uid(f"session:{fig.session}"),
            "platform": "dualclass",
            "language": "zh-CN",
        }
        if parent is not None:
            ctx["contextActivities"] = {"parent": [{"id": parent["id"], "objectType": "Activity"}]}
        return ctx

    def statement(
        self,
        key: str,
        actor: dict[str, Any],
        verb: str,
        obj: dict[str, Any],
        ts: int,
        fig: SessionFigures,
        *,
        result: dict[str, Any] | None = None,
        parent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.uid(key),
            "actor": actor,
            "verb": self.verb(verb),
            "object": obj,
            "context": self.context(fig, parent),
            "timestamp": iso_timestamp(ts, self.tz),
            "version": XAPI_VERSION,
        }
        if result is not None:
            out["result"] = result
        return out

    def lesson(self, lesson: Lesson) -> list[dict[str, Any]]:
        info, fig = lesson.info, lesson.figures
        if fig.start_ts is None:
            return []
        activity = self.session_activity(lesson)
        sid = info.session
        out = []
        for room in fig.classrooms:
            if room.connected_ms <= 0 or room.first_join_ts is None:
                continue
            school = info.partners.get(room.classroom, info.lead_school)
            outcome: dict[str, Any] = {
                "duration": iso_duration(room.connected_ms),
                "completion": room.connected_ms >= self.min_ms,
            }
            if room.role == "partner" and (room.high_ms or room.low_ms):
                outcome["extensions"] = {
                    f"{self.home}/xapi/video-layers": {
                        "high_ms": room.high_ms,
                        "low_ms": room.low_ms,
                        "switches": room.layer_switches,
                    }
                }
            out.append(
                self.statement(
                    f"attended:{sid}:{room.classroom}",
                    self.agent(room.classroom, f"classroom {room.classroom} ({school})"),
                    "attended",
                    activity,
                    room.first_join_ts,
                    fig,
                    result=outcome,
                )
            )
        for hand in fig.hand_raises:
            out.append(
                self.statement(
                    f"asked:{sid}:{hand.seq}",
                    self.agent(hand.classroom),
                    "asked",
                    activity,
                    hand.ts,
                    fig,
                )
            )
        for answer in fig.answers:
            who = (
                answer.classroom
                if answer.student is None
                else f"{answer.classroom}/{answer.student}"
            )
            quiz = {
                "objectType": "Activity",
                "id": f"{self.home}/sessions/{sid}/quizzes/{answer.quiz}",
                "definition": {
                    "name": {LANG: f"quiz {answer.quiz}"},
                    "type": INTERACTION,
                    "interactionType": "choice",
                },
            }
            result: dict[str, Any] = {"response": str(answer.choice)}
            if answer.correct is not None:
                result["success"] = answer.correct
            out.append(
                self.statement(
                    f"answered:{sid}:{answer.seq}",
                    self.agent(who),
                    "answered",
                    quiz,
                    answer.ts,
                    fig,
                    result=result,
                    parent=activity,
                )
            )
        recording = {
            "objectType": "Activity",
            "id": f"{self.home}/sessions/{sid}/recording",
            "definition": {"name": {LANG: f"recording of {sid}"}, "type": MEDIA},
        }
        for replay in fig.replays:
            if replay.watched_ms <= 0:
                continue
            who = replay.classroom or f"viewer/{replay.view}"
            out.append(
                self.statement(
                    f"experienced:{sid}:{replay.view}",
                    self.agent(who),
                    "experienced",
                    recording,
                    replay.ts,
                    fig,
                    result={"duration": iso_duration(replay.watched_ms)},
                    parent=activity,
                )
            )
        return out


def statements(
    term: Term,
    window: ReportWindow,
    *,
    home_page: str = "https://dualclass.example.org",
    min_minutes: float = 5.0,
) -> list[dict[str, Any]]:
    """Statements for the term's sessions in ``window`` (same filter as the report)."""
    mapper = _Mapper(home_page, window.tz, min_minutes)
    out: list[dict[str, Any]] = []
    for lesson in term.lessons:
        if not window.start <= lesson_day(lesson, window.tz) <= window.end:
            continue
        if window.region is not None and not any(
            term.directory.region_of(s) == window.region for s in lesson.info.partners.values()
        ):
            continue
        out.extend(mapper.lesson(lesson))
    return out


def write_xapi(items: list[dict[str, Any]], out: Path) -> Path:
    """Write statements as one JSON array (what an LRS's POST /statements takes)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out
