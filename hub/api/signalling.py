"""``/ws/signal``: the signalling WebSocket (see ``protocols.signalling``).

The route is thin: it finds the replica's ``Signalling`` service (made on first
use from ``SignallingSettings()``, i.e. the ``DUALCLASS_*`` environment, unless
``install_signalling`` put one there first) and hands the socket to
``hub.signalling.connection.serve_peer``.
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
    """The app's service, made on first use from the environment and the hub config."""
    service: Signalling | None = getattr(app.state, "signalling", None)
    if service is None:
        # The hub's one config (env, file, stack file) decides the ICE addresses;
        # the local stack's stack file sets loopback (see broker/stack.py).
        config = app.state.hub.config
        settings = SignallingSettings().model_copy(
            update={
                "ice_host_addresses": config.ice_host_addresses,
                "ice_servers": config.ice_servers,
                "turn_secret": config.turn_secret,
                "turn_ttl_s": config.turn_ttl_s,
            }
        )
        service = install_signalling(app, settings)
    return service


@router.websocket("/ws/signal")
async def signal(websocket: WebSocket) -> None:
    """Join a session's media and live events with a join token or node credentials."""
    await serve_peer(websocket, signalling_of(websocket.app))
