"""The pure participation ledger: inputs in, figures out, no I/O and no clock.

Why it is shaped like this (docs/reports.md, "Ledger"):

- Lesson events are folded in ``seq`` order per session. An event ahead of the next
  expected ``seq`` waits in ``pending`` until the gap fills; an event below it (or
  already pending) is a duplicate and changes nothing. So feeding the same event
  twice, or the whole log again, or the log in any order, gives the same state,
  and the only per-session dedup state is one integer.
- Presence is kept per node as a set of ``(ts, online)`` changes and only turned
  into intervals when figures are asked for, so it does not matter whether a
  presence change is fed before or after the lesson events it overlaps (live
  feeding interleaves them, a rebuild reads the session log first).
- Browser joins/leaves are a set per session, for the same reason.
- Video layer changes are a set per session, like browser records; they become
  per-layer time only when figures are asked for (within the connected time).
- Replay views keep the largest running total per view (a report repeated, or
  arriving late, changes nothing), apart from everything live.
- Heartbeats are folded per (session, node) in the node's own time order: one
  at or before the last counted one is a duplicate. The hub appends them to
  ``dc:ledger:inputs`` in the order it feeds them, so a rebuild sees the same order.

The hub calls ``feed`` for every input, ``figures`` for a session's numbers, and
``take_dirty`` to learn what ``store.save`` must write.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.directory import SessionInfo
from ledger.exceptions import LedgerInputError
from ledger.figures import (
    AnswerRecord,
    ClassroomFigures,
    DeckFigures,
    HandRecord,
    ReplayRecord,
    SessionFigures,
)
from ledger.inputs import (
    BrowserInput,
    HeartbeatInput,
    LayerInput,
    LedgerInput,
    PresenceInput,
    ReplayInput,
)
from ledger.intervals import Interval, clip, from_changes, intersect, total, union
from protocols.messages import Envelope

__all__ = ["MAX_DECKS", "Dirty", "Ledger", "MediaAgg", "QuizState", "RoomState", "SessionLedger"]

#: Decks per session the ledger follows (pages shown, readiness per classroom).
MAX_DECKS = 16

#: A browser record as kept: (participant, ts, joined, classroom).
BrowserKey = tuple[str, int, bool, str | None]
#: A video layer change as kept: (classroom, ts, layer or None, reason).
LayerKey = tuple[str, int, str | None, str]
#: Layer changes per session the ledger keeps (a flapping link cannot grow it without end).
MAX_LAYER_CHANGES = 4096
#: Who answered: (classroom, student or None for a whole-class answer).
Answerer = tuple[str, str | None]


@dataclass(slots=True)
class MediaAgg:
    """Running media summary of one node in one session."""

    heartbeats: int = 0
    fps_n: int = 0
    fps_sum: float = 0.0
    freezes: int = 0
    last_ts: int | None = None
    last_freezes: int | None = None

    def add(self, ts: int, fps: float | None, freezes: int | None) -> bool:
        if self.last_ts is not None and ts <= self.last_ts:
            return False
        self.last_ts = ts
        self.heartbeats += 1
        if fps is not None:
            self.fps_n += 1
            self.fps_sum += fps
        if freezes is not None:
            last = self.last_freezes
            if last is not None:
                # A running counter: count the increase; a drop means the node
                # restarted its counter, so everything it now shows is new.
                self.freezes += freezes - last if freezes >= last else freezes
            self.last_freezes = freezes
        return True


@dataclass(slots=True)
class RoomState:
    """What one classroom did in one session (events it sent or that name it)."""

    hands: list[tuple[int, int]] = field(default_factory=list)
    floor_grants: int = 0
    floor_ms: int = 0
    chats: int = 0
    strokes: int = 0
    attendance: tuple[int, int] | None = None
    media: MediaAgg = field(default_factory=MediaAgg)
    #: deck id -> hub time (ms) of the first heartbeat saying it was complete here.
    deck_ready: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class QuizState:
    correct: int | None = None
    closed: bool = False
    #: answerer -> (seq, ts, choice) of the last answer.
    answers: dict[Answerer, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(slots=True)
class SessionLedger:
    """Everything the ledger knows about one session; ``snapshot`` persists it."""

    session: str
    next_seq: int = 1
    pending: dict[int, Envelope] = field(default_factory=dict)
    start_ts: int | None = None
    end_ts: int | None = None
    last_ts: int | None = None
    lead: str | None = None
    title: str = ""
    subject: str = ""
    grade: int | None = None
    slides: int = 0
    quizzes_opened: int = 0
    events: int = 0
    floor_holder: str | None = None
    floor_since: int = 0
    quizzes: dict[str, QuizState] = field(default_factory=dict)
    #: deck (as ``slide.show`` names it) -> the page indices shown.
    deck_pages: dict[str, set[int]] = field(default_factory=dict)
    rooms: dict[str, RoomState] = field(default_factory=dict)
    browsers: set[BrowserKey] = field(default_factory=set)
    #: replay view -> (classroom or None, watched ms, hub ts of the report)
    replays: dict[str, tuple[str | None, int, int]] = field(default_factory=dict)
    layers: set[LayerKey] = field(default_factory=set)

    def room(self, classroom: str) -> RoomState:
        found = self.rooms.get(classroom)
        if found is None:
            found = self.rooms[classroom] = RoomState()
        return found

    def close_floor(self, ts: int) -> None:
        if self.floor_holder is not None:
            self.room(self.floor_holder).floor_ms += max(0, ts - self.floor_since)
            self.floor_holder = None


@dataclass(frozen=True, slots=True)
class Dirty:
    """What changed since the last ``take_dirty``: sessions to rewrite, presence to add."""

    sessions: frozenset[str]
    presence: dict[str, frozenset[tuple[int, bool]]]


# ------------------------------------------------------------------ event folding


def _apply(st: SessionLedger, event: Envelope) -> None:
    """Fold one in-order event into ``st`` (the sequencer already checked the rules)."""
    ts = event.ts
    assert ts is not None
    src = event.src or ""
    type_ = getattr(event, "type", "")
    body = getattr(event, "body", None)
    st.events += 1
    if st.last_ts is None or ts > st.last_ts:
        st.last_ts = ts
    if type_ == "slide.show":
        st.slides += 1
        deck: str = body.deck  # type: ignore[union-attr]
        if deck in st.deck_pages or len(st.deck_pages) < MAX_DECKS:
            st.deck_pages.setdefault(deck, set()).add(body.index)  # type: ignore[union-attr]
    elif type_ == "hand.raise":
        st.room(src).hands.append((event.seq or 0, ts))
    elif type_ == "quiz.answer":
        quiz = st.quizzes.get(body.quiz)  # type: ignore[union-attr]
        if quiz is None:
            quiz = st.quizzes[body.quiz] = QuizState()  # type: ignore[union-attr]
        quiz.answers[(src, body.student)] = (event.seq or 0, ts, body.choice)  # type: ignore[union-attr]
        st.room(src)
    elif type_ == "floor.grant":
        node: str = body.node  # type: ignore[union-attr]
        if st.floor_holder != node:
            st.close_floor(ts)
            st.floor_holder = node
            st.floor_since = ts
            st.room(node).floor_grants += 1
    elif type_ == "floor.revoke":
        st.close_floor(ts)
    elif type_ == "quiz.open":
        st.quizzes_opened += 1
        st.quizzes.setdefault(body.quiz, QuizState())  # type: ignore[union-attr]
    elif type_ == "quiz.close":
        quiz = st.quizzes.setdefault(body.quiz, QuizState())  # type: ignore[union-attr]
        quiz.correct = body.correct  # type: ignore[union-attr]
        quiz.closed = True
    elif type_ == "attendance.report":
        st.room(src).attendance = (body.present, body.enrolled)  # type: ignore[union-attr]
    elif type_ == "chat.message":
        st.room(src).chats += 1
    elif type_ == "annotation.stroke":
        st.room(src).strokes += 1
    elif type_ == "lesson.start":
        if st.start_ts is None:
            st.start_ts = ts
            st.lead = src or None
            st.title = body.title  # type: ignore[union-attr]
            st.subject = body.subject  # type: ignore[union-attr]
            st.grade = body.grade  # type: ignore[union-attr]
            if src:
                st.room(src)
    elif type_ == "lesson.end":
        if st.end_ts is None:
            st.close_floor(ts)
            st.end_ts = ts
    # hand.lower changes no figure: a hand raised counts even if lowered.


class Ledger:
    """Participation figures of many sessions, fed one input at a time."""

    def __init__(self) -> None:
        self.sessions: dict[str, SessionLedger] = {}
        #: node -> {(ts, online)}
        self.presence: dict[str, set[tuple[int, bool]]] = {}
        self._dirty: set[str] = set()
        self._new_presence: dict[str, set[tuple[int, bool]]] = {}
        self._sorted: dict[str, list[tuple[int, bool]]] = {}

    # -------------------------------------------------------------------- feed

    def session(self, session: str) -> SessionLedger:
        st = self.sessions.get(session)
        if st is None:
            st = self.sessions[session] = SessionLedger(session)
        return st

    def feed(self, record: LedgerInput) -> bool:
        """Fold one input; True if it changed anything (False for a duplicate)."""
        if isinstance(record, HeartbeatInput):
            return self._feed_heartbeat(record)
        if isinstance(record, Envelope):
            return self._feed_event(record)
        if isinstance(record, PresenceInput):
            return self._feed_presence(record)
        if isinstance(record, BrowserInput):
            return self._feed_browser(record)
        if isinstance(record, ReplayInput):
            return self._feed_replay(record)
        if isinstance(record, LayerInput):
            return self._feed_layer(record)
        raise LedgerInputError(type(record).__name__, "not a ledger input")

    def feed_many(self, records: Iterable[LedgerInput]) -> int:
        """Fold many inputs; the number that changed anything."""
        feed = self.feed
        return sum(1 for record in records if feed(record))

    def _feed_event(self, event: Envelope) -> bool:
        seq, ts, sid = event.seq, event.ts, event.session
        if event.kind != "event":
            raise LedgerInputError(getattr(event, "type", "?"), "not a lesson event")
        if seq is None or ts is None or not sid:
            raise LedgerInputError(
                getattr(event, "type", "?"), "needs session, seq and ts (feed it after sequencing)"
            )
        st = self.sessions.get(sid)
        if st is None:
            st = self.sessions[sid] = SessionLedger(sid)
        if seq < st.next_seq or seq in st.pending:
            return False
        self._dirty.add(sid)
        if seq > st.next_seq:
            st.pending[seq] = event
            return True
        _apply(st, event)
        st.next_seq += 1
        pending = st.pending
        while pending:
            nxt = pending.pop(st.next_seq, None)
            if nxt is None:
                break
            _apply(st, nxt)
            st.next_seq += 1
        return True

    def _feed_presence(self, record: PresenceInput) -> bool:
        key = (record.ts, record.online)
        known = self.presence.get(record.node)
        if known is None:
            known = self.presence[record.node] = set()
        if key in known:
            return False
        known.add(key)
        self._new_presence.setdefault(record.node, set()).add(key)
        return True

    def _feed_heartbeat(self, record: HeartbeatInput) -> bool:
        changed = False
        for sid in record.sessions:
            st = self.sessions.get(sid)
            if st is None:
                st = self.sessions[sid] = SessionLedger(sid)
            room = st.room(record.node)
            if room.media.add(record.ts, record.fps, record.freezes):
                self._dirty.add(sid)
                changed = True
            for deck in record.decks[:MAX_DECKS]:
                first = room.deck_ready.get(deck)
                if first is None or record.ts < first:
                    room.deck_ready[deck] = record.ts
                    self._dirty.add(sid)
                    changed = True
        return changed

    def _feed_browser(self, record: BrowserInput) -> bool:
        st = self.session(record.session)
        key: BrowserKey = (record.participant, record.ts, record.joined, record.classroom)
        if key in st.browsers:
            return False
        st.browsers.add(key)
        if record.classroom is not None:
            st.room(record.classroom)
        self._dirty.add(record.session)
        return True

    def _feed_replay(self, record: ReplayInput) -> bool:
        if record.watched_ms <= 0:
            return False  # a view that has not played yet is no viewing
        st = self.session(record.session)
        known = st.replays.get(record.view)
        if known is not None and known[1] >= record.watched_ms:
            return False
        st.replays[record.view] = (record.classroom, record.watched_ms, record.ts)
        self._dirty.add(record.session)
        return True

    def _feed_layer(self, record: LayerInput) -> bool:
        st = self.session(record.session)
        key: LayerKey = (record.classroom, record.ts, record.layer, record.reason)
        if key in st.layers or len(st.layers) >= MAX_LAYER_CHANGES:
            return False
        st.layers.add(key)
        st.room(record.classroom)
        self._dirty.add(record.session)
        return True

    def take_dirty(self) -> Dirty:
        """What changed since the last call (and forget it): the store writes this."""
        dirty = Dirty(
            sessions=frozenset(self._dirty),
            presence={n: frozenset(keys) for n, keys in self._new_presence.items()},
        )
        self._dirty.clear()
        self._new_presence.clear()
        return dirty

    # ----------------------------------------------------------------- figures

    def node_intervals(self, node: str, lo: int, hi: int) -> list[Interval]:
        """Where ``node`` was online within ``[lo, hi)``, from its presence changes.

        A node's changes span the whole term; they are sorted once (re-sorted only
        when new ones arrived: the sets only grow) and bisected, so the figures of a
        term cost O(sessions x log changes), not O(sessions x changes).
        """
        changes = self.presence.get(node)
        if not changes:
            return []
        cached = self._sorted.get(node)
        if cached is None or len(cached) != len(changes):
            cached = self._sorted[node] = sorted(changes)
        i = bisect_left(cached, (lo, False))
        before = cached[i - 1][1] if i else False
        j = bisect_left(cached, (hi, False), lo=i)
        return from_changes([(lo, before), *cached[i:j]], hi)

    def figures(
        self,
        session: str,
        info: SessionInfo | None = None,
        as_of: int | None = None,
        *,
        records: bool = True,
    ) -> SessionFigures:
        """The figures of ``session``; ``as_of`` (ms) closes what is still open.

        Without ``as_of`` an unfinished lesson is measured up to its latest event.
        ``info`` adds the spec's classrooms (so an absent classroom shows as zero)
        and decides roles; without it the sender of lesson.start is the lead.
        ``records=False`` leaves out the per-hand and per-answer records (reports
        need only the counts; xAPI export needs the records).
        """
        st = self.sessions.get(session) or SessionLedger(session)
        end = st.end_ts if st.end_ts is not None else (as_of if as_of is not None else st.last_ts)
        lead = info.lead_classroom if info is not None else st.lead
        names: list[str] = []
        if info is not None:
            names.append(info.lead_classroom)
            names.extend(sorted(info.partners))
        listed = set(names)
        names.extend(sorted(r for r in st.rooms if r not in listed))

        browser_rooms, viewers, viewer_ms = self._browsers(st, end)
        layer_changes: dict[str, list[tuple[int, str | None]]] = {}
        for room_name, ts, layer, _ in st.layers:
            layer_changes.setdefault(room_name, []).append((ts, layer))
        answers, per_room_answers = _answers(st, records)
        hands = (
            sorted(
                (
                    HandRecord(seq, ts, room)
                    for room, state in st.rooms.items()
                    for seq, ts in state.hands
                ),
                key=lambda h: h.seq,
            )
            if records
            else []
        )
        rooms = []
        for name in names:
            state = st.rooms.get(name) or RoomState()
            if st.start_ts is not None and end is not None:
                online = self.node_intervals(name, st.start_ts, end)
                online += browser_rooms.get(name, [])
                spans = clip(union(online), st.start_ts, end)
            else:
                spans = []
            floor_ms = state.floor_ms
            if st.floor_holder == name and st.end_ts is None and end is not None:
                floor_ms += max(0, end - st.floor_since)
            high_ms, low_ms, switches = _layer_time(
                layer_changes.get(name, []), spans, st.start_ts, end
            )
            media = state.media
            n_ans, n_ok = per_room_answers.get(name, (0, 0))
            if name == lead:
                role = "lead"
            elif (info is not None and name in info.partners) or info is None:
                role = "partner"
            else:
                role = "other"
            rooms.append(
                ClassroomFigures(
                    classroom=name,
                    role=role,
                    intervals=tuple(spans),
                    connected_ms=total(spans),
                    first_join_ts=spans[0][0] if spans else None,
                    present=state.attendance[0] if state.attendance else None,
                    enrolled=state.attendance[1] if state.attendance else None,
                    hands=len(state.hands),
                    floor_grants=state.floor_grants,
                    floor_ms=floor_ms,
                    answers=n_ans,
                    correct=n_ok,
                    chats=state.chats,
                    strokes=state.strokes,
                    heartbeats=media.heartbeats,
                    fps_mean=media.fps_sum / media.fps_n if media.fps_n else None,
                    freezes=media.freezes,
                    replay_ms=sum(ms for room, ms, _ in st.replays.values() if room == name),
                    high_ms=high_ms,
                    low_ms=low_ms,
                    layer_switches=switches,
                )
            )
        return SessionFigures(
            session=session,
            start_ts=st.start_ts,
            end_ts=st.end_ts,
            as_of=end if st.start_ts is not None else None,
            title=st.title,
            subject=st.subject or (info.subject if info is not None else ""),
            grade=st.grade if st.grade is not None else (info.grade if info else None),
            slides=st.slides,
            quizzes=st.quizzes_opened,
            events=st.events,
            classrooms=tuple(rooms),
            viewers=viewers,
            viewer_ms=viewer_ms,
            hand_raises=tuple(hands),
            replays=tuple(
                sorted(
                    ReplayRecord(view, room, ms, ts) for view, (room, ms, ts) in st.replays.items()
                )
            ),
            answers=tuple(answers),
            decks=_decks(st, [r.classroom for r in rooms if r.role == "partner"]),
        )

    @staticmethod
    def _browsers(st: SessionLedger, end: int | None) -> tuple[dict[str, list[Interval]], int, int]:
        """Tutor-console intervals per classroom, and viewer count and viewer time."""
        by_participant: dict[str, list[tuple[int, bool]]] = {}
        room_of: dict[str, str] = {}
        for participant, ts, joined, room in st.browsers:
            by_participant.setdefault(participant, []).append((ts, joined))
            if room is not None:
                room_of[participant] = room
        rooms: dict[str, list[Interval]] = {}
        viewers = 0
        viewer_ms = 0
        for participant, changes in by_participant.items():
            until = end if end is not None else max(ts for ts, _ in changes)
            spans = from_changes(changes, until)
            room = room_of.get(participant)
            if room is not None:
                rooms.setdefault(room, []).extend(spans)
                continue
            viewers += 1
            if st.start_ts is not None and end is not None:
                viewer_ms += total(clip(spans, st.start_ts, end))
        return rooms, viewers, viewer_ms


def _layer_time(
    changes: list[tuple[int, str | None]],
    connected: list[Interval],
    start: int | None,
    end: int | None,
) -> tuple[int, int, int]:
    """(high ms, low ms, switches) of one classroom: each layer holds from its change
    to the next one, counted only where the classroom was connected; a switch is a
    change to the other layer while the lesson was live."""
    if not changes or start is None or end is None:
        return 0, 0, 0
    ordered = sorted(changes, key=lambda c: (c[0], c[1] or ""))
    spans: dict[str, list[Interval]] = {"high": [], "low": []}
    switches = 0
    previous: str | None = None
    for i, (ts, layer) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else end
        if layer in spans:
            spans[layer].append((ts, until))
            if previous is not None and layer != previous and start <= ts < end:
                switches += 1
            previous = layer
    high = total(intersect(union(spans["high"]), connected))
    low = total(intersect(union(spans["low"]), connected))
    return high, low, switches


def _answers(
    st: SessionLedger, records: bool
) -> tuple[list[AnswerRecord], dict[str, tuple[int, int]]]:
    """Every last answer as a record (if ``records``), and (answers, correct) per classroom."""
    out: list[AnswerRecord] = []
    per_room: dict[str, tuple[int, int]] = {}
    for quiz_id, quiz in st.quizzes.items():
        key = quiz.correct
        for (room, student), (seq, ts, choice) in quiz.answers.items():
            n, ok = per_room.get(room, (0, 0))
            per_room[room] = (n + 1, ok + (key is not None and choice == key))
            if records:
                correct = None if key is None else choice == key
                out.append(AnswerRecord(seq, ts, room, student, quiz_id, choice, correct))
    out.sort(key=lambda r: r.seq)
    return out, per_room


def _decks(st: SessionLedger, partners: list[str]) -> tuple[DeckFigures, ...]:
    """Per deck: pages shown, and per partner whether it was complete on the
    classroom's disk by the start of the lesson (by now, if it has not started)."""
    names = list(st.deck_pages)
    for room in st.rooms.values():
        names.extend(d for d in room.deck_ready if d not in names)
    out = []
    for deck in names[:MAX_DECKS]:
        ready_at = {}
        for partner in partners:
            found = st.rooms.get(partner)
            at = found.deck_ready.get(deck) if found is not None else None
            if at is not None:
                ready_at[partner] = at
        in_time = {
            p: p in ready_at and (st.start_ts is None or ready_at[p] <= st.start_ts)
            for p in partners
        }
        out.append(
            DeckFigures(
                deck=deck,
                pages_used=tuple(sorted(st.deck_pages.get(deck, ()))),
                ready=in_time,
                ready_at=ready_at,
            )
        )
    return tuple(out)
