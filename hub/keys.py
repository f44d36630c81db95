"""Every Redis key the hub's own modules use, in one place.

::

    dc:s:{sid}:log          stream  the session log (``protocols.records``)
    dc:s:{sid}:ids          hash    message id -> seq (dedupe)
    dc:sessions             set     session ids
    dc:session:{sid}        string  JSON of the ``SessionSpec``
    dc:nodes                hash    node id -> ``$7$`` hash (``registry.keys``)
    dc:hub_users            hash    hub MQTT username -> ``$7$`` hash
    dc:heartbeat            hash    node id -> JSON of its last heartbeat (and when)
    dc:share_group          string  the replicas' secret MQTT shared-subscription group
    dc:tt:lessons           hash    timetable lesson id -> JSON (accepted matching)
    dc:match:offers         hash    offer id -> JSON (matching input)
    dc:match:requests       hash    request id -> JSON (matching input)
    dc:match:pairs          set     JSON [lead school, partner school]
    dc:match:runs           zset    run id by creation time
    dc:match:run:{id}       string  JSON of the run record (``:input``: its instance)
    dc:ledger:inputs:cursor string  the last ledger input this replica folded

The ledger's and the registry's own keys are in ``ledger.keys`` and
``registry.keys``.
"""

from __future__ import annotations

from protocols.records import session_log_key
from registry.keys import NODES_KEY

__all__ = [
    "HEARTBEAT_KEY",
    "HUB_USERS_KEY",
    "LEDGER_CURSOR_KEY",
    "LESSONS_KEY",
    "NODES_KEY",
    "OFFERS_KEY",
    "PAIRS_KEY",
    "REQUESTS_KEY",
    "RUNS_KEY",
    "SESSIONS_KEY",
    "SHARE_GROUP_KEY",
    "ids_key",
    "log_key",
    "run_key",
    "session_key",
]

SESSIONS_KEY = "dc:sessions"
HUB_USERS_KEY = "dc:hub_users"
HEARTBEAT_KEY = "dc:heartbeat"
SHARE_GROUP_KEY = "dc:share_group"
LESSONS_KEY = "dc:tt:lessons"
OFFERS_KEY = "dc:match:offers"
REQUESTS_KEY = "dc:match:requests"
PAIRS_KEY = "dc:match:pairs"
RUNS_KEY = "dc:match:runs"
LEDGER_CURSOR_KEY = "dc:ledger:inputs:cursor"

#: The session log stream (one spelling for the hub, the ledger and the feeds).
log_key = session_log_key


def ids_key(session: str) -> str:
    return f"dc:s:{session}:ids"


def session_key(session: str) -> str:
    return f"dc:session:{session}"


def run_key(run: str) -> str:
    return f"dc:match:run:{run}"
