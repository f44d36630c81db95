"""What is due now: the pure decision behind the lesson scheduler.

Given session specs, the instant and what was already sent, ``due`` answers which
``cmd.join`` and ``cmd.leave`` to send. No clock, no I/O: the scheduler passes
``now_ms`` in, so tests walk a fake clock through a lesson.

Rules, per member node of a session with ``starts_at``:

- join is due from ``starts_at - lead_s`` until ``ends_at`` (a node that comes back
  late in the lesson still gets it; after the end it would be pointless);
- leave is due from ``ends_at + leave_after_s`` until ``window_s`` later. The window
  bounds the work after a hub restart: old lessons are not left again forever, and
  ``prune`` can forget what was sent once it is outside every window.

Sessions without ``starts_at`` are not scheduled (the hub joins them at creation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hub.sessions import SessionSpec

__all__ = ["Action", "ActionKind", "Timing", "due", "prune"]


class ActionKind(StrEnum):
    JOIN = "join"
    LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    session: str
    node: str


@dataclass(frozen=True, slots=True)
class Timing:
    """``lead_s``: joins go out this long before the start (default 10 minutes)."""

    lead_s: float = 600.0
    leave_after_s: float = 0.0
    window_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.lead_s < 0 or self.leave_after_s < 0 or self.window_s <= 0:
            raise ValueError("lead_s and leave_after_s must be >= 0, window_s > 0")


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _join_open(spec: SessionSpec, now_ms: int, timing: Timing) -> bool:
    if spec.starts_at is None or now_ms < spec.starts_at - _ms(timing.lead_s):
        return False
    return spec.ends_at is None or now_ms < spec.ends_at


def _leave_open(spec: SessionSpec, now_ms: int, timing: Timing) -> bool:
    if spec.starts_at is None or spec.ends_at is None:
        return False
    opens = spec.ends_at + _ms(timing.leave_after_s)
    return opens <= now_ms < opens + _ms(timing.window_s)


def due(
    specs: Iterable[SessionSpec],
    now_ms: int,
    timing: Timing,
    done: frozenset[Action] | set[Action] = frozenset(),
    ended: frozenset[str] | set[str] = frozenset(),
) -> list[Action]:
    """Actions due at ``now_ms`` and not in ``done``, in session then member order.

    ``ended``: sessions whose lesson the lead already ended — nobody joins those.
    """
    out: list[Action] = []
    for spec in specs:
        if _join_open(spec, now_ms, timing) and spec.session not in ended:
            kind: ActionKind | None = ActionKind.JOIN
        elif _leave_open(spec, now_ms, timing):
            kind = ActionKind.LEAVE
        else:
            kind = None
        if kind is None:
            continue
        for node in spec.members:
            action = Action(kind, spec.session, node)
            if action not in done:
                out.append(action)
    return out


def prune(
    done: set[Action], specs: Iterable[SessionSpec], now_ms: int, timing: Timing
) -> set[Action]:
    """The part of ``done`` still inside a window (the rest can never be due again)."""
    live = {
        s.session for s in specs if _join_open(s, now_ms, timing) or _leave_open(s, now_ms, timing)
    }
    return {a for a in done if a.session in live}
