"""Video layers in the ledger: wire form, minutes per layer within connected time,
switches, persistence, and every report format (JSON, CSV, HTML zh/en, xAPI)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from broker.localstack import RedisServer
from i18n.catalogue import messages
from ledger import Ledger, ReportWindow, build_report, store, term_from_ledger
from ledger.directory import SessionInfo
from ledger.exceptions import LedgerInputError
from ledger.formats.csvfmt import write_csv_dir
from ledger.formats.html import to_html
from ledger.formats.jsonfmt import read_json, write_json
from ledger.formats.xapi import statements
from ledger.inputs import LayerInput, LedgerInput, PresenceInput, from_wire, to_wire
from ledger.snapshot import state_fields, state_from_fields
from protocols.codec import encode
from protocols.ids import new_id
from protocols.messages import Envelope, LessonEnd, LessonStart
from tests.ledger.script import BASE, DIRECTORY, FIRST_DAY, TZ
from tests.ledger.xapi_validator import validate_statement

MIN = 60_000
T0 = int(BASE.timestamp() * 1000) + 8 * 3_600_000  # Monday 08:00 +08:00


def _info() -> SessionInfo:
    return SessionInfo(
        session="S1",
        lead_classroom="l1",
        lead_teacher="T1",
        lead_school="L1",
        partners={"c11": "P1", "c21": "P2"},
        subject="math",
        grade=4,
        scheduled_start=T0,
        scheduled_end=T0 + 40 * MIN,
    )


def _records() -> list[LedgerInput]:
    """A 40-minute lesson: c11 on a weak link (low, up, down again, offline a while),
    c21 on high throughout."""
    records: list[LedgerInput] = [LessonStart(id=new_id(), session="S1", seq=1, ts=T0, src="l1")]
    records += [PresenceInput(node, True, T0 - MIN) for node in ("l1", "c11", "c21")]
    records.append(PresenceInput("c11", False, T0 + 30 * MIN))  # 5 minutes away
    records.append(PresenceInput("c11", True, T0 + 35 * MIN))
    records += [
        LayerInput("S1", "c11", T0 - MIN, "low", "start"),  # before the start: from the start
        LayerInput("S1", "c11", T0 + 10 * MIN, "high", "stable"),
        LayerInput("S1", "c11", T0 + 20 * MIN, "low", "loss"),
        LayerInput("S1", "c11", T0 + 30 * MIN, None, "left"),
        LayerInput("S1", "c11", T0 + 35 * MIN, "low", "start"),  # same layer again: no switch
        LayerInput("S1", "c21", T0, "high", "start"),
    ]
    records.append(LessonEnd(id=new_id(), session="S1", seq=2, ts=T0 + 40 * MIN, src="l1"))
    return records


RECORDS = _records()


def _ledger() -> Ledger:
    ledger = Ledger()
    for record in RECORDS:
        assert ledger.feed(record)
    assert not ledger.feed(LayerInput("S1", "c11", T0 + 10 * MIN, "high", "stable"))  # again
    return ledger


def test_layer_input_round_trips_and_refuses_unknown_layers() -> None:
    for record in (
        LayerInput("S1", "c11", 1000, "low", "loss"),
        LayerInput("S1", "c11", 2000, None, "left"),
    ):
        assert from_wire(to_wire(record)) == record
    bad = to_wire(LayerInput("S1", "c11", 1000, "ultra", "x"))  # type: ignore[arg-type]
    with pytest.raises(LedgerInputError):
        from_wire(bad)


def test_minutes_per_layer_within_connected_time_and_switches() -> None:
    ledger = _ledger()
    fig = ledger.figures("S1", _info())
    c11, c21 = fig.classroom("c11"), fig.classroom("c21")
    assert c11 is not None and c21 is not None
    # low 0-10, high 10-20, low 20-30, away 30-35, low 35-40
    assert (c11.high_ms, c11.low_ms) == (10 * MIN, 25 * MIN)
    assert c11.high_ms + c11.low_ms == c11.connected_ms
    assert c11.layer_switches == 2
    assert (c21.high_ms, c21.low_ms, c21.layer_switches) == (40 * MIN, 0, 0)

    restored = state_from_fields("S1", state_fields(ledger.sessions["S1"]))
    assert restored.layers == ledger.sessions["S1"].layers


async def test_layers_survive_save_load_and_a_rebuild_from_redis(
    redis_server: RedisServer,
) -> None:
    r = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    try:
        live = Ledger()
        for record in [*RECORDS, LayerInput("S9", "c11", T0, "low", "start")]:  # not wanted
            if isinstance(record, Envelope):
                await r.xadd(
                    f"dc:s:{record.session}:log", {"d": encode(record)}, id=f"{record.seq}-0"
                )
            else:
                await store.append_input(r, record)
            live.feed(record)
        await store.save(r, live)
        expected = live.figures("S1", _info())
        loaded = await store.load(r, ["S1"], {"l1", "c11", "c21"})
        rebuilt = await store.rebuild_from_streams(r, ["S1"])
        for ledger in (loaded, rebuilt):
            assert ledger.figures("S1", _info()) == expected
        assert "S9" not in rebuilt.sessions
    finally:
        await r.aclose()


def test_every_report_format_shows_layers_per_classroom(tmp_path: Path) -> None:
    term = term_from_ledger(_ledger(), [_info()], DIRECTORY)
    window = ReportWindow(FIRST_DAY, FIRST_DAY, TZ)
    report = build_report(term, window)
    rows = {r.classroom: r for r in report.classrooms}
    assert rows["c11"].low_minutes == 25.0 and rows["c11"].high_minutes == 10.0
    assert rows["c11"].layer_switches == 2 and rows["c11"].low_share == round(25 / 35, 3)
    assert rows["c21"].high_minutes == 40.0 and rows["c21"].low_share == 0.0
    assert (report.summary.high_minutes, report.summary.low_minutes) == (50.0, 25.0)
    assert report.summary.layer_switches == 2

    back = read_json(write_json(report, tmp_path / "r.json"))
    assert back.classrooms == report.classrooms
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["classrooms"][0]["classroom"] == "c11"

    write_csv_dir(report, tmp_path / "csv")
    with (tmp_path / "csv" / "classrooms.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [(r["classroom"], r["low_minutes"], r["layer_switches"]) for r in table] == [
        ("c11", "25.0", "2"),
        ("c21", "0.0", "0"),
    ]

    for lang, words in (("en", "Minutes on low video"), ("zh-CN", "流畅视频分钟")):
        page = to_html(report, messages(lang))
        assert words in page and messages(lang).t("report.table.classrooms") in page

    items = statements(term, window)
    assert all(not validate_statement(s) for s in items)
    layers = {
        s["actor"]["account"]["name"]: ext
        for s in items
        for key, ext in s.get("result", {}).get("extensions", {}).items()
        if key.endswith("/xapi/video-layers")
    }
    assert layers["c11"] == {"high_ms": 10 * MIN, "low_ms": 25 * MIN, "switches": 2}
    assert "l1" not in layers  # the lead sends; it receives no layer
