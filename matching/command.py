"""The ``dualclass match`` command: CSV files in, a short summary and a JSON file out.

Why a module of its own: the CLI (dualclass/cli.py) stays a one-line wiring —
``add_arguments`` describes the flags, ``main`` maps them to ``run`` — and ``run`` is a
plain function that tests call with paths. Exit status: 0 on success, 2 on invalid
input (the message on stderr names file, line and field).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from matching.csvio import read_instance
from matching.exceptions import MatchingError
from matching.models import MatchResult
from matching.solvers import SOLVERS, solve

__all__ = ["EXIT_INPUT", "EXIT_OK", "add_arguments", "main", "run", "summary"]

EXIT_OK = 0
EXIT_INPUT = 2


def summary(result: MatchResult, requests: int) -> str:
    """A few human lines: what was served, how good it is, why the rest is not."""
    served = len(result.assignments)
    if result.optimal:
        quality = "proven optimal"
    elif result.gap is not None:
        quality = f"not proven optimal, gap {result.gap:.4%} to bound"
    else:
        quality = "heuristic, no bound"
    lines = [
        f"{result.solver}: served {served}/{requests} requests in {result.seconds:.2f}s"
        f" ({quality})",
        f"priority served {result.priority_served}, existing pairs kept {result.pairs_kept}",
    ]
    counts: dict[str, int] = {}
    for item in result.unmatched:
        counts[item.reason.value] = counts.get(item.reason.value, 0) + 1
    if counts:
        lines.append(
            "unserved: " + ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))
        )
    return "\n".join(lines)


def run(
    offers: Path,
    requests: Path,
    pairs: Path | None,
    solver: str = "cpsat",
    time_limit: float = 10.0,
    out: Path | None = None,
) -> int:
    """Read, solve, print a summary, write the JSON to ``out`` (stdout when None).

    With ``out=None`` the JSON goes to stdout and the summary to stderr, so the
    output can be piped.
    """
    if solver not in SOLVERS:
        print(f"error: unknown solver {solver!r}; choose from {sorted(SOLVERS)}", file=sys.stderr)
        return EXIT_INPUT
    if time_limit <= 0:
        print("error: --time-limit must be > 0 seconds", file=sys.stderr)
        return EXIT_INPUT
    try:
        instance = read_instance(offers, requests, pairs)
    except MatchingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    result = solve(instance, solver, time_limit)
    text = summary(result, len(instance.requests))
    document = result.to_json() + "\n"
    human: TextIO = sys.stdout
    if out is None:
        human = sys.stderr
        sys.stdout.write(document)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document, encoding="utf-8")
        text += f"\nwrote {out}"
    print(text, file=human)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``dualclass match``."""
    parser.add_argument("--offers", type=Path, required=True, help="offers.csv")
    parser.add_argument("--requests", type=Path, required=True, help="requests.csv")
    parser.add_argument("--pairs", type=Path, default=None, help="pairs.csv (optional)")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="cpsat")
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="seconds for the solver (default 10)"
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write result JSON")


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass match ARGS``: parse ``argv``, run; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="dualclass match", description="Pair lead offers with partner requests."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.offers, args.requests, args.pairs, args.solver, args.time_limit, args.out)
