"""The classroom node daemon: one per smart-classroom box.

What lives here: ``config`` (``NodeConfig``, file + env + flags), ``journal`` (the
offline journal of outbound events, file I/O only), ``store`` (memberships and
applied-event logs kept across restarts, file I/O only), ``sessionview`` (pure:
ordering, lesson state, counters and resync decisions of one session), ``node``
(``ClassroomNode``: the MQTT session and background tasks around the views),
``localapi`` (HTTP for clickers and the tutor's tablet), ``main`` (entry point,
signals, uvloop) and ``exceptions`` (one tree, root ``NodeError``).

May import: protocols, broker, pydantic(-settings), fastapi/uvicorn, the standard
library. Never hub.
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
