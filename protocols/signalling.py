"""The WebSocket signalling messages between the hub and a media peer: pure pydantic.

One JSON object per WebSocket text frame, discriminated by ``type``. A peer is a
browser console (lead, tutor, observer) authenticated by a join token, or a
classroom node authenticated by its registry credentials. The conversation::

    peer -> hub   join       {token} or {node, secret, session}; media, events, camera
    hub  -> peer  joined     session, role, participant id, acting-as node, layout
    hub  -> peer  offer      the hub's complete SDP (aiortc does no trickle ICE)
    peer -> hub   answer     the peer's complete SDP (gathering finished)
    hub  -> peer  state      lesson snapshot (on join and after every event)
    hub  -> peer  event      a sequenced lesson event (JSON shape of ``to_jsonable``)
    peer -> hub   interact   {event, body, id?}: a lesson event to sequence as the peer
    hub  -> peer  ack        the interaction's seq once sequenced
    hub  -> peer  error      {code, detail, ref?}; fatal ones close the socket
    hub  -> peer  layer      the camera layer the hub forwards to this peer now, and why
    peer -> hub   leave      done (closing the socket means the same)

The hub makes the offer because it owns the m-line layout
(``protocols.media.media_layout``); ``joined.layout`` tells the peer which
transceivers take its camera and microphone (``recvonly`` at the hub) and which
slot each received track shows. Kept here, without I/O, so the node and tests
share the exact shapes the hub speaks.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from protocols.exceptions import MalformedMessage, SchemaViolation
from protocols.messages import Event, Layer, NodeId, SessionId, SessionStateBody
from protocols.validation import describe_errors

__all__ = [
    "MAX_SIGNAL_SIZE",
    "SignalAck",
    "SignalAnswer",
    "SignalError",
    "SignalEvent",
    "SignalIceServer",
    "SignalInteract",
    "SignalJoin",
    "SignalJoined",
    "SignalLayer",
    "SignalLeave",
    "SignalMLine",
    "SignalMessage",
    "SignalOffer",
    "SignalState",
    "dump_signal",
    "parse_signal",
]

#: Largest signalling frame accepted: an SDP with a dozen m-lines is ~10 kB.
MAX_SIGNAL_SIZE = 256 * 1024

Sdp = Annotated[str, Field(min_length=1, max_length=128 * 1024)]


class _Signal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SignalJoin(_Signal):
    """First message of a peer: who it is. Either a join token or node credentials."""

    type: Literal["join"] = "join"
    token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    node: NodeId | None = None
    secret: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    #: Needed with node credentials (a token names its own session).
    session: SessionId | None = None
    #: False: events and interactions only (a tutor's tablet next to the node's camera).
    media: bool = True
    #: False: no live events and snapshots (a node gets those over MQTT already).
    events: bool = True
    #: The role the page expects (a lead console refuses a tutor token as ``wrong_role``).
    role: Literal["lead", "tutor", "partner", "observer"] | None = None
    #: Consoles (join tokens): False, the default, joins media to watch only and leaves
    #: the classroom's camera with its node; True is the teacher's explicit choice to
    #: send this device's camera instead (the node gets it back when this peer leaves).
    #: Nodes always send theirs.
    camera: bool = False
    #: 2: this peer sends its camera in two layers (``protocols.media``); the hub's
    #: layout then has a second, ``low``, camera line and the hub sends ``layer``
    #: messages. Absent (older peers): one layer, and no ``layer`` messages.
    layers: int | None = Field(default=None, ge=1, le=2)

    @model_validator(mode="after")
    def _one_identity(self) -> SignalJoin:
        by_node = self.node is not None or self.secret is not None
        if self.token is not None and by_node:
            raise ValueError("give a token or node credentials, not both")
        if self.token is None and not (self.node and self.secret and self.session):
            raise ValueError("node credentials need node, secret and session")
        return self


class SignalMLine(_Signal):
    """One m-line of the hub's offer, seen from the hub (``recvonly`` = peer's upstream)."""

    kind: Literal["video", "audio"]
    direction: Literal["recvonly", "sendonly"]
    slot: Literal["main", "floor", "screen"] | None = None
    #: The camera layer of an upstream line of a two-layer publisher.
    layer: Layer | None = None


class SignalIceServer(_Signal):
    """One STUN/TURN server for the peer's ``RTCPeerConnection`` (browser's shape)."""

    urls: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=8)]
    username: Annotated[str, Field(max_length=300)] | None = None
    credential: Annotated[str, Field(max_length=300)] | None = None


class SignalJoined(_Signal):
    type: Literal["joined"] = "joined"
    session: SessionId
    #: The token's role (lead, tutor, observer) or, for a node, its roster role.
    role: Literal["lead", "tutor", "partner", "observer"]
    #: The media participant id at the relay (None without media).
    participant: str | None = None
    #: The node id this peer's interactions are sequenced as (None: read-only).
    acting_as: NodeId | None = None
    layout: list[SignalMLine] = []
    #: True: this peer's camera is the classroom's (``camera`` asked for, or a node).
    camera: bool = False
    #: STUN/TURN servers to use, TURN ones with credentials minted for this join.
    ice_servers: Annotated[list[SignalIceServer], Field(max_length=16)] = []


class SignalOffer(_Signal):
    type: Literal["offer"] = "offer"
    sdp: Sdp


class SignalAnswer(_Signal):
    type: Literal["answer"] = "answer"
    sdp: Sdp


class SignalLeave(_Signal):
    type: Literal["leave"] = "leave"


class SignalError(_Signal):
    type: Literal["error"] = "error"
    code: Annotated[str, Field(max_length=200)]
    detail: Annotated[str, Field(max_length=2000)] = ""
    #: The interaction id this answers, if any.
    ref: Annotated[str, Field(max_length=64)] | None = None
    #: HTTP equivalent of a refused join (401, 403, 404, 503).
    status: int | None = None


class SignalEvent(_Signal):
    type: Literal["event"] = "event"
    event: Event


class SignalState(_Signal):
    type: Literal["state"] = "state"
    session: SessionId
    state: SessionStateBody


class SignalLayer(_Signal):
    """The camera layer the hub now forwards to this peer (sent only to peers that
    joined with ``layers``; older peers would refuse an unknown message type)."""

    type: Literal["layer"] = "layer"
    layer: Layer
    #: Short word: start, loss, estimate, stable, uplink, forced.
    reason: Annotated[str, Field(max_length=32)]
    #: Switches since this peer's media connected (the start layer is not one).
    switches: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0


class SignalInteract(_Signal):
    """A lesson event a browser teacher makes; the hub fills in id, src and session."""

    type: Literal["interact"] = "interact"
    event: Annotated[str, Field(min_length=1, max_length=64)]
    body: dict[str, Any] = {}
    #: Optional client-made ULID: resending the same id is sequenced once.
    id: Annotated[str, Field(max_length=64)] | None = None


class SignalAck(_Signal):
    type: Literal["ack"] = "ack"
    id: str
    seq: Annotated[int, Field(ge=1, le=2**63 - 1)]


SignalMessage = Annotated[
    SignalJoin
    | SignalJoined
    | SignalOffer
    | SignalAnswer
    | SignalLeave
    | SignalError
    | SignalEvent
    | SignalState
    | SignalInteract
    | SignalAck
    | SignalLayer,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Any] = TypeAdapter(SignalMessage)


def parse_signal(text: str | bytes) -> SignalMessage:
    """One frame to a message; ``MalformedMessage`` / ``SchemaViolation`` otherwise."""
    if len(text) > MAX_SIGNAL_SIZE:
        raise MalformedMessage(f"frame of {len(text)} bytes exceeds {MAX_SIGNAL_SIZE}")
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: a small frame of nested brackets ("[[[[...") is still
        # refused as malformed, not as a crash of the peer's conversation
        raise MalformedMessage(f"not JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedMessage(f"expected an object, got {type(raw).__name__}")
    try:
        message: SignalMessage = _adapter.validate_python(raw)
    except ValidationError as exc:
        raise SchemaViolation(str(raw.get("type")), describe_errors(exc.errors())) from None
    return message


def dump_signal(message: _Signal) -> str:
    """The JSON text of a message (``None`` fields left out, like ``to_jsonable``)."""
    return message.model_dump_json(exclude_none=True)
