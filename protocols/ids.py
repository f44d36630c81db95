"""Message ids and clocks.

Ids are ULIDs: unique without coordination, so a node can make them offline and a
resend after an outage carries the same id, which the hub deduplicates.
"""

from __future__ import annotations

import re
import time

from ulid import ULID

__all__ = ["ID_PATTERN", "is_valid_id", "new_id", "now_ms"]

#: Crockford base32, 26 characters: the ULID text form.
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ID_RE = re.compile(ID_PATTERN)


def new_id() -> str:
    """A fresh ULID string."""
    return str(ULID())


def is_valid_id(value: str) -> bool:
    """True if ``value`` has the ULID text form."""
    return bool(_ID_RE.match(value))


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch (hub ``ts`` and sender ``sent``)."""
    return time.time_ns() // 1_000_000
