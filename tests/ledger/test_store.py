"""store.py against a real Redis: save/load, restart mid-lesson, rebuild, reports."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from broker.localstack import RedisServer
from ledger import Ledger, ReportWindow, build_report, store, term_from_ledger
from ledger.command import add_arguments, coverage_report, run
from ledger.inputs import BrowserInput, HeartbeatInput, LedgerInput, PresenceInput
from protocols.codec import encode
from protocols.messages import Envelope
from tests.ledger.script import DIRECTORY, FIRST_DAY, LAST_DAY, TZ, build_script, inputs

PLANS = build_script()
RECORDS = inputs(PLANS)


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Any]:
    r = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    yield r
    await r.aclose()


async def _hub_feed(r: Any, ledger: Ledger, records: list[LedgerInput]) -> None:
    """What the hub does: append to the record, then feed; save now and then."""
    for i, record in enumerate(records):
        if isinstance(record, Envelope):
            await r.xadd(
                f"dc:s:{record.session}:log",
                {
                    "d": encode(record),
                    "id": record.id,
                    "type": record.type,  # type: ignore[attr-defined]
                    "src": record.src or "",
                    "ts": record.ts,
                },
                id=f"{record.seq}-0",
            )
        else:
            assert isinstance(record, PresenceInput | HeartbeatInput | BrowserInput)
            await store.append_input(r, record)
        ledger.feed(record)
        if i % 50 == 0:
            await store.save(r, ledger)


def _figures(ledger: Ledger) -> list[object]:
    return [ledger.figures(p.info.session, p.info) for p in PLANS]


async def test_save_load_rebuild(client: Any) -> None:
    live = Ledger()
    await _hub_feed(client, live, RECORDS)
    await store.save(client, live)
    sids = [p.info.session for p in PLANS]
    loaded = await store.load(client, sids)
    assert _figures(loaded) == _figures(live)
    rebuilt = await store.rebuild_from_streams(client, sids)
    assert _figures(rebuilt) == _figures(live)
    assert await store.save(client, live) == 0  # nothing dirty


async def test_restart_mid_lesson_then_catch_up(client: Any) -> None:
    cut = len(RECORDS) // 2
    first = Ledger()
    await _hub_feed(client, first, RECORDS[:cut])
    await store.save(client, first)
    # events sequenced while the hub was down: in the log, never fed or saved
    gap = [r for r in RECORDS[cut : cut + 40] if isinstance(r, Envelope)]
    for record in gap:
        await client.xadd(f"dc:s:{record.session}:log", {"d": encode(record)}, id=f"{record.seq}-0")
    sids = [p.info.session for p in PLANS]
    restarted = await store.load(client, sids)
    for sid in sids:
        await store.catch_up(client, restarted, sid)
    rest = [r for r in RECORDS[cut:] if r not in gap]
    await _hub_feed(client, restarted, rest)
    expected = Ledger()
    expected.feed_many(RECORDS)
    assert _figures(restarted) == _figures(expected)


async def test_report_from_redis_and_command(
    client: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    live = Ledger()
    await _hub_feed(client, live, RECORDS)
    await store.save(client, live)
    await store.put_directory(client, DIRECTORY)
    for plan in PLANS:
        await store.put_session(client, plan.info)
    assert await store.get_directory(client) == DIRECTORY
    report = await coverage_report(client, FIRST_DAY, LAST_DAY, None, tz=TZ)
    term = term_from_ledger(live, [p.info for p in PLANS], DIRECTORY)
    assert report == build_report(term, ReportWindow(FIRST_DAY, LAST_DAY, TZ))

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "r.json"
    args = parser.parse_args(
        [
            "--from",
            FIRST_DAY.isoformat(),
            "--to",
            LAST_DAY.isoformat(),
            "--format",
            "json",
            "--out",
            str(out),
            "--redis",
            redis_server.url,
            "--no-progress",
        ]
    )
    assert await run(args) == 0
    assert json.loads(out.read_text())["summary"]["lessons"] == report.summary.lessons
    csv_args = parser.parse_args(
        [
            "--from",
            FIRST_DAY.isoformat(),
            "--to",
            LAST_DAY.isoformat(),
            "--format",
            "csv",
            "--out",
            str(tmp_path / "csv"),
            "--redis",
            redis_server.url,
            "--region",
            "R1",
            "--no-progress",
        ]
    )
    assert await run(csv_args) == 0
    assert (tmp_path / "csv" / "schools.csv").exists()
    bad = parser.parse_args(
        ["--from", LAST_DAY.isoformat(), "--to", FIRST_DAY.isoformat(), "--out", str(out)]
    )
    assert await run(bad) == 2
