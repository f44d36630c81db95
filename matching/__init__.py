"""Matching of lead offers to partner requests (issue 3).

What lives here, one job per module:

- ``models``      frozen value objects: Offer, Request, Pair, Instance, Assignment,
                  Unmatched, MatchResult (with its JSON form).
- ``exceptions``  ``MatchingError`` root, ``InputError`` (file, line, field) and
                  ``InstanceError`` (an instance that breaks an invariant).
- ``feasibility`` which (request, offer) edges may exist at all; checking and scoring
                  an assignment.
- ``greedy``      the baseline and the "fill" step that makes any assignment maximal.
- ``cpsat``       the exact model for OR-Tools CP-SAT.
- ``reasons``     why each unserved request is unserved (a pure function of the result).
- ``solvers``     registry: solver name -> function.
- ``synthetic``   a seeded generator of realistic districts (tests and bench).
- ``csvio``       the only module that reads files: the three CSV formats.
- ``command``     the ``dualclass match`` command: files in, summary + JSON out.

Everything except ``csvio`` and ``command`` is pure: no file, network or clock
access other than the solver's own time limit. May import: ``protocols`` and ortools.
"""

from __future__ import annotations

from matching.exceptions import InputError, InstanceError, MatchingError
from matching.models import (
    Assignment,
    Instance,
    MatchResult,
    Offer,
    Pair,
    Reason,
    Request,
    Unmatched,
)
from matching.solvers import SOLVERS, solve

__all__ = [
    "SOLVERS",
    "Assignment",
    "InputError",
    "Instance",
    "InstanceError",
    "MatchResult",
    "MatchingError",
    "Offer",
    "Pair",
    "Reason",
    "Request",
    "Unmatched",
    "solve",
]
