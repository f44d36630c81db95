"""Recording through a real hub: aiortc peers, the relay, the recorder, the API, the ledger."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from hub.media.routing import Role, Slot
from hub.tokens import JoinRole
from protocols.signalling import SignalAck, SignalJoin
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import read_pattern
from tests.hub.hubkit import wait_for
from tests.hub.signalling.peers import token

from .conftest import RecHub, publisher

pytestmark = pytest.mark.timeout(90)


def _sources(path: Path) -> dict[int, int]:
    """Decode ``path`` from first frame to last; pattern source -> frames showing it."""
    seen: dict[int, int] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pattern = read_pattern(frame)
            if pattern is not None:
                seen[pattern[0]] = seen.get(pattern[0], 0) + 1
    return seen


async def _manifest(rec: RecHub, status: str) -> dict:  # type: ignore[type-arg]
    async with rec.admin() as http:

        async def done() -> dict | None:  # type: ignore[type-arg]
            r = await http.get("/api/recordings/S1")
            if r.status_code != 200:
                return None
            data = r.json()
            ok = data["manifest"]["status"] == status and (
                status != "complete" or data["timeline"] is not None
            )
            return data if ok else None

        return await wait_for(done, within=20, what=f"recording {status}")


async def test_lesson_recorded_floor_turn_api_and_ledger(rec_hub: RecHub) -> None:
    rec = rec_hub
    async with rec.admin() as http:
        # the API marks the session (its spec said nothing, the hub default is off)
        assert (await http.put("/api/sessions/S1/recording", json={"record": True})).json()[
            "record"
        ]
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    p1_join = SignalJoin(node="p1", secret=rec.nodes["p1"].secret, session="S1", events=False)
    async with (
        publisher(rec.url, lead_join, Role.LEAD, source=1) as lead,
        publisher(rec.url, p1_join, Role.PARTNER, source=2),
    ):
        assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
        await _manifest(rec, "recording")
        await lead.client.interact("slide.show", {"deck": "d", "index": 1})
        await wait_for(
            lambda: lead.client.state is not None and lead.client.state.slide,
            within=5,
            what="slide",
        )
        t_grant = time.monotonic()
        await lead.client.interact("floor.grant", {"node": "p1"})
        room = rec.hub.app.state.signalling.room("S1")
        await wait_for(
            lambda: room.recorder is not None and room.recorder.frames > 60,
            within=10,
            what="frames recorded",
        )
        await wait_for(lambda: time.monotonic() - t_grant > 2.0, within=5, what="floor time")
        await lead.client.interact("floor.revoke")
        await lead.client.interact("lesson.end")
        data = await _manifest(rec, "complete")

    manifest, timeline = data["manifest"], data["timeline"]
    names = {f["name"]: f for f in manifest["files"]}
    assert set(names) == {"lead.webm", "floor-01-p1.webm"}, names
    folder = rec.folder / "S1"
    # each file holds its own publisher's picture, decodable from first frame to last
    assert set(_sources(folder / "lead.webm")) == {1}
    assert set(_sources(folder / "floor-01-p1.webm")) == {2}
    floor = names["floor-01-p1.webm"]
    grant = next(e for e in timeline["events"] if e["type"] == "floor.grant")
    revoke = next(e for e in timeline["events"] if e["type"] == "floor.revoke")
    # the floor turn sits where the grant and revoke are on the lesson timeline
    # (1 s of slack before: the test source stamps frames it makes late with their
    # scheduled time, so on a loaded machine its clock runs behind the wall's)
    assert grant["t"] - 1.0 <= floor["offset_s"] <= grant["t"] + 1.5
    assert floor["offset_s"] + floor["duration_s"] <= revoke["t"] + 0.5
    assert {e["type"] for e in timeline["events"]} >= {"lesson.start", "slide.show", "lesson.end"}

    async with rec.admin() as http:
        listed = (await http.get("/api/recordings")).json()
        assert [m["session"] for m in listed] == ["S1"]
        # readers: a join token for S1 (header or ?token=), a member node's credentials
        tutor = token(JoinRole.TUTOR, node="p1")
        assert (
            await http.get("/api/recordings/S1", headers={"Authorization": ""})
        ).status_code == 401
        anon = {"Authorization": ""}
        ok = await http.get(f"/api/recordings/S1?token={tutor}", headers=anon)
        assert ok.status_code == 200
        basic = base64.b64encode(f"p2:{rec.nodes['p2'].secret}".encode()).decode()
        assert (
            await http.get("/api/recordings/S1", headers={"Authorization": f"Basic {basic}"})
        ).status_code == 200
        wrong = base64.b64encode(b"p2:nope").decode()
        assert (
            await http.get("/api/recordings/S1", headers={"Authorization": f"Basic {wrong}"})
        ).status_code == 401
        other = token(JoinRole.OBSERVER, session="S2")
        assert (
            await http.get(f"/api/recordings/S1?token={other}", headers=anon)
        ).status_code == 403
        assert (await http.get("/api/recordings/S1?token=garbage", headers=anon)).status_code == 401
        # byte ranges, as a <video> element asks for them
        whole = (folder / "lead.webm").read_bytes()
        part = await http.get(
            f"/api/recordings/S1/files/lead.webm?token={tutor}",
            headers={"Authorization": "", "Range": "bytes=100-1099"},
        )
        assert part.status_code == 206
        assert part.content == whole[100:1100]
        assert part.headers["content-range"] == f"bytes 100-1099/{len(whole)}"
        # only files the recorder wrote are served
        for name in ("..%2F..%2Fhub.log", "recording.json.tmp", "x.webm"):
            r = await http.get(f"/api/recordings/S1/files/{name}")
            assert r.status_code == 404, (name, r.status_code)
        assert (await http.get("/api/recordings/..")).status_code in (404, 401)

        # replay viewing: the classroom comes from the token; the largest total counts
        views = f"/api/recordings/S1/views?token={tutor}"
        for watched in (42.0, 30.0):
            r = await http.post(
                views, json={"view": "view-0001", "watched_s": watched}, headers=anon
            )
            assert r.status_code == 202 and r.json()["classroom"] == "p1"
        bad = await http.post(views, json={"view": "v", "watched_s": -1}, headers=anon)
        assert bad.status_code == 422
        # a node's own playback counts for that node, whatever the body says
        node_view = await http.post(
            "/api/recordings/S1/views",
            json={"view": "node-play-1", "watched_s": 18.0, "classroom": "p1"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert node_view.status_code == 422  # no such field: identity is not a payload field
        node_view = await http.post(
            "/api/recordings/S1/views",
            json={"view": "node-play-1", "watched_s": 18.0},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert node_view.json()["classroom"] == "p2"
        # one reader may not flood the ledger with views
        for i in range(2, 51):
            r = await http.post(views, json={"view": f"view-{i:04d}", "watched_s": 1}, headers=anon)
            assert r.status_code == 202
        r = await http.post(views, json={"view": "view-9999", "watched_s": 1}, headers=anon)
        assert r.status_code == 429
        day = datetime.now(UTC).date().isoformat()
        query = f"/api/reports/coverage?from={day}&to={day}&tz=%2B00:00&min_minutes=0"
        report = (await http.get(query)).json()
        # 42 s (the larger of two reports of one view) + 18 s (the node) + 49 x 1 s
        assert report["summary"]["replay_minutes"] == pytest.approx(109 / 60, abs=0.001)
        assert report["summary"]["replay_views"] == 51
        school = next(s for s in report["schools"] if s["school"] == "p1")
        assert school["replay_minutes"] == pytest.approx(91 / 60, abs=0.001)
        assert school["minutes"] < 1.0  # live minutes are not replay minutes
        lesson = next(row for row in report["lessons"] if row["session"] == "S1")
        assert lesson["replay"].endswith("/replay/S1")
        html = (await http.get(query + "&format=html")).text
        assert 'href="' + lesson["replay"] + '"' in html
        xapi = (await http.get(query + "&format=xapi")).json()
        watched = [s for s in xapi if s["verb"]["id"].endswith("/experienced")]
        assert len(watched) == 51
        durations = sorted(s["result"]["duration"] for s in watched)
        assert durations == sorted(["PT18S", "PT42S"] + ["PT1S"] * 49)
        csv_zip = zipfile.ZipFile(io.BytesIO((await http.get(query + "&format=csv")).content))
        assert "replay_minutes" in csv_zip.read("lessons.csv").decode()

        # delete: admin only, then it is gone
        assert (await http.delete("/api/recordings/S1", headers=anon)).status_code == 401
        assert (await http.delete("/api/recordings/S1")).status_code == 204
        assert (await http.get("/api/recordings/S1")).status_code == 404
        assert not folder.exists()


@pytest.mark.parametrize("rec_hub", [{"recording_min_free_mb": 1e12}], indirect=True)
async def test_out_of_space_stops_recording_not_the_lesson(rec_hub: RecHub) -> None:
    rec = rec_hub
    async with rec.admin() as http:
        await http.put("/api/sessions/S1/recording", json={"record": True})
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    p1_join = SignalJoin(node="p1", secret=rec.nodes["p1"].secret, session="S1", events=False)
    async with (
        publisher(rec.url, lead_join, Role.LEAD, source=1) as lead,
        publisher(rec.url, p1_join, Role.PARTNER, source=2) as p1,
    ):
        assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
        data = await _manifest(rec, "stopped")
        assert data["manifest"]["reason"] == "disk_full"
        async with rec.admin() as http:
            metrics = (await http.get("/metrics")).text
        assert 'dualclass_hub_recording_stopped_total{reason="disk_full"} 1.0' in metrics
        # the lesson goes on: events are sequenced, p1 keeps receiving the lead
        assert isinstance(await lead.client.interact("slide.show", {"index": 2}), SignalAck)
        rtc: ParticipantPeer = p1.rtc
        before = rtc.slot(Slot.MAIN).encoded
        await wait_for(
            lambda: rtc.slot(Slot.MAIN).encoded > before + 15,
            within=10,
            what="p1 still receives the lead",
        )
    assert json.loads((rec.folder / "S1" / "recording.json").read_text())["status"] == "stopped"


async def test_lead_reconnecting_mid_lesson_keeps_one_decodable_file(rec_hub: RecHub) -> None:
    """The lead's media drops and comes back (a new peer connection): same file, the
    picture resumes at a keyframe, the gap is kept on the wall clock."""
    rec = rec_hub
    async with rec.admin() as http:
        await http.put("/api/sessions/S1/recording", json={"record": True})
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    async with publisher(rec.url, lead_join, Role.LEAD, source=1) as lead:
        await lead.client.interact("lesson.start")
        room = rec.hub.app.state.signalling.room("S1")
        await wait_for(lambda: room.recorder and room.recorder.frames > 40, within=15,
                       what="first part")  # fmt: skip
        recorder = room.recorder
    # the first connection is gone; a new one takes the lead's media over
    gone = time.monotonic()
    async with publisher(rec.url, lead_join, Role.LEAD, source=3) as again:
        before = recorder.frames
        await wait_for(lambda: recorder.frames > before, within=15, what="new media")
        gap = time.monotonic() - gone  # no media from the lead for this long
        await wait_for(lambda: recorder.frames > before + 40, within=15, what="second part")
        await again.client.interact("lesson.end")
        data = await _manifest(rec, "complete")
    files = data["manifest"]["files"]
    assert [f["name"] for f in files] == ["lead.webm"]
    with av.open(str(rec.folder / "S1" / "lead.webm")) as container:
        frames = list(container.decode(video=0))
    assert frames[0].key_frame
    shown = [read_pattern(f) for f in frames]
    sources = [p[0] for p in shown if p is not None]
    assert sources[0] == 1 and sources[-1] == 3 and set(sources) == {1, 3}
    # the switch lands on a keyframe, and time moves on across the gap
    switch = next(i for i, p in enumerate(shown) if p is not None and p[0] == 3)
    assert frames[switch].key_frame
    assert frames[switch].time - frames[switch - 1].time >= gap * 0.5


async def test_quick_toggles_keep_one_writer_and_every_file_in_the_manifest(
    rec_hub: RecHub,
) -> None:
    """Recording turned off and on again at once: the new recorder waits for the old
    one to close its files, then continues the set; no file is left out of the
    manifest (two writers on one folder overwrote each other's)."""
    rec = rec_hub
    async with rec.admin() as http:
        await http.put("/api/sessions/S1/recording", json={"record": True})
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    async with publisher(rec.url, lead_join, Role.LEAD, source=1) as lead:
        await lead.client.interact("lesson.start")
        room = rec.hub.app.state.signalling.room("S1")
        await wait_for(lambda: room.recorder and room.recorder.frames > 15, within=15,
                       what="first recorder")  # fmt: skip
        first = room.recorder
        async with rec.admin() as http:
            for record in (False, True, False, True):
                r = await http.put("/api/sessions/S1/recording", json={"record": record})
                assert r.status_code == 200, r.text
        await wait_for(
            lambda: (
                room.recorder is not None
                and room.recorder is not first
                and room.recorder.frames > 15
            ),
            within=15,
            what="the recorder after the toggles",
        )
        await lead.client.interact("lesson.end")
        data = await _manifest(rec, "complete")
    folder = rec.folder / "S1"
    names = [f["name"] for f in data["manifest"]["files"]]
    assert len(names) == len(set(names)) and names[0] == "lead.webm", names
    assert sorted(names) == sorted(p.name for p in folder.glob("*.webm"))
    for entry in data["manifest"]["files"]:
        # each entry as its own recorder left it when it closed the file, not a
        # copy taken while it was still writing
        assert entry["bytes"] == (folder / entry["name"]).stat().st_size, entry
        assert set(_sources(folder / entry["name"])) == {1}, entry["name"]
