"""Benchmark of the participation ledger and the coverage report (issue 5).

    .venv/bin/python bench/report.py [--schools 200 --weeks 18 --lessons-per-week 10]
                                     [--heartbeat-s 30] [--json FILE]

A synthetic term (ledger.synthetic) is generated week by week; only feeding the
pure ``Ledger`` is timed (generation is not). Figures printed:

- ingest: records/s fed to ``Ledger.feed`` from already-decoded objects (all
  inputs: lesson events, presence, heartbeats), and lesson events alone;
- ingest with decode: the first week again, from msgpack bytes as the hub stores
  them (``protocols.codec.decode`` for events, ``inputs.from_wire`` for records);
- report: figures of every session (``term_from_ledger``) + ``build_report``.

Goal on the 2-core box: >= 20,000 events/s ingested, full-term report <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.aggregate import Ledger
from ledger.inputs import BrowserInput, HeartbeatInput, PresenceInput, from_wire, to_wire
from ledger.report import ReportWindow, build_report
from ledger.synthetic import TERM_START, make_term
from ledger.term import term_from_ledger
from protocols.codec import decode, encode
from protocols.messages import Envelope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=18)
    parser.add_argument("--lessons-per-week", type=int, default=10)
    parser.add_argument("--heartbeat-s", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)

    term = make_term(
        args.schools,
        args.weeks,
        args.lessons_per_week,
        heartbeat_s=args.heartbeat_s,
        seed=args.seed,
    )
    infos = term.infos()
    ledger = Ledger()
    fed = events = 0
    feed_s = 0.0
    event_s = 0.0
    first_week = None
    for week in tqdm(range(args.weeks), desc="ingest", unit="week", disable=not args.progress):
        records = term.week_inputs(week)
        if first_week is None:
            first_week = records
        lesson_events = [r for r in records if isinstance(r, Envelope)]
        t0 = time.perf_counter()
        feed = ledger.feed
        for record in records:
            feed(record)
        feed_s += time.perf_counter() - t0
        fed += len(records)
        events += len(lesson_events)
        # lesson events alone, into a scratch ledger (what the sequencer feeds per event)
        scratch = Ledger()
        t0 = time.perf_counter()
        for record in lesson_events:
            scratch.feed(record)
        event_s += time.perf_counter() - t0

    assert first_week is not None
    wire: list[tuple[bool, bytes]] = []
    for record in first_week:
        if isinstance(record, PresenceInput | HeartbeatInput | BrowserInput):
            wire.append((False, to_wire(record)))
        else:
            wire.append((True, encode(record)))
    decoded = Ledger()
    t0 = time.perf_counter()
    for is_event, data in wire:
        decoded.feed(decode(data) if is_event else from_wire(data))
    decode_s = time.perf_counter() - t0
    n_wire_events = sum(1 for e, _ in wire if e)
    t0 = time.perf_counter()
    for is_event, data in wire:
        if is_event:
            decode(data)
    decode_events_s = time.perf_counter() - t0

    window = ReportWindow(TERM_START.date(), TERM_START.date() + timedelta(days=7 * args.weeks - 1))
    t0 = time.perf_counter()
    full = term_from_ledger(ledger, infos, term.directory, records=False)
    figures_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = build_report(full, window, progress=args.progress)
    build_s = time.perf_counter() - t1
    report_s = figures_s + build_s

    out = {
        "schools": args.schools,
        "weeks": args.weeks,
        "lessons_per_week": args.lessons_per_week,
        "heartbeat_s": args.heartbeat_s,
        "sessions": len(infos),
        "records": fed,
        "lesson_events": events,
        "ingest_events_per_s": round(fed / feed_s),
        "ingest_lesson_events_per_s": round(events / event_s),
        "ingest_with_decode_per_s": round(len(wire) / decode_s),
        "decode_lesson_events_per_s": round(n_wire_events / decode_events_s),
        "figures_seconds": round(figures_s, 3),
        "build_report_seconds": round(build_s, 3),
        "report_seconds": round(report_s, 3),
    }
    print(
        f"term: {args.schools} partner schools x {args.weeks} weeks x "
        f"{args.lessons_per_week} lessons/week = {len(infos)} sessions, {fed:,} records "
        f"({events:,} lesson events, heartbeat every {args.heartbeat_s}s)\n"
        f"ingest (decoded objects):     {out['ingest_events_per_s']:>12,} records/s\n"
        f"ingest (lesson events only):  {out['ingest_lesson_events_per_s']:>12,} events/s\n"
        f"ingest incl. msgpack decode:  {out['ingest_with_decode_per_s']:>12,} records/s"
        f" (week 1; events alone decode at {out['decode_lesson_events_per_s']:,}/s)\n"
        f"report: figures {figures_s:.2f}s + build {build_s:.2f}s = {report_s:.2f}s"
        f" ({report.summary.partner_schools} schools, {report.summary.school_lessons:,}"
        f" school-lessons, weekly reach {report.summary.weekly_reach_share or 0:.1%})"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
