"""Exceptions of the registry: one root, data as attributes, message in ``__str__``.

::

    RegistryError (HubError)
    ├── UnknownEntity    (also hub NotFound -> 404)   no such school/classroom/teacher
    ├── EntityExists     (also hub AlreadyExists -> 409)
    ├── BrokenReference  a field names something that does not exist (-> 422)
    ├── InUse            delete refused: others still refer to it (-> 409)
    └── ImportRejected   a CSV file had bad rows; carries every ``RowError``

Why the double parents: the hub's problem handlers already map ``NotFound`` and
``AlreadyExists`` to 404/409, so a registry route needs no translation for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.exceptions import AlreadyExists, HubError, NotFound

__all__ = [
    "BrokenReference",
    "EntityExists",
    "ImportRejected",
    "InUse",
    "RegistryError",
    "RowError",
    "UnknownEntity",
]


class RegistryError(HubError):
    """Root of every error the registry raises on purpose."""


class UnknownEntity(RegistryError, NotFound):
    def __init__(self, what: str, ident: str) -> None:
        NotFound.__init__(self, ident)
        self.what = what


class EntityExists(RegistryError, AlreadyExists):
    def __init__(self, what: str, ident: str) -> None:
        AlreadyExists.__init__(self, ident)
        self.what = what


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
