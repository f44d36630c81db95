"""Answer ``node.resync``: one ``cmd.resync`` page of stored events per request.

One page per request, cut to fit the size limit (``more=True``: ask again from
``to_seq + 1``), so a node that fell far behind pulls at its own pace and no single
reply can exceed what the node's decoder accepts. Page building is pure; reading the
log is the caller's job.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.store import StoredEvent
from protocols.codec import decode, encode
from protocols.exceptions import MessageTooLarge
from protocols.ids import new_id
from protocols.messages import CmdResync, CmdResyncBody

__all__ = ["MAX_PAGE_EVENTS", "build_page"]

#: Upper bound on events per page, whatever their size.
MAX_PAGE_EVENTS = 500
_PER_EVENT = 8  # msgpack framing of one list element, generously
_ENVELOPE = 256  # ids, field names and the body's own fields
_READ_LIMIT = 16 * 1024 * 1024


def build_page(
    session: str,
    from_seq: int,
    to_seq: int | None,
    stored: Sequence[StoredEvent],
    *,
    max_size: int,
    ref: str | None = None,
) -> tuple[CmdResync, bytes]:
    """The reply for ``from_seq..to_seq`` given the stored events read for it.

    ``stored`` may hold more than fits (read ``MAX_PAGE_EVENTS + 1`` to learn whether
    the range goes on); the page takes what fits and says ``more`` when it cut.
    """
    budget = max_size - _ENVELOPE
    chosen: list[StoredEvent] = []
    used = 0
    for item in stored:
        if to_seq is not None and item.seq > to_seq:
            break
        cost = len(item.payload) + _PER_EVENT
        if len(chosen) >= MAX_PAGE_EVENTS or (chosen and used + cost > budget):
            break
        chosen.append(item)
        used += cost
    in_range = [s for s in stored if to_seq is None or s.seq <= to_seq]
    more = len(chosen) < len(in_range)
    while True:
        last = chosen[-1].seq if chosen else from_seq - 1
        message = CmdResync(
            id=new_id(),
            session=session,
            body=CmdResyncBody(
                from_seq=from_seq,
                to_seq=last,
                events=[decode(s.payload, max_size=_READ_LIMIT) for s in chosen],
                more=more,
            ),
        )
        try:
            return message, encode(message, max_size=max_size)
        except MessageTooLarge:
            if len(chosen) <= 1:
                raise
            chosen = chosen[: len(chosen) // 2]
            more = True
