"""A session's ledger state as Redis hash fields, and back: pure, no I/O.

Why a module of its own: ``store`` moves bytes, ``aggregate`` folds; what the
bytes mean lives here, with one round-trip test. Values are JSON so an operator can
read a session's ledger with ``redis-cli HGETALL dc:ledger:s:{sid}``.

Hash fields (docs/reports.md, "Redis keys"):

- ``core``     scalars: next_seq, start/end/last ts, lead, title, subject, grade,
               slides, quizzes, events, floor holder and since
               and deck_pages {deck: [page index...]}
- ``rooms``    {classroom: [hands [[seq, ts]...], floor_grants, floor_ms, chats,
               strokes, attendance [present, enrolled] | null,
               media [heartbeats, fps_n, fps_sum, freezes, last_ts, last_freezes],
               deck_ready {deck: ts}]}
- ``quizzes``  {quiz: [correct | null, closed, [[classroom, student, seq, ts, choice]...]]}
- ``browsers`` [[participant, ts, joined, classroom | null]...]
- ``replays``  {view: [classroom | null, watched_ms, ts]}
- ``layers``   [[classroom, ts, "high" | "low" | null, reason]...]
- ``pending``  events received ahead of a gap, in their JSON form

Presence is per node, as members ``"{ts}:{1|0}"`` of the set ``dc:ledger:presence:{node}``.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.aggregate import MediaAgg, QuizState, RoomState, SessionLedger
from ledger.exceptions import StoreError
from ledger.keys import presence_key, state_key
from protocols.codec import decode_map, to_jsonable

__all__ = [
    "FIELDS",
    "parse_presence_member",
    "presence_member",
    "state_fields",
    "state_from_fields",
]

FIELDS = ("core", "rooms", "quizzes", "browsers", "replays", "layers", "pending")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def state_fields(st: SessionLedger) -> dict[str, str]:
    """The hash fields of ``st``."""
    core = {
        "next_seq": st.next_seq,
        "start_ts": st.start_ts,
        "end_ts": st.end_ts,
        "last_ts": st.last_ts,
        "lead": st.lead,
        "title": st.title,
        "subject": st.subject,
        "grade": st.grade,
        "slides": st.slides,
        "quizzes": st.quizzes_opened,
        "events": st.events,
        "floor_holder": st.floor_holder,
        "floor_since": st.floor_since,
        "deck_pages": {deck: sorted(pages) for deck, pages in st.deck_pages.items()},
    }
    rooms = {
        name: [
            [list(h) for h in r.hands],
            r.floor_grants,
            r.floor_ms,
            r.chats,
            r.strokes,
            list(r.attendance) if r.attendance else None,
            [
                r.media.heartbeats,
                r.media.fps_n,
                r.media.fps_sum,
                r.media.freezes,
                r.media.last_ts,
                r.media.last_freezes,
            ],
            r.deck_ready,
        ]
        for name, r in st.rooms.items()
    }
    quizzes = {
        qid: [
            q.correct,
            q.closed,
            [[room, student, *answer] for (room, student), answer in q.answers.items()],
        ]
        for qid, q in st.quizzes.items()
    }
    return {
        "core": _dumps(core),
        "rooms": _dumps(rooms),
        "quizzes": _dumps(quizzes),
        "browsers": _dumps(sorted(list(b) for b in st.browsers)) if st.browsers else "[]",
        "replays": _dumps({v: list(r) for v, r in st.replays.items()}),
        "layers": _dumps(sorted((list(k) for k in st.layers), key=str)) if st.layers else "[]",
        "pending": _dumps([to_jsonable(e) for _, e in sorted(st.pending.items())]),
    }


def state_from_fields(session: str, fields: dict[str, str]) -> SessionLedger:
    """Inverse of ``state_fields``; a malformed hash raises ``StoreError``."""
    try:
        core = json.loads(fields["core"])
        st = SessionLedger(
            session=session,
            next_seq=int(core["next_seq"]),
            start_ts=core["start_ts"],
            end_ts=core["end_ts"],
            last_ts=core["last_ts"],
            lead=core["lead"],
            title=core["title"],
            subject=core["subject"],
            grade=core["grade"],
            slides=int(core["slides"]),
            quizzes_opened=int(core["quizzes"]),
            events=int(core["events"]),
            floor_holder=core["floor_holder"],
            floor_since=int(core["floor_since"]),
        )
        st.deck_pages = {
            str(deck): {int(i) for i in pages}
            for deck, pages in (core.get("deck_pages") or {}).items()
        }
        for name, (hands, grants, floor_ms, chats, strokes, att, media, *more) in json.loads(
            fields.get("rooms", "{}")
        ).items():
            st.rooms[name] = RoomState(
                deck_ready={str(d): int(t) for d, t in (more[0] if more else {}).items()},
                hands=[(int(s), int(t)) for s, t in hands],
                floor_grants=int(grants),
                floor_ms=int(floor_ms),
                chats=int(chats),
                strokes=int(strokes),
                attendance=(int(att[0]), int(att[1])) if att else None,
                media=MediaAgg(
                    heartbeats=int(media[0]),
                    fps_n=int(media[1]),
                    fps_sum=float(media[2]),
                    freezes=int(media[3]),
                    last_ts=media[4],
                    last_freezes=media[5],
                ),
            )
        for qid, (correct, closed, answers) in json.loads(fields.get("quizzes", "{}")).items():
            st.quizzes[qid] = QuizState(
                correct=correct,
                closed=bool(closed),
                answers={(a[0], a[1]): (int(a[2]), int(a[3]), int(a[4])) for a in answers},
            )
        st.browsers = {
            (str(p), int(t), bool(j), c) for p, t, j, c in json.loads(fields.get("browsers", "[]"))
        }
        st.layers = {
            (str(c), int(t), None if y is None else str(y), str(r))
            for c, t, y, r in json.loads(fields.get("layers", "[]"))
        }
        st.replays = {
            str(v): (None if c is None else str(c), int(m), int(t))
            for v, (c, m, t) in json.loads(fields.get("replays", "{}")).items()
        }
        for raw in json.loads(fields.get("pending", "[]")):
            event = decode_map(raw)
            assert event.seq is not None
            st.pending[event.seq] = event
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise StoreError(state_key(session), f"{type(exc).__name__}: {exc}") from None
    return st


def presence_member(ts: int, online: bool) -> str:
    return f"{ts}:{1 if online else 0}"


def parse_presence_member(member: str) -> tuple[int, bool]:
    ts, _, flag = member.partition(":")
    if flag not in ("0", "1"):
        raise StoreError(presence_key("*"), f"bad member {member!r}")
    return int(ts), flag == "1"
