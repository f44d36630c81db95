"""``dualclass sim`` end to end: real stack, hub process, nodes in worker processes.

Short runs (a few sessions, one fault) that check what an operator relies on: the
accounting adds up with nothing lost, a cut classroom recovers, and on a hub the
simulator did not start it leaves no synthetic registry entry behind, also when
the run is interrupted (Ctrl-C cancels the run the same way).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from simulators.harness import LocalRun
from simulators.sim.faultplan import parse_fault
from simulators.sim.runner import RunOptions, run_sim

pytestmark = pytest.mark.timeout(150)


def _accounting_holds(report: dict[str, Any]) -> None:
    ev = report["events"]
    assert ev["submitted"] > 0
    assert ev["submitted"] == ev["sequenced"] + sum(ev["rejected"].values()), ev
    assert ev["lost"] == 0, ev
    assert ev["duplicated"] == 0, ev
    assert report["latency_ms"]["count"] > 0


async def test_short_run_with_a_cut_accounts_for_every_event(tmp_path: Path) -> None:
    options = RunOptions(
        sessions=3,
        partners=2,
        duration_s=11,
        workers=2,
        seed=7,
        prefix="tcut",
        faults=[parse_fault("3s:cut:p1:3s")],
        heartbeat_s=2.0,
        workdir=tmp_path,
    )
    report = await run_sim(options, out=None)
    assert not report["interrupted"]
    assert (report["sessions"], report["classrooms"]) == (3, 9)
    _accounting_holds(report)
    [fault] = report["faults"]
    assert (fault["kind"], fault["target"], fault["classrooms"]) == ("cut", "p1", 3)
    # every cut classroom came back and applied the lesson's later events
    assert fault["recovery_s"] is not None and 0 < fault["recovery_s"] < 10
    assert report["nodes"]["reconnected_classrooms"] >= 3
    # the hub's own metrics were read
    assert report["hub"]["rss_mb"] and report["hub"]["rss_mb"] > 10
    assert report["hub"]["cpu_s_per_s"] is not None


async def _registry(run: LocalRun) -> dict[str, list[str]]:
    return {
        "nodes": [n["node"] for n in await run.api("GET", "/api/nodes")],
        "sessions": [s["spec"]["session"] for s in await run.api("GET", "/api/sessions")],
        "schools": [s["id"] for s in await run.api("GET", "/api/schools")],
        "classrooms": [c["id"] for c in await run.api("GET", "/api/classrooms")],
    }


async def test_existing_deployment_is_left_as_found(tmp_path: Path) -> None:
    async with LocalRun(tmp_path / "deployment") as run:
        assert run.stack is not None and run.hub is not None
        # what the operator had before: must survive the clean-up untouched
        await run.register_node("real-box")
        await run.api(
            "POST", "/api/schools", json={"id": "real-school", "name": "No. 2", "kind": "lead"}
        )
        before = await _registry(run)
        remote = {
            "hub_url": run.hub.base_url,
            "admin_key": str(run.stack.data["admin_key"]),
            "mqtt": f"127.0.0.1:{run.stack.mqtt_port}",
        }
        report = await run_sim(
            RunOptions(
                sessions=2,
                partners=2,
                duration_s=6,
                workers=2,
                prefix="tremote",
                workdir=tmp_path / "sim",
                **remote,
            ),
            out=None,
        )
        _accounting_holds(report)
        assert report["cleanup"]["left"] == {}
        assert report["cleanup"]["removed"]["nodes"] == 6
        assert await _registry(run) == before

        # interrupted after registering (Ctrl-C cancels the run): still cleaned up
        task = asyncio.create_task(
            run_sim(
                RunOptions(
                    sessions=2,
                    partners=2,
                    duration_s=60,
                    workers=1,
                    prefix="tstop",
                    workdir=tmp_path / "sim2",
                    **remote,
                ),
                out=None,
            )
        )
        deadline = time.monotonic() + 60
        while not any(s.startswith("tstop-") for s in (await _registry(run))["sessions"]):
            assert time.monotonic() < deadline, "the interrupted run never created its sessions"
            assert not task.done(), task.result()
            await asyncio.sleep(0.1)
        task.cancel()
        interrupted = await task
        assert interrupted["interrupted"] is True
        assert interrupted["cleanup"]["left"] == {}
        assert await _registry(run) == before


async def test_media_reaches_every_partner_decoded_and_counted(tmp_path: Path) -> None:
    report = await run_sim(
        RunOptions(
            sessions=1,
            partners=2,
            duration_s=8,
            workers=1,
            media=True,
            prefix="tmedia",
            workdir=tmp_path,
        ),
        out=None,
    )
    _accounting_holds(report)
    video = report["video"]
    # p1 decodes the lead's picture (node media code), p2 counts encoded frames
    assert set(video["per_classroom"]) == {"tmedia-s0-p1", "tmedia-s0-p2"}
    assert all(c["fps_mean"] > 5 for c in video["per_classroom"].values()), video
    assert report["hub"]["cpu_s_per_s_per_partner_stream"] is not None
