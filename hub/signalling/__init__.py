"""WebSocket signalling of the hub: who joins a lesson's media, and live events to browsers.

Modules:

- ``settings``   ``SignallingSettings`` (ICE loopback restriction, codec, timeouts)
- ``exceptions`` one tree, root ``SignallingError``
- ``identity``   a ``join`` message -> ``Identity`` (join token or node credentials)
- ``feed``       ``SessionFeed``: follows a session's Redis log, keeps a lesson machine
- ``room``       ``Room``: one live session's relay, feed, connected peers and floor
- ``connection`` one peer's WebSocket conversation (join, offer/answer, interact)
- ``service``    ``Signalling``: the rooms of one hub replica

The protocol itself (message models) is ``protocols.signalling``; the route is
``hub.api.signalling``. May import: protocols, broker.render, hub core modules,
hub.media, starlette (WebSocket).
"""

from __future__ import annotations

from hub.signalling.exceptions import JoinRefused, SignallingError
from hub.signalling.identity import Identity
from hub.signalling.service import Signalling
from hub.signalling.settings import SignallingSettings

__all__ = ["Identity", "JoinRefused", "Signalling", "SignallingError", "SignallingSettings"]
