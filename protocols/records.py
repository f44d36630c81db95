"""Where the sequenced events of a session are recorded: the session log.

The hub appends every sequenced event to one Redis stream per session; the
stream is the record (MQTT is only delivery). The hub writes it; the ledger,
signalling feeds and rebuilds read it. Entry ids are ``{seq}-0``, so ``XRANGE``
by seq needs no index. Fields of an entry:

- ``d``   the msgpack envelope of the event exactly as published (``seq`` set)
- ``id``  the event's message id
- ``type`` the event type
- ``src`` the sender (node id), taken from the MQTT topic, never the payload
- ``ts``  the hub's time of sequencing, ms since the epoch

Kept here, beside the wire model, because writer and readers live in different
packages and must agree on one spelling.
"""

from __future__ import annotations

__all__ = ["session_log_key"]


def session_log_key(session: str) -> str:
    """The Redis stream holding ``session``'s sequenced events."""
    return f"dc:s:{session}:log"
