"""The fault schedule: parsed from ``--fault`` specs and ``--fault-rate``; pure.

Grammar (times: ``90``, ``90s``, ``1m30s``, ``500ms``)::

    AT:cut:TARGET:HOLD[:MODE]
                           cut the classrooms' network at AT for HOLD, then restore;
                           MODE: reset (default: connections reset), refuse (new
                           connections refused too), blackhole (bytes vanish, only
                           keepalives notice)
    AT:kill:hub|broker|redis[:DOWN]
                           SIGKILL the service at AT; start it again after DOWN
                           (default 1 s), as systemd's Restart= would

Cut targets: ``pN`` partner N of every session (a county's uplink drops),
``lead`` every lead, ``sM`` every classroom of session M, ``sM.pN`` / ``sM.lead``
one classroom, ``all`` every classroom. ``--fault-rate R`` adds R random cuts of
one classroom per minute (5-20 s each), drawn from the run's seed, so the same
seed gives the same faults.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from simulators.sim.plan import SimPlan

__all__ = [
    "FaultSpec",
    "parse_duration",
    "parse_fault",
    "random_cuts",
    "resolve_targets",
]

Kind = Literal["cut", "kill"]
SERVICES = ("hub", "broker", "redis")
CUT_MODES = ("reset", "refuse", "blackhole")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")
_TARGET = re.compile(r"^(?:all|lead|p\d+|s\d+|s\d+\.(?:lead|p\d+))$")
#: No fault lasts longer than a day; no schedule has more entries than this.
MAX_FAULTS = 1000


@dataclass(frozen=True, slots=True)
class FaultSpec:
    at_s: float
    kind: Kind
    target: str
    #: cut: how long the network stays cut; kill: how long the service stays down
    hold_s: float
    #: cut: how the path fails (``simulators.faults.CutMode`` values)
    mode: str = "reset"

    def label(self) -> str:
        return f"{self.at_s:g}s:{self.kind}:{self.target}:{self.hold_s:g}s"


def parse_duration(text: str) -> float:
    """``"1m30s"`` -> 90.0; a bare number is seconds. Raises ``ValueError``."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groups()):
            raise ValueError(f"{text!r} is not a duration (like 90s, 1m30s, 500ms)") from None
        minutes, seconds, millis = match.groups()
        value = float(minutes or 0) * 60 + float(seconds or 0) + float(millis or 0) / 1000
    if not 0 <= value <= 86_400:
        raise ValueError(f"{text!r}: durations are within 0 s..24 h")
    return value


def parse_fault(text: str) -> FaultSpec:
    """One ``--fault`` value -> ``FaultSpec``. Raises ``ValueError`` saying what is wrong."""
    parts = text.strip().split(":")
    if len(parts) < 3:
        raise ValueError(f"fault {text!r}: expected AT:cut:TARGET:HOLD or AT:kill:SERVICE[:DOWN]")
    at = parse_duration(parts[0])
    kind = parts[1]
    target = parts[2]
    if kind == "cut":
        if len(parts) not in (4, 5):
            raise ValueError(f"fault {text!r}: a cut needs a hold time (AT:cut:TARGET:HOLD)")
        if not _TARGET.match(target):
            raise ValueError(
                f"fault {text!r}: target {target!r} is not one of all, lead, pN, sM, sM.pN, sM.lead"
            )
        hold = parse_duration(parts[3])
        if hold <= 0:
            raise ValueError(f"fault {text!r}: the hold time must be positive")
        mode = parts[4] if len(parts) == 5 else "reset"
        if mode not in CUT_MODES:
            raise ValueError(f"fault {text!r}: cut mode {mode!r} is not one of {CUT_MODES}")
        return FaultSpec(at, "cut", target, hold, mode)
    if kind == "kill":
        if target not in SERVICES or len(parts) > 4:
            raise ValueError(f"fault {text!r}: kill one of {', '.join(SERVICES)} (AT:kill:hub)")
        down = parse_duration(parts[3]) if len(parts) == 4 else 1.0
        return FaultSpec(at, "kill", target, down)
    raise ValueError(f"fault {text!r}: kind {kind!r} is not cut or kill")


def resolve_targets(target: str, plan: SimPlan) -> list[str]:
    """Node ids a cut target names in ``plan``. Raises ``ValueError`` if none exist."""
    out: list[str] = []
    scope, _, member = target.partition(".")
    for s in plan.sessions:
        if target == "all":
            out.extend(s.members)
        elif target == "lead":
            out.append(s.lead)
        elif scope.startswith("p"):
            n = int(scope[1:])
            if 1 <= n <= len(s.partners):
                out.append(s.partners[n - 1])
        elif scope == f"s{s.index}":
            if not member:
                out.extend(s.members)
            elif member == "lead":
                out.append(s.lead)
            elif 1 <= int(member[1:]) <= len(s.partners):
                out.append(s.partners[int(member[1:]) - 1])
    if not out:
        raise ValueError(f"cut target {target!r} names no classroom of this run")
    return out


def random_cuts(plan: SimPlan, rate_per_min: float, rng: random.Random) -> list[FaultSpec]:
    """``rate_per_min`` random one-classroom cuts over the run (seeded)."""
    if rate_per_min <= 0:
        return []
    out: list[FaultSpec] = []
    t = rng.expovariate(rate_per_min / 60)
    while t < plan.duration_s - 5 and len(out) < MAX_FAULTS:
        s = rng.choice(plan.sessions)
        k = rng.randint(0, len(s.partners))
        target = f"s{s.index}.lead" if k == 0 else f"s{s.index}.p{k}"
        out.append(FaultSpec(round(t, 2), "cut", target, round(rng.uniform(5.0, 20.0), 2)))
        t += rng.expovariate(rate_per_min / 60)
    return out
