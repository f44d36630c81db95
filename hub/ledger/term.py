"""A term: the sessions a report covers, each with its spec and its ledger figures.

Why a module of its own: reports are pure functions of a ``Term``; a term is built
from a live ``Ledger`` (tests, bench, the hub) or from Redis (``store.load_term``),
and both paths meet here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.ledger.aggregate import Ledger
from hub.ledger.directory import Directory, SessionInfo
from hub.ledger.figures import SessionFigures

__all__ = ["Lesson", "Term", "term_from_ledger"]


@dataclass(frozen=True, slots=True)
class Lesson:
    """One session of the term: what was planned and what the ledger measured."""

    info: SessionInfo
    figures: SessionFigures


@dataclass(frozen=True, slots=True)
class Term:
    directory: Directory
    lessons: tuple[Lesson, ...]


def term_from_ledger(
    ledger: Ledger,
    infos: Iterable[SessionInfo],
    directory: Directory,
    as_of: int | None = None,
) -> Term:
    """The term of ``infos`` with figures from ``ledger`` (``as_of`` closes live lessons)."""
    lessons = tuple(Lesson(info, ledger.figures(info.session, info, as_of=as_of)) for info in infos)
    return Term(directory=directory, lessons=lessons)
