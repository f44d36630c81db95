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
  partners and observers;
- ``Slot.SCREEN`` (video only) carries the lead's shared screen or window to
  every partner and observer. The lead always has a ``recvonly`` screen line in
  its offer; it sends nothing there until it shares, so starting or stopping a
  share never renegotiates either.

Roles are the lesson's (``protocols.lesson.Role``): lead, partner, observer.

*Layers* (simulcast without simulcast: aiortc has none). A publisher that
joins with ``layers=2`` gets a second ``recvonly`` video line after its
microphone, marked ``layer="low"``, and sends its camera twice: the usual
encoding on the first video line (``layer="high"``, e.g. 640x480 at 30 fps,
~1 Mbps) and a smaller one there (e.g. 320x240 at 15 fps, ~250 kbps). The hub
forwards one of the two to each subscriber, chosen from that subscriber's
receiver feedback (``hub.media.layers``). Peers that do not ask for layers get
the single-layer layout unchanged, and are treated as high-only publishers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocols.lesson import Role
from protocols.messages import Layer

__all__ = [
    "LAYERS",
    "LOW_FEED",
    "Layer",
    "MLine",
    "Role",
    "Slot",
    "feed_of",
    "media_layout",
    "publishes",
    "slot_kinds",
    "slots_for",
]


# ``Layer`` (``Literal["high", "low"]``) is defined beside the heartbeat model that
# carries it (``protocols.messages``: this module imports ``protocols.lesson``, which
# imports the messages) and is exported from here, where the layers are explained.

LAYERS: tuple[Layer, ...] = ("high", "low")

#: The feed name of a publisher's low camera layer (beside ``video``, ``audio``, ``screen``).
LOW_FEED = "video_low"


class Slot(enum.Enum):
    """A fixed downstream position at a subscriber (one video + one audio)."""

    MAIN = "main"
    FLOOR = "floor"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class MLine:
    """One m-line of the hub's offer to a participant, in order.

    ``direction`` is seen from the hub: ``recvonly`` lines carry the
    participant's own upstream (camera and microphone with ``slot`` None; the
    lead's shared screen with ``slot`` SCREEN), ``sendonly`` lines carry ``slot``.
    ``layer`` marks the two camera lines of a two-layer publisher (None otherwise).
    """

    kind: str
    direction: str
    slot: Slot | None
    layer: Layer | None = None


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


def feed_of(kind: str, slot: Slot | None, layer: Layer | None = None) -> str:
    """Which upstream of a publisher feeds a line: ``video``, ``audio``, ``screen``
    or ``video_low`` (the low camera layer)."""
    if slot is Slot.SCREEN:
        return "screen"
    return LOW_FEED if layer == "low" else kind


def media_layout(role: Role, *, screen: bool | None = None, layers: int = 1) -> tuple[MLine, ...]:
    """The m-lines of the hub's offer for ``role``: upstream first, then slots.

    Signalling sends this to the participant so it knows which transceiver
    takes its camera/microphone (and its shared screen) and which slot each
    received track shows. ``screen``: the participant may share a screen (a
    ``recvonly`` SCREEN line); by default only the lead, but the lead's console
    that watches beside the lead's node (an observer's media) may share too.
    ``layers=2``: a publisher sends its camera in two layers (see the module
    docstring); the low one gets its own line right after the microphone.
    """
    lines: list[MLine] = []
    if publishes(role):
        if layers >= 2:
            lines += [
                MLine("video", "recvonly", None, "high"),
                MLine("audio", "recvonly", None),
                MLine("video", "recvonly", None, "low"),
            ]
        else:
            lines += [MLine("video", "recvonly", None), MLine("audio", "recvonly", None)]
    if role is Role.LEAD if screen is None else screen:
        lines.append(MLine("video", "recvonly", Slot.SCREEN))
    for slot in slots_for(role):
        lines += [MLine(kind, "sendonly", slot) for kind in slot_kinds(slot)]
    return tuple(lines)
