"""Exceptions of ``hub.scheduling``: one root, data as attributes.

::

    SchedulingError (HubError)
    ├── UnknownRun       (also hub NotFound -> 404)
    ├── RunNotReady      accept of a run that is still running or failed (-> 409)
    └── Unschedulable    the registry cannot carry the timetable (-> 422); lists
                         every problem (missing classroom, classroom without node...)
"""

from __future__ import annotations

from hub.exceptions import HubError, NotFound

__all__ = ["RunNotReady", "SchedulingError", "UnknownRun", "Unschedulable"]


class SchedulingError(HubError):
    """Root of every error the scheduling package raises on purpose."""


class UnknownRun(SchedulingError, NotFound):
    what = "matching run"


class RunNotReady(SchedulingError):
    def __init__(self, run: str, status: str) -> None:
        super().__init__(run, status)
        self.run = run
        self.status = status

    def __str__(self) -> str:
        return f"matching run {self.run!r} is {self.status}; only a done run can be accepted"


class Unschedulable(SchedulingError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(self.problems)
