"""Media of the classroom node: camera/microphone up to the hub, lesson video down.

Modules:

- ``exceptions``   ``NodeMediaError`` and below (root: the node's ``NodeError``)
- ``settings``     ``MediaSettings``: hub URL, on/off, source kind, sink, ICE loopback
- ``pattern``      synthetic test pattern (frame counter + clock drawn in), pure numpy
- ``sources``      ``open_source``: test pattern, a media file, or V4L2 camera + ALSA mic
- ``sinks``        ``StatsSink`` (fps, bitrate, loss, RTT, freezes) and the recorder
- ``signalclient`` ``SignalClient``: the ``/ws/signal`` WebSocket conversation
- ``peer``         ``MediaPeer``: answers the hub's offer following its m-line layout
- ``runner``       ``NodeMedia``: follows the node's sessions, feeds ``media_stats``

May import: protocols, classroom_node, aiortc, aioice, av, numpy, websockets. Never hub.
"""

from __future__ import annotations
