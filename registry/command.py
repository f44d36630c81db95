"""``dualclass import schools|classrooms|teachers FILE``: bulk registry import.

Why all-or-nothing: a half-imported file leaves the operator guessing which rows
made it. Every bad row is printed as ``FILE line N: reason`` (all of them, then the
exit status is 2 and nothing is written); referential rules (a classroom's school
exists, its node is registered, ...) are checked against the live registry inside
the same Redis transaction that writes. Rows whose id exists replace the stored
entry, so a corrected file can simply be imported again.

Redis is found from ``--redis URL``, else the stack file (``--stack-file``, default
``var/stack/stack.json`` when it exists), else ``DUALCLASS_HUB_REDIS_URL`` / the
hub's default (``broker.stack.redis_url_for``). Exit: 0 imported, 2 invalid input,
1 Redis unreachable or config unusable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import redis.asyncio as aioredis

from broker.stack import DEFAULT_STACK_FILE, redis_url_for
from registry.csvio import parse
from registry.exceptions import ImportRejected, RegistryUnavailable, RowError
from registry.models import Kind
from registry.store import ImportSummary, RegistryStore
from runtime.exceptions import ConfigError
from runtime.loop import run as run_loop

__all__ = ["EXIT_INPUT", "EXIT_OK", "EXIT_UNAVAILABLE", "add_arguments", "main", "run"]

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_INPUT = 2


async def _import(url: str, kind: Kind, file: str, text: str) -> ImportSummary:
    rows, errors = parse(kind, text)
    if errors:
        raise ImportRejected(file, errors)
    client = aioredis.Redis.from_url(url)
    try:
        return await RegistryStore(client).import_rows(kind, rows, file=file)
    finally:
        await client.aclose()


def _report(file: str, errors: list[RowError]) -> None:
    for error in errors:
        where = f"{file} line {error.line}" if error.line is not None else file
        print(f"error: {where}: {error.message}", file=sys.stderr)
    print(f"{file}: {len(errors)} problem(s); nothing imported", file=sys.stderr)


def run(kind: Kind, file: Path, url: str) -> int:
    """Import ``file`` as ``kind`` into the registry at ``url``; the exit status."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {file}: cannot read as UTF-8 text ({exc})", file=sys.stderr)
        return EXIT_INPUT
    try:
        summary = run_loop(_import(url, kind, str(file), text))
    except ImportRejected as exc:
        _report(str(file), exc.errors)
        return EXIT_INPUT
    except RegistryUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(f"{kind.value}: {summary.created} created, {summary.updated} updated from {file}")
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``dualclass import``."""
    parser.add_argument("kind", choices=[k.value for k in Kind], help="what the file holds")
    parser.add_argument("file", type=Path, help="CSV file (header row required)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--redis", metavar="URL", help="Redis URL, e.g. redis://127.0.0.1:6379/0")
    where.add_argument(
        "--stack-file", type=Path, help=f"stack file to find Redis (default {DEFAULT_STACK_FILE})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass import ARGS``: parse ``argv``, run; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="dualclass import", description="Import schools/classrooms/teachers from CSV."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        url = redis_url_for(args.redis, args.stack_file)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return run(Kind(args.kind), args.file, url)
