"""WebSocket signalling of the hub: who joins a lesson's media, and live events to browsers.

Modules:

- ``settings``   ``SignallingSettings`` (codec, timeouts; part of ``HubConfig``)
- ``exceptions`` one tree, root ``SignallingError``
- ``identity``   a ``join`` message -> ``Identity`` (join token or node credentials)
- ``feed``       ``SessionFeed``: follows a session's Redis log, keeps a lesson machine
- ``room``       ``Room``: one live session's relay, feed, connected peers and floor
- ``connection`` one peer's WebSocket conversation (join, offer/answer, interact)
- ``service``    ``Signalling``: the rooms of one hub replica

The protocol itself (message models) is ``protocols.signalling``; the route is
``hub.api.signalling``. The hub creates one ``Signalling`` at start-up and closes
it at shutdown. May import: protocols, webrtc, broker.render, hub core modules,
hub.media, starlette (WebSocket).
"""
