"""The exceptions of ``ledger``: one root, data as attributes.

::

    LedgerError
    ├── LedgerInputError     the caller fed something the ledger cannot place
    │                        (an unsequenced event, an event without session or ts)
    ├── DirectoryError       the session directory is inconsistent (a partner
    │                        classroom whose school is unknown, ...)
    └── StoreError           the persisted ledger in Redis cannot be read back

``LedgerInputError`` is a programming error of the caller (the hub fed an event
before sequencing it); a node's bad input never reaches the ledger because the
sequencer refuses it first. Redis errors are translated to ``StoreError`` only
where the data is malformed; connection errors propagate as the hub's own
``StoreUnavailable`` translation happens in the hub's store adapter.
"""

from __future__ import annotations

__all__ = ["DirectoryError", "LedgerError", "LedgerInputError", "StoreError"]


class LedgerError(Exception):
    """Root of every error raised by ``ledger``."""


class LedgerInputError(LedgerError):
    """A record the ledger cannot place; ``what`` names the record, ``why`` the reason."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(what, why)
        self.what = what
        self.why = why

    def __str__(self) -> str:
        return f"cannot feed {self.what}: {self.why}"


class DirectoryError(LedgerError):
    """The directory names something it does not define."""

    def __init__(self, kind: str, ident: str, detail: str = "") -> None:
        super().__init__(kind, ident, detail)
        self.kind = kind
        self.ident = ident
        self.detail = detail

    def __str__(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"unknown {self.kind} {self.ident!r}{tail}"


class StoreError(LedgerError):
    """A persisted ledger record in Redis is malformed (``key`` names it)."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(key, detail)
        self.key = key
        self.detail = detail

    def __str__(self) -> str:
        return f"malformed ledger record {self.key}: {self.detail}"
