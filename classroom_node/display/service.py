"""``DisplayService``: the node's side of its classroom screens.

It keeps a ``DisplayModel`` per session (rebuilt from the node's applied-event log
the first time a screen asks, then fed by the node's event hook), builds the JSON
view a screen draws, and pushes it to every connected screen the moment an event
is applied, so a slide change reaches the screen in a loopback round trip. Each
screen has a small bounded queue; one that does not keep up is dropped (it
reconnects and gets the whole view again), never slowing the node.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from classroom_node.display.model import DisplayModel
from classroom_node.exceptions import NoSession, UnknownSession
from protocols.codec import decode_map
from protocols.exceptions import DecodeError
from protocols.ids import now_ms
from protocols.messages import DeckRef, Event

if TYPE_CHECKING:
    from classroom_node.node import ClassroomNode

__all__ = ["DisplayService"]

log = logging.getLogger("dualclass.node.display")

_QUEUE = 64
#: Screens one node serves at once (the big screen, maybe a second one, a test).
MAX_SCREENS = 16


class DisplayService:
    """Views and live pushes for the classroom screens of one node."""

    def __init__(self, node: ClassroomNode) -> None:
        self.node = node
        self._models: dict[str, DisplayModel] = {}
        self._screens: set[asyncio.Queue[tuple[str, str]]] = set()
        self.pushed = 0
        self.dropped = 0
        node.listeners.append(self._on_event)

    # ------------------------------------------------------------- model

    def model(self, session: str) -> DisplayModel:
        found = self._models.get(session)
        if found is None:
            found = DisplayModel()
            for record in self.node.store.log(session).load():
                try:
                    message = decode_map(record)
                except DecodeError:
                    continue
                if message.kind == "event":
                    found.apply(message)  # type: ignore[arg-type]
            self._models[session] = found
        return found

    def _on_event(self, session: str, event: Event, applied_at: int) -> None:
        model = self._models.get(session)
        if model is not None and (event.seq or 0) > model.last_seq:
            model.apply(event)
        if not self._screens:
            return
        try:
            text = json.dumps(self.view(session, applied_at=applied_at, seq=event.seq))
        except Exception:
            log.exception("display view of %s failed", session)
            return
        self._broadcast(session, text)

    def _broadcast(self, session: str, text: str) -> None:
        for queue in list(self._screens):
            try:
                queue.put_nowait((session, text))
                self.pushed += 1
            except asyncio.QueueFull:
                # every view is complete: the stale ones can go, the newest must stay
                while not queue.empty():
                    queue.get_nowait()
                    self.dropped += 1
                queue.put_nowait((session, text))

    # -------------------------------------------------------------- view

    def resolve(self, session: str | None) -> str:
        """The session a screen shows: the joined one the node resolves, or else the
        lesson this node left last (``session`` names it, or none is joined).

        After a lesson the hub makes its classrooms leave it; the big screen then
        keeps the ended lesson's last slide, quiz results and an "ended" notice in
        front of the class instead of going blank.
        """
        try:
            return self.node.resolve_session(session)
        except (NoSession, UnknownSession):
            left = [sid for sid, view in self.node.views.items() if not view.joined]
            if session in left:
                return session
            if not session and left:
                return left[-1]
            raise

    def _refs(self, session: str) -> list[DeckRef]:
        """The decks the session's ``cmd.join`` named (joined or since left)."""
        view = self.node.views.get(session)
        join = view.join if view is not None else None
        return list(join.decks or []) if join is not None else []

    def _deck_for(self, session: str, deck: str) -> str | None:
        """The cached deck id a ``slide.show`` names (by id, by name, or the only one)."""
        refs = self._refs(session)
        for ref in refs:
            if deck in (ref.id, ref.name):
                return ref.id
        if len(refs) == 1 and deck in ("", "slides"):
            return refs[0].id
        return None

    def view(
        self, session: str, *, applied_at: int | None = None, seq: int | None = None
    ) -> dict[str, Any]:
        """Everything a screen draws for ``session`` (JSON-ready)."""
        node = self.node
        state = node.view(session).state()
        model = self.model(session)
        slide: dict[str, Any] | None = None
        if state.slide is not None:
            deck_id = self._deck_for(session, state.slide.deck)
            index = state.slide.index
            cached = deck_id is not None and node.deck_cache.page_of(deck_id, index) is not None
            slide = {
                "deck": state.slide.deck,
                "deck_id": deck_id,
                "index": index,
                "url": f"/display/pages/{deck_id}/{index}" if cached else None,
                "cached": cached,
            }
        quiz = model.quiz_view()
        if state.quiz is not None:
            quiz = {
                **(quiz or {}),
                "quiz": state.quiz.quiz,
                "question": state.quiz.question,
                "choices": state.quiz.choices,
                "answered": state.quiz.answered,
                "closed": False,
            }
        decks = [
            {
                "id": ref.id,
                "name": ref.name,
                "pages": ref.pages,
                "ready": node.deck_cache.complete(ref.id),
                "urls": [f"/display/pages/{ref.id}/{i}" for i in range(ref.pages)],
            }
            for ref in self._refs(session)
        ]
        return {
            "type": "view",
            "node": node.node_id,
            "session": session,
            "connected": node.connected,
            "status": state.status,
            "title": state.title,
            "slide": slide,
            "strokes": model.current_strokes(),
            "hands": state.hands,
            "floor": state.floor,
            "quiz": quiz,
            "roster": state.roster,
            "decks": decks,
            "screen": bool(state.screen),
            "media": self._media(session),
            "seq": seq if seq is not None else node.view(session).last_seq,
            "applied_at": applied_at,
            "sent_at": now_ms(),
        }

    def _media(self, session: str) -> dict[str, bool]:
        bridge = self.node.display_bridge
        if bridge is None:
            from classroom_node.display.bridge import DisplayBridge

            bridge = self.node.display_bridge = DisplayBridge(self.node)
        return bridge.available(session)  # type: ignore[no-any-return]

    # ----------------------------------------------------------- screens

    def connect(self) -> asyncio.Queue[tuple[str, str]]:
        if len(self._screens) >= MAX_SCREENS:
            raise OverflowError(f"at most {MAX_SCREENS} screens")
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=_QUEUE)
        self._screens.add(queue)
        return queue

    def disconnect(self, queue: asyncio.Queue[tuple[str, str]]) -> None:
        self._screens.discard(queue)
