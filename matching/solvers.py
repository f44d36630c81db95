"""Registry: solver name -> solver function, so the command and the bench pick by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from matching.cpsat import solve_cpsat
from matching.greedy import solve_greedy
from matching.models import Instance, MatchResult

__all__ = ["SOLVERS", "Solver", "solve"]

Solver = Callable[[Instance, float], MatchResult]

SOLVERS: Final[dict[str, Solver]] = {"cpsat": solve_cpsat, "greedy": solve_greedy}


def solve(instance: Instance, solver: str = "cpsat", time_limit: float = 10.0) -> MatchResult:
    """Run the named solver; ``ValueError`` for an unknown name."""
    try:
        function = SOLVERS[solver]
    except KeyError:
        raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVERS)}") from None
    return function(instance, time_limit)
