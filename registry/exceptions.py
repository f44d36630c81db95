"""Exceptions of the registry: one root, data as attributes, message in ``__str__``.

::

    RegistryError
    ├── UnknownEntity        no such school/classroom/teacher (HTTP 404)
    ├── EntityExists         creating one that is already registered (409)
    ├── BrokenReference      a field names something that does not exist (409)
    ├── InUse                delete refused: others still refer to it (409)
    ├── ImportRejected       a CSV file had bad rows; carries every ``RowError`` (422)
    └── RegistryUnavailable  Redis did not answer; the operation may be retried (503)

The registry is usable without the hub, so its errors have their own root; the
hub's API maps them to HTTP problems (``hub.api.problems``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BrokenReference",
    "EntityExists",
    "ImportRejected",
    "InUse",
    "RegistryError",
    "RegistryUnavailable",
    "RowError",
    "UnknownEntity",
]


class RegistryError(Exception):
    """Root of every error the registry raises on purpose."""


class UnknownEntity(RegistryError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(what, ident)
        self.what = what
        self.ident = ident

    def __str__(self) -> str:
        return f"unknown {self.what} {self.ident!r}"


class EntityExists(RegistryError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(what, ident)
        self.what = what
        self.ident = ident

    def __str__(self) -> str:
        return f"{self.what} {self.ident!r} already exists"


class RegistryUnavailable(RegistryError):
    """Redis could not be reached; the operation may be retried."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"redis unavailable: {self.detail}"


class BrokenReference(RegistryError):
    """``problems`` are human sentences, one per broken reference."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(self.problems)


class InUse(RegistryError):
    def __init__(self, what: str, ident: str, users: list[str]) -> None:
        super().__init__(what, ident, users)
        self.what = what
        self.ident = ident
        self.users = users

    def __str__(self) -> str:
        return f"{self.what} {self.ident!r} is still referred to by {', '.join(self.users)}"


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad CSV row: ``line`` is the physical line (header = 1), ``None`` = file."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class ImportRejected(RegistryError):
    """Nothing was imported because of ``errors`` (all of them, not just the first)."""

    def __init__(self, file: str, errors: list[RowError]) -> None:
        super().__init__(file, errors)
        self.file = file
        self.errors = errors

    def __str__(self) -> str:
        return f"{self.file}: {len(self.errors)} bad row(s), nothing imported"
