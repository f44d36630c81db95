"""``/ws/signal``: the signalling WebSocket (see ``protocols.signalling``).

The route is thin: it finds the replica's ``Signalling`` service (the hub puts
it on ``app.state`` at start-up and closes it at shutdown; an app built without
a running hub makes one on first use from the hub's config) and hands the
socket to ``hub.signalling.connection.serve_peer``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, WebSocket

from hub.signalling.connection import serve_peer
from hub.signalling.service import Signalling
from hub.signalling.settings import SignallingSettings

__all__ = ["install_signalling", "router", "signalling_of"]

router = APIRouter(tags=["signalling"])


def install_signalling(app: FastAPI, settings: SignallingSettings | None = None) -> Signalling:
    """Put a ``Signalling`` service with explicit settings on ``app`` (tests, embedding)."""
    service = Signalling(app.state.hub, settings)
    app.state.signalling = service
    return service


def signalling_of(app: FastAPI) -> Signalling:
    """The app's service (the hub's; made from the hub's config if there is none)."""
    service: Signalling | None = getattr(app.state, "signalling", None)
    if service is None:
        service = install_signalling(app)
    return service


@router.websocket("/ws/signal")
async def signal(websocket: WebSocket) -> None:
    """Join a session's media and live events with a join token or node credentials."""
    await serve_peer(websocket, signalling_of(websocket.app))
