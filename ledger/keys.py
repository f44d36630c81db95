"""Every Redis key of the participation ledger, in one place.

::

    dc:ledger:inputs             stream  presence/heartbeat/browser records (``r``)
    dc:ledger:nodes              set     node ids with saved presence intervals
    dc:ledger:presence:{node}    set     the node's presence intervals
    dc:ledger:s:{sid}            hash    the session's folded state
    dc:ledger:info               hash    session id -> JSON of ``SessionInfo``
    dc:ledger:info:by_start      zset    session id by scheduled start (ms)
    dc:ledger:directory          string  JSON of the ``Directory`` (schools, classrooms)

The ledger also reads the hub's session logs (``protocols.records``).
"""

from __future__ import annotations

__all__ = [
    "DIRECTORY_KEY",
    "INFO_BY_START_KEY",
    "INFO_KEY",
    "INPUTS_KEY",
    "PRESENCE_NODES_KEY",
    "presence_key",
    "state_key",
]

INPUTS_KEY = "dc:ledger:inputs"
PRESENCE_NODES_KEY = "dc:ledger:nodes"
INFO_KEY = "dc:ledger:info"
INFO_BY_START_KEY = "dc:ledger:info:by_start"
DIRECTORY_KEY = "dc:ledger:directory"


def state_key(session: str) -> str:
    return f"dc:ledger:s:{session}"


def presence_key(node: str) -> str:
    return f"dc:ledger:presence:{node}"
