"""The classroom node daemon: one per smart-classroom box.

What lives here: ``config`` (``NodeConfig``, a ``runtime.DaemonSettings``: TOML
file + ``DUALCLASS_NODE_*`` + flags), ``journal`` (the
offline journal of outbound events, file I/O only), ``store`` (memberships and
applied-event logs kept across restarts, file I/O only), ``sessionview`` (pure:
ordering, lesson state, counters and resync decisions of one session), ``node``
(``ClassroomNode``: the MQTT session and background tasks around the views),
``localapi`` (HTTP for clickers and the tutor's tablet; it sees the node only
through its ``InputTarget`` protocol), ``media/`` (WebRTC), ``main`` (entry point:
``runtime.run_daemon``, ``StopSignals``, start-up unwound on failure) and
``exceptions`` (one tree, root ``NodeError``).

May import: protocols, runtime, broker, webrtc and the node extra's libraries
(``tests/test_layout.py`` checks it). Never the hub, nor the hub's libraries: a
classroom box installs only ``dualclass[node]``.
"""

from __future__ import annotations

from classroom_node.config import NodeConfig
from classroom_node.exceptions import (
    AmbiguousSession,
    InvalidEvent,
    JournalError,
    NodeError,
    NoSession,
    SessionError,
    UnknownSession,
)
from classroom_node.node import ClassroomNode, NodeStats, OnEvent, Rejection, Submitted
from classroom_node.sessionview import Counters, SessionView

__all__ = [
    "AmbiguousSession",
    "ClassroomNode",
    "Counters",
    "InvalidEvent",
    "JournalError",
    "NoSession",
    "NodeConfig",
    "NodeError",
    "NodeStats",
    "OnEvent",
    "Rejection",
    "SessionError",
    "SessionView",
    "Submitted",
    "UnknownSession",
]
