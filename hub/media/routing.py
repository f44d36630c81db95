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
keyframe). Keeping this apart from the adapter lets it be tested without an
event loop and reused by signalling to describe the m-line layout.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from hub.media.exceptions import RoutingError

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


class Role(enum.Enum):
    """A participant's part in the lesson, as far as media is concerned."""

    LEAD = "lead"
    PARTNER = "partner"
    OBSERVER = "observer"


class Slot(enum.Enum):
    """A fixed downstream position at a subscriber (one video + one audio)."""

    MAIN = "main"
    FLOOR = "floor"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class SlotKey:
    """One slot at one subscriber."""

    subscriber: str
    slot: Slot


@dataclass(frozen=True, slots=True)
class MLine:
    """One m-line of the hub's offer to a participant, in order.

    ``direction`` is seen from the hub: ``recvonly`` lines carry the
    participant's own upstream (camera and microphone with ``slot`` None; the
    lead's shared screen with ``slot`` SCREEN), ``sendonly`` lines carry ``slot``.
    """

    kind: str
    direction: str
    slot: Slot | None


def publishes(role: Role) -> bool:
    """Whether a participant of this role sends camera and microphone upstream.

    Partners always publish (their upstream is only forwarded while they hold
    the floor), so granting the floor needs no renegotiation.
    """
    return role is not Role.OBSERVER


def slots_for(role: Role) -> tuple[Slot, ...]:
    """The downstream slots a participant of this role receives, in m-line order."""
    if role is Role.LEAD:
        return (Slot.FLOOR,)
    return (Slot.MAIN, Slot.FLOOR, Slot.SCREEN)


def slot_kinds(slot: Slot) -> tuple[str, ...]:
    """The media kinds a slot carries (a shared screen has no sound of its own)."""
    return ("video",) if slot is Slot.SCREEN else ("video", "audio")


def feed_of(kind: str, slot: Slot | None) -> str:
    """Which upstream of a publisher feeds a line: ``video``, ``audio`` or ``screen``."""
    return "screen" if slot is Slot.SCREEN else kind


def media_layout(role: Role, *, screen: bool | None = None) -> tuple[MLine, ...]:
    """The m-lines of the hub's offer for ``role``: upstream first, then slots.

    Signalling sends this to the participant so it knows which transceiver
    takes its camera/microphone (and its shared screen) and which slot each
    received track shows. ``screen``: the participant may share a screen (a
    ``recvonly`` SCREEN line); by default only the lead, but the lead's console
    that watches beside the lead's node (an observer's media) may share too.
    """
    lines: list[MLine] = []
    if publishes(role):
        lines += [MLine("video", "recvonly", None), MLine("audio", "recvonly", None)]
    if role is Role.LEAD if screen is None else screen:
        lines.append(MLine("video", "recvonly", Slot.SCREEN))
    for slot in slots_for(role):
        lines += [MLine(kind, "sendonly", slot) for kind in slot_kinds(slot)]
    return tuple(lines)


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
