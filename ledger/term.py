"""A term: the sessions a report covers, each with its spec and its ledger figures.

Why a module of its own: reports are pure functions of a ``Term``; a term is built
from a live ``Ledger`` (tests, bench, the hub) or from Redis (``store.load_term``),
and both paths meet here.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass

from tqdm import tqdm

from ledger.aggregate import Ledger
from ledger.directory import Directory, SessionInfo
from ledger.figures import SessionFigures

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
    *,
    records: bool = True,
    progress: bool = False,
) -> Term:
    """The term of ``infos`` with figures from ``ledger`` (``as_of`` closes live lessons).

    ``records=False`` skips per-hand/per-answer records: enough for reports, not
    for xAPI. The cyclic garbage collector is paused while the figures are built:
    they are tens of thousands of new objects, each allocation burst would
    otherwise walk the whole (large) ledger, and nothing made here is cyclic.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        lessons = tuple(
            Lesson(info, ledger.figures(info.session, info, as_of=as_of, records=records))
            for info in tqdm(infos, desc="figures", unit="session", disable=not progress)
        )
    finally:
        if paused:
            gc.enable()
    return Term(directory=directory, lessons=lessons)
