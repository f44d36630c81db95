"""One peer's signalling conversation over a WebSocket (see ``protocols.signalling``).

``serve_peer(websocket, service)``: accept; wait for ``join`` (``join_timeout_s``);
authenticate; enter the room; say ``joined``; with media, send the hub's complete
offer and apply the peer's answer; then take ``interact`` messages until
``leave`` or the socket closes, and always leave the room on the way out.

Refusals are an ``error`` frame followed by a close code ``4000 + status``
(4401 unauthenticated, 4403 forbidden, 4404 unknown session), so a browser sees
both the machine code and an HTTP-like status. Interactions are sequenced through
``SessionRuntime.submit_wait`` as the identity's node: the role rules of the
lesson machine decide, exactly as for a node's MQTT uplink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from hub.media.exceptions import MediaError
from hub.signalling.exceptions import JoinRefused
from hub.signalling.identity import authenticate
from hub.signalling.room import Peer, Room, layout_of
from hub.signalling.service import Signalling
from protocols.codec import decode_map
from protocols.exceptions import DecodeError
from protocols.ids import new_id, now_ms
from protocols.signalling import (
    SignalAck,
    SignalAnswer,
    SignalError,
    SignalIceServer,
    SignalInteract,
    SignalJoin,
    SignalJoined,
    SignalLeave,
    SignalMessage,
    SignalOffer,
    dump_signal,
    parse_signal,
)

__all__ = ["serve_peer"]

log = logging.getLogger("dualclass.hub.signalling")


class _Gone(Exception):
    """The peer closed the socket."""


async def _receive(websocket: WebSocket) -> SignalMessage | SignalError:
    """The next message, or the ``error`` to answer a frame that is not one."""
    raw = await websocket.receive()
    if raw["type"] == "websocket.disconnect":
        raise _Gone
    text = raw.get("text")
    if text is None:
        text = raw.get("bytes") or b""
    try:
        return parse_signal(text)
    except DecodeError as exc:
        return SignalError(code=exc.code, detail=str(exc)[:2000])


async def _writer(websocket: WebSocket, peer: Peer) -> None:
    with contextlib.suppress(Exception):
        while True:
            text = await peer.out.get()
            if text is None:
                await websocket.close(peer.close_code)
                return
            await websocket.send_text(text)


async def serve_peer(websocket: WebSocket, service: Signalling, expect: str | None = None) -> None:
    """Run one peer's conversation to its end; never raises for a peer's misbehaviour."""
    await websocket.accept()
    settings = service.settings
    try:
        first = await asyncio.wait_for(_receive(websocket), settings.join_timeout_s)
    except (TimeoutError, _Gone, WebSocketDisconnect):
        await _close_with(websocket, 4408, "join_timeout", "no join message")
        return
    if not isinstance(first, SignalJoin):
        code = first.code if isinstance(first, SignalError) else "join_expected"
        detail = first.detail if isinstance(first, SignalError) else "send join first"
        await _close_with(websocket, 4400, code, detail)
        return
    try:
        identity = await authenticate(service.hub, first, expect=first.role)
    except JoinRefused as exc:
        service.hub.metrics.signal_joins.labels(exc.code).inc()
        await _close_with(websocket, 4000 + exc.status, exc.code, exc.detail, status=exc.status)
        return
    peer = Peer(identity, events=first.events, limit=settings.peer_queue, layers=first.layers or 1)
    writer = asyncio.create_task(_writer(websocket, peer))
    room: Room | None = None
    try:
        try:
            room = await service.enter(identity, peer)
        except TimeoutError:
            peer.kick(1013, "busy", "the session's room did not open in time; retry")
            raise _Gone() from None
        # consoles watch (observer layout) unless they chose to send the camera
        media = first.media
        servers = settings.ice_servers_for(identity.acting_as or "observer") if media else []
        joined = SignalJoined(
            session=identity.session,
            role=identity.role,
            acting_as=identity.acting_as,
            layout=layout_of(identity, peer.layers) if media else [],
            camera=media and identity.camera,
            ice_servers=[SignalIceServer.model_validate(server) for server in servers],
        )
        metrics = service.hub.metrics
        if media:
            try:
                offer = await room.offer(peer)
            except JoinRefused as exc:
                metrics.signal_joins.labels(exc.code).inc()
                peer.kick(4000 + exc.status, exc.code, exc.detail, exc.status)
                return
            if any("credential" in server for server in servers):
                metrics.turn_credentials.inc()
        outcome = "control" if not media else "camera" if identity.camera else "watch"
        metrics.signal_joins.labels(outcome).inc()
        if media:
            joined = joined.model_copy(update={"participant": peer.participant})
            peer.send(dump_signal(joined))
            peer.send(dump_signal(SignalOffer(sdp=offer.sdp)))
        else:
            peer.send(dump_signal(joined))
        await _conversation(websocket, service, room, peer)
    except (_Gone, WebSocketDisconnect):
        pass
    except Exception:
        log.exception("signalling peer %s failed", peer.id)
        peer.kick(1011, "internal", "the hub failed")
    finally:
        if room is not None:
            await service.leave(room, peer)
        if not peer.gone:
            peer.gone = True
            peer.out.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, 2.0)
        writer.cancel()


async def _close_with(
    websocket: WebSocket, close_code: int, code: str, detail: str, status: int | None = None
) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(dump_signal(SignalError(code=code, detail=detail, status=status)))
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            await websocket.close(close_code)


async def _conversation(websocket: WebSocket, service: Signalling, room: Room, peer: Peer) -> None:
    answered = False
    while not peer.gone:
        message = await _receive(websocket)
        match message:
            case SignalAnswer(sdp=sdp):
                if peer.participant is None or answered:
                    peer.send(dump_signal(SignalError(code="unexpected", detail="no offer open")))
                    continue
                try:
                    await room.answer(peer, sdp)
                    answered = True
                except MediaError as exc:
                    peer.send(dump_signal(SignalError(code="negotiation_failed", detail=str(exc))))
            case SignalInteract():
                await _interact(service, room, peer, message)
            case SignalLeave():
                return
            case SignalError():
                peer.send(dump_signal(message))
            case _:
                detail = f"{message.type} is not sent by peers"
                peer.send(dump_signal(SignalError(code="unexpected_type", detail=detail)))


async def _interact(service: Signalling, room: Room, peer: Peer, message: SignalInteract) -> None:
    """Sequence the interaction as the peer's node; answer ``ack`` or ``error``."""
    ref = message.id or new_id()

    def refuse(code: str, detail: str) -> None:
        peer.send(dump_signal(SignalError(code=code, detail=detail[:2000], ref=ref[:64])))

    src = peer.identity.acting_as
    if src is None:
        refuse("forbidden_role", f"a {peer.identity.role} is read-only")
        return
    raw = {
        "v": 1,
        "id": ref,
        "type": message.event,
        "session": room.session,
        "body": message.body,
        "sent": now_ms(),
    }
    try:
        event = decode_map(raw)
    except DecodeError as exc:
        refuse(exc.code, str(exc))
        return
    if event.kind != "event":
        refuse("not_an_event", f"{message.event} is not a lesson event")
        return
    runtime = await service.hub.find_runtime(room.session)
    if runtime is None:
        refuse("unknown_session", f"no session {room.session!r}")
        return
    try:
        verdict = await asyncio.wait_for(
            runtime.submit_wait(src, event), service.settings.interact_timeout_s
        )
    except TimeoutError:
        refuse("timeout", "not sequenced in time; it may still be")
        return
    if verdict.seq is None:
        refuse(verdict.code, verdict.detail)
    else:
        peer.send(dump_signal(SignalAck(id=ref, seq=verdict.seq)))
