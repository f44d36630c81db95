"""The ``dualclass report`` command and the coverage API's entry point.

Why a module of its own: the CLI (dualclass/cli.py) stays one-line wiring —
``add_arguments`` describes the flags, ``main`` maps them to ``run`` — and the API
route ``GET /api/reports/coverage`` awaits ``coverage_report`` on its own Redis
client. Exit status: 0 on success, 2 on invalid arguments, 3 when Redis cannot be
read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, timezone
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from broker.stack import redis_url_for
from ledger.exceptions import LedgerError
from ledger.formats import FORMATS
from ledger.formats.csvfmt import write_csv_dir
from ledger.formats.html import write_html
from ledger.formats.jsonfmt import write_json
from ledger.formats.xapi import statements, write_xapi
from ledger.report import DEFAULT_TZ, ReportWindow, build_report, parse_tz
from ledger.schema import CoverageReport
from ledger.store import load_term
from ledger.term import Term
from runtime.exceptions import ConfigError
from runtime.loop import run as run_loop

__all__ = [
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_STORE",
    "add_arguments",
    "coverage_report",
    "export",
    "load_window",
    "main",
    "run",
]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_STORE = 3
_DAY_MS = 86_400_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="from_",
        required=True,
        type=date.fromisoformat,
        metavar="DATE",
        help="first day, YYYY-MM-DD (inclusive)",
    )
    parser.add_argument(
        "--to",
        dest="to",
        required=True,
        type=date.fromisoformat,
        metavar="DATE",
        help="last day, YYYY-MM-DD (inclusive)",
    )
    parser.add_argument("--region", default=None, help="only partner schools of this region")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="json")
    parser.add_argument(
        "--out", required=True, type=Path, help="output file (json, xapi, html) or directory (csv)"
    )
    parser.add_argument("--redis", default=None, help="Redis URL (default: from the stack file)")
    parser.add_argument(
        "--stack-file",
        type=Path,
        default=None,
        help="stack file to find Redis (default var/stack/stack.json when it exists)",
    )
    parser.add_argument("--tz", default="+08:00", help="UTC offset of the dates and weeks")
    parser.add_argument(
        "--min-minutes",
        type=float,
        default=5.0,
        help="connected minutes for a partner classroom to count a lesson",
    )
    parser.add_argument(
        "--home-page",
        default="https://dualclass.example.org",
        help="xAPI account homePage and activity IRI base",
    )
    parser.add_argument(
        "--lang",
        choices=("en", "zh-CN"),
        default="en",
        help="language of the html format (the page's words; data stays as is)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    parser.add_argument(
        "--recording-dir",
        type=Path,
        default=None,
        help="the hub's recordings folder: recorded lessons get a replay link",
    )
    parser.add_argument(
        "--hub-url",
        default="",
        help="the hub's address for replay links, e.g. https://hub.example (default: relative)",
    )


def replay_links(recording_dir: Path | None, hub_url: str) -> dict[str, str]:
    """Session -> replay page address, for every recording under ``recording_dir``."""
    if recording_dir is None or not recording_dir.is_dir():
        return {}
    base = hub_url.rstrip("/")
    return {
        manifest.parent.name: f"{base}/replay/{manifest.parent.name}"
        for manifest in recording_dir.glob("*/recording.json")
    }


async def load_window(
    redis: Any, window: ReportWindow, *, records: bool = True, progress: bool = False
) -> Term:
    """The persisted term around ``window`` (a day of margin: lessons may start late).

    ``records`` is needed for xAPI only.
    """
    return await load_term(
        redis, window.lo_ms - _DAY_MS, window.hi_ms + _DAY_MS, records=records, progress=progress
    )


async def coverage_report(
    redis: Any,
    from_: date,
    to: date,
    region: str | None = None,
    *,
    tz: timezone = DEFAULT_TZ,
    min_minutes: float = 5.0,
    progress: bool = False,
) -> CoverageReport:
    """The coverage report for the API: read the persisted ledger, compute, return."""
    window = ReportWindow(from_, to, tz, region)
    term = await load_window(redis, window, records=False, progress=progress)
    return build_report(term, window, min_minutes=min_minutes, progress=progress)


def export(
    term: Term,
    window: ReportWindow,
    fmt: str,
    out: Path,
    *,
    min_minutes: float = 5.0,
    home_page: str = "https://dualclass.example.org",
    progress: bool = False,
    lang: str = "en",
    replays: dict[str, str] | None = None,
) -> list[Path]:
    """Write ``term`` over ``window`` in ``fmt`` to ``out``; the paths written."""
    if fmt == "xapi":
        items = statements(term, window, home_page=home_page, min_minutes=min_minutes)
        return [write_xapi(items, out)]
    report = build_report(term, window, min_minutes=min_minutes, progress=progress, replays=replays)
    if fmt == "json":
        return [write_json(report, out)]
    if fmt == "csv":
        return write_csv_dir(report, out)
    if fmt == "html":
        return [write_html(report, out, lang)]
    raise ValueError(f"unknown format {fmt!r}")


async def run(args: argparse.Namespace) -> int:
    try:
        tz = parse_tz(args.tz)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.to < args.from_:
        print("error: --to is before --from", file=sys.stderr)
        return EXIT_INPUT
    window = ReportWindow(args.from_, args.to, tz, args.region)
    try:
        args.redis = redis_url_for(args.redis, args.stack_file)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    client = aioredis.Redis.from_url(args.redis, decode_responses=False)
    try:
        term = await load_window(client, window, records=args.fmt == "xapi", progress=args.progress)
    except (redis.exceptions.RedisError, OSError) as exc:
        print(f"error: cannot read Redis at {args.redis}: {exc}", file=sys.stderr)
        return EXIT_STORE
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    finally:
        await client.aclose()
    paths = export(
        term,
        window,
        args.fmt,
        args.out,
        min_minutes=args.min_minutes,
        home_page=args.home_page,
        progress=args.progress,
        lang=getattr(args, "lang", "en"),
        replays=replay_links(args.recording_dir, args.hub_url),
    )
    print(
        f"{len(term.lessons)} sessions read; wrote {len(paths)} file(s) to {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass report ARGS``: parse ``argv``, run; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="dualclass report", description="Collaboration-coverage reports."
    )
    add_arguments(parser)
    return run_loop(run(parser.parse_args(argv)))
