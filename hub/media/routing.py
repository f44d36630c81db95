"""Who receives whom in a lesson: pure routing decisions, no I/O, no aiortc.

A lesson has one lead, any number of partner classrooms and observers (the
operator dashboard, a recorder). Media goes through the hub in *slots*: a slot
is one video + one audio stream the hub sends to one participant, and the
routing decides which upstream participant currently feeds it.

- ``Slot.MAIN`` carries the lead to every partner and observer.
- ``Slot.FLOOR`` carries the partner holding the floor to the lead, the other
  partners and observers; the floor holder itself gets nothing in that slot
  (nobody wants to see their own classroom delayed by a round trip).
- ``Slot.SCREEN`` (video only) carries the lead's shared screen or window to every
  partner and observer. The lead always has a ``recvonly`` screen line in its
  offer (its second video upstream); it sends nothing there until it shares, so
  starting or stopping a share never renegotiates either.

Slots are fixed per role, so a floor change never renegotiates SDP: only the
source of the ``FLOOR`` slots changes (the media adapter switches at the next
keyframe). The roles, slots and m-line layout every peer must follow are the
contract in ``protocols.media`` (re-exported here); this module adds the hub's
decisions on top, kept apart from the adapter so they are tested without an
event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.media.exceptions import RoutingError
from protocols.media import (
    MLine,
    Role,
    Slot,
    feed_of,
    media_layout,
    publishes,
    slot_kinds,
    slots_for,
)

__all__ = [
    "MLine",
    "Role",
    "RoutingPlan",
    "Slot",
    "SlotKey",
    "changes",
    "feed_of",
    "media_layout",
    "plan",
    "publishes",
    "slot_kinds",
    "slots_for",
]


@dataclass(frozen=True, slots=True)
class SlotKey:
    """One slot at one subscriber."""

    subscriber: str
    slot: Slot


RoutingPlan = dict[SlotKey, str | None]
"""Slot -> the participant id feeding it, or None when the slot is idle."""


def plan(roles: Mapping[str, Role], floor: str | None, screen: str | None = None) -> RoutingPlan:
    """Decide the source of every slot, given who is present and who has the floor.

    ``screen``: who is sharing a screen now (default: the lead); it feeds SCREEN.

    Raises :class:`RoutingError` if there is more than one lead or the floor
    holder is absent or not a partner.
    """
    leads = [pid for pid, role in roles.items() if role is Role.LEAD]
    if len(leads) > 1:
        raise RoutingError(f"more than one lead: {sorted(leads)}")
    lead = leads[0] if leads else None
    if floor is not None:
        if floor not in roles:
            raise RoutingError(f"floor holder {floor!r} is not in the session")
        if roles[floor] is not Role.PARTNER:
            raise RoutingError(f"floor holder {floor!r} is a {roles[floor].value}")

    result: RoutingPlan = {}
    for pid, role in roles.items():
        for slot in slots_for(role):
            if slot is Slot.SCREEN:
                source = screen if screen is not None else lead
            else:
                source = floor if slot is Slot.FLOOR else lead
            if source == pid:
                source = None
            result[SlotKey(pid, slot)] = source
    return result


def changes(old: RoutingPlan, new: RoutingPlan) -> dict[SlotKey, str | None]:
    """Slots whose source differs between two plans (including new slots)."""
    return {key: src for key, src in new.items() if key not in old or old[key] != src}
