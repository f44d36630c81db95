"""The m-line layout of the hub's offers: which media line carries what, per role.

The hub makes every offer (aiortc does no trickle ICE; see ``protocols.signalling``)
and owns its layout; every peer -- the classroom node, the browser consoles, the
simulators' reference participant -- must put its camera and microphone on the
``recvonly`` lines and show each other line as the slot it names. Pure, no I/O:
a contract between the relay and its peers, so it lives beside the wire model.

A *slot* is one video + one audio stream the hub sends to one participant.
Slots are fixed per role, so a floor change never renegotiates SDP:

- ``Slot.MAIN`` carries the lead to every partner and observer;
- ``Slot.FLOOR`` carries the partner holding the floor to the lead, the other
  partners and observers.

Roles are the lesson's (``protocols.lesson.Role``): lead, partner, observer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocols.lesson import Role

__all__ = ["MLine", "Role", "Slot", "media_layout", "publishes", "slots_for"]


class Slot(enum.Enum):
    """A fixed downstream position at a subscriber (one video + one audio)."""

    MAIN = "main"
    FLOOR = "floor"


@dataclass(frozen=True, slots=True)
class MLine:
    """One m-line of the hub's offer to a participant, in order.

    ``direction`` is seen from the hub: ``recvonly`` lines carry the
    participant's own upstream, ``sendonly`` lines carry ``slot``.
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
    return (Slot.MAIN, Slot.FLOOR)


def media_layout(role: Role) -> tuple[MLine, ...]:
    """The m-lines of the hub's offer for ``role``: upstream first, then slots.

    Signalling sends this to the participant so it knows which transceiver
    takes its camera/microphone and which slot each received track shows.
    """
    lines: list[MLine] = []
    if publishes(role):
        lines += [MLine("video", "recvonly", None), MLine("audio", "recvonly", None)]
    for slot in slots_for(role):
        lines += [MLine("video", "sendonly", slot), MLine("audio", "sendonly", slot)]
    return tuple(lines)
