"""The demo end to end: stack, hub process, one lead and three partner nodes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulators.demo import run_demo
from simulators.slides import write_deck


async def test_demo_lesson_reaches_every_classroom_in_order(tmp_path: Path) -> None:
    report = await run_demo(partners=3, duration=4.0, workdir=tmp_path, out=None)
    sequenced = report["events_sequenced"]
    assert sequenced >= 20  # start, 3 attendance, slides, hands, floor, quiz x3, end...
    assert report["lost"] == 0
    assert [n["role"] for n in report["nodes"]] == ["lead", "partner", "partner", "partner"]
    for row in report["nodes"]:
        assert row["received"] == sequenced
        assert row["last_seq"] == sequenced
    assert report["rejected"] == {"p3": {"forbidden_role": 1}}
    lat = report["latency_ms"]
    assert 0 <= lat["p50"] <= lat["p99"] <= lat["max"]
    # the generated deck was on every partner's disk before the lesson started
    deck = report["deck"]
    assert deck["pages"] == 8 and len(deck["id"]) == 32
    assert deck["ready"] == {"p1": True, "p2": True, "p3": True}


def test_headless_cli_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dualclass.cli",
            "demo",
            "--duration",
            "4",
            "--partners",
            "2",
            "--report",
            str(out),
            "--workdir",
            str(tmp_path / "run"),
            "--deck",
            str(write_deck(tmp_path / "own.pdf", 3)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert {"session", "events_sequenced", "nodes", "lost", "latency_ms"} <= set(report)
    assert report["lost"] == 0
    assert report["deck"]["pages"] == 3 and report["deck"]["ready"] == {"p1": True, "p2": True}
    assert {"p50", "p99", "max"} <= set(report["latency_ms"])
    assert {"node", "role", "received", "last_seq", "gaps_repaired", "duplicates_dropped"} <= set(
        report["nodes"][0]
    )


async def test_demo_with_media_partners_decode_the_lead_video(tmp_path: Path) -> None:
    """The whole lesson: events through the hub and video through its relay."""
    report = await run_demo(partners=2, duration=4.0, workdir=tmp_path, out=None, with_media=True)
    assert report["lost"] == 0
    for partner in ("p1", "p2"):
        stats = report["media"][partner]
        assert stats["fps"] > 0, stats
        assert stats["bitrate_kbps"] > 0, stats


def test_demo_over_tls_reports_its_tls_endpoints(tmp_path: Path) -> None:
    """``dualclass demo --tls``: MQTT/TLS and HTTPS/WSS with the local CA, end to end."""
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dualclass.cli",
            "demo",
            "--tls",
            "--duration",
            "4",
            "--partners",
            "2",
            "--report",
            str(out),
            "--workdir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["lost"] == 0
    endpoints = report["endpoints"]
    assert endpoints["mqtt"].startswith("mqtts://127.0.0.1:")
    assert endpoints["api"].startswith("https://127.0.0.1:")
    assert all(link.startswith(endpoints["api"] + "/console/") for link in report["links"].values())
    stack = json.loads((tmp_path / "run" / "stack" / "stack.json").read_text())
    assert stack["tls"] and endpoints["mqtt"].endswith(f":{stack['mqtt']['port']}")


async def test_demo_with_media_feeds_the_classroom_display(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The printed display link shows the lead's video: the node hands it its media."""
    import simulators.demo as demo
    from classroom_node.display.bridge import DisplayBridge

    started: dict[str, Any] = {}
    real_start = demo._start_media

    async def spy(run: Any, nodes: dict[str, Any], lead: str) -> Any:
        started.update(nodes)
        return await real_start(run, nodes, lead)

    monkeypatch.setattr(demo, "_start_media", spy)

    async def display_has_video(links: dict[str, str]) -> bool:
        node = started["p1"]
        session = next(iter(node.sessions))
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            if DisplayBridge(node).available(session)["main"]:
                return True
            await asyncio.sleep(0.1)
        return False

    report = await run_demo(
        partners=2,
        duration=4.0,
        workdir=tmp_path,
        out=None,
        with_media=True,
        during=display_has_video,
    )
    assert report["during"] is True


def test_demo_state_removal_keeps_a_recording_made_in_it(tmp_path: Path) -> None:
    """``demo --record`` without ``--recording-dir`` records into its temporary state
    dir: the rest of the state goes, the recording stays where the demo said."""
    from simulators.demo import _remove_state

    for workdir, keep in ((tmp_path / "a", True), (tmp_path / "b", False)):
        (workdir / "stack").mkdir(parents=True)
        (workdir / "stack" / "stack.json").write_text("{}")
        (workdir / "deck.pdf").write_bytes(b"%PDF")
        (workdir / "recordings" / "demo-1").mkdir(parents=True)
        (workdir / "recordings" / "demo-1" / "lead.webm").write_bytes(b"webm")
        _remove_state(workdir, keep_recordings=keep)
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["recordings"]
    assert (tmp_path / "a" / "recordings" / "demo-1" / "lead.webm").read_bytes() == b"webm"
    assert not (tmp_path / "b").exists()
