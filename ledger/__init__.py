"""The participation ledger and coverage reports (issue 5).

What lives here, one job per module:

- ``inputs``     the records the hub feeds (``PresenceInput``, ``HeartbeatInput``,
                 ``BrowserInput``; lesson events are ``protocols`` envelopes) and
                 their wire form in the ``dc:ledger:inputs`` stream
- ``directory``  ``SchoolInfo``, ``ClassroomInfo``, ``Directory``, ``SessionInfo``
- ``intervals``  half-open interval arithmetic (connected time)
- ``aggregate``  ``Ledger``: the pure fold of inputs into per-session state
- ``figures``    ``SessionFigures`` / ``ClassroomFigures``: what the ledger answers
- ``snapshot``   a session's ledger state as Redis hash fields and back (pure)
- ``store``      the only I/O: save/load/catch up/rebuild in Redis, session specs,
                 the directory, loading a term for a window
- ``term``       ``Term``: sessions with their specs and figures, input of reports
- ``schema``     ``CoverageReport`` and its rows: the JSON format's pydantic model
- ``report``     ``build_report``: the pure report computation
- ``formats``    JSON, CSV (directory), xAPI 1.0.3, HTML (with matplotlib charts)
- ``synthetic``  a seeded synthetic term (bench and tests)
- ``command``    ``dualclass report`` and ``coverage_report`` for the API
- ``exceptions`` ``LedgerError`` and its children

Pure (no I/O, no clock): everything except ``store``, ``command`` and the file
writers in ``formats``. May import ``protocols``, pydantic, msgpack, redis, tqdm and
matplotlib (``formats.charts`` only).
"""

from __future__ import annotations

from ledger.aggregate import Ledger
from ledger.directory import ClassroomInfo, Directory, SchoolInfo, SessionInfo
from ledger.exceptions import DirectoryError, LedgerError, LedgerInputError, StoreError
from ledger.figures import AnswerRecord, ClassroomFigures, HandRecord, SessionFigures
from ledger.inputs import (
    BrowserInput,
    HeartbeatInput,
    LayerInput,
    LedgerInput,
    PresenceInput,
    heartbeat_input,
)
from ledger.report import ReportWindow, build_report
from ledger.schema import CoverageReport
from ledger.term import Lesson, Term, term_from_ledger

__all__ = [
    "AnswerRecord",
    "BrowserInput",
    "ClassroomFigures",
    "ClassroomInfo",
    "CoverageReport",
    "Directory",
    "DirectoryError",
    "HandRecord",
    "HeartbeatInput",
    "LayerInput",
    "Ledger",
    "LedgerError",
    "LedgerInput",
    "LedgerInputError",
    "Lesson",
    "PresenceInput",
    "ReportWindow",
    "SchoolInfo",
    "SessionFigures",
    "SessionInfo",
    "StoreError",
    "Term",
    "build_report",
    "heartbeat_input",
    "term_from_ledger",
]
