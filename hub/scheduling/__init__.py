"""From an accepted matching result to lessons on the clock (issue 3).

- ``timetable``  pure: assignments + a date range -> ``TimetableLesson`` s (one per offer per
                 week at its weekly slot, local time in the given zone), and lessons
                 + the registry -> ``SessionSpec`` s (node ids of the classrooms).
- ``due``        pure: which ``cmd.join`` / ``cmd.leave`` are due at a given instant.
- ``scheduler``  ``LessonScheduler``: the I/O loop around ``due`` (reads session
                 specs from Redis, sends commands through the hub's MQTT link).
- ``inputs``     offers, requests and pairs stored in Redis; API body models.
- ``runs``       matching runs: records in Redis, solving in a worker thread.
- ``accept``     accepting a run: plan, check the registry, create sessions,
                 remember the lessons (the timetable the API lists).
- ``exceptions`` ``SchedulingError`` root.

May import: ``matching``, ``registry``, ``hub.sessions``, ``hub.core``,
``protocols``.
"""

from __future__ import annotations

from hub.scheduling.due import Action, ActionKind, Timing, due
from hub.scheduling.timetable import Period, SlotError, TimetableLesson, plan, to_specs

__all__ = [
    "Action",
    "ActionKind",
    "Period",
    "SlotError",
    "TimetableLesson",
    "Timing",
    "due",
    "plan",
    "to_specs",
]
