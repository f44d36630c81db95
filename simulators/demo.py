"""``dualclass demo``: a live lesson on the embedded local stack.

Starts a local Mosquitto and Redis on free loopback ports, the hub, one lead and
N partner classroom nodes, runs the scripted lesson (``simulators.script``) and
prints a live log (one line per sequenced event once every classroom applied it),
a summary and where to watch. ``--report FILE`` writes the run as JSON::

    {"session", "events_sequenced", "nodes": [{"node", "role", "received",
     "last_seq", "gaps_repaired", "duplicates_dropped"}], "lost",
     "latency_ms": {"p50", "p99", "max"}, "rejected", "media",
     "endpoints": {"mqtt": "mqtt(s)://HOST:PORT", "api": "http(s)://HOST:PORT"},
     "links": {"lead console", "tutor console (pN)", "observer"},
     "printed": {name: url of every link printed (hub, metrics, API, dashboard,
                 watch, the consoles, tablet, display; replay with --record)},
     "deck": {"id", "pages", "ready": {node: true|false}}, ...}

``--tls`` runs all of it over MQTT/TLS and HTTPS/WSS with a throwaway local CA
(``dualclass stack up --tls``): the nodes, the media signalling and the console
links use ``mqtts://`` and ``https://``.

The lesson runs on real slides: ``--deck FILE.pdf`` (PPTX/ODP too when the hub has
LibreOffice), or by default a small deck the demo draws itself. The deck is
uploaded before the lesson; ``deck.ready`` says, per partner, whether the deck was
complete on that classroom's disk when the lesson started.

``received`` counts events a node applied; ``lost`` counts sequenced events that
some partner never applied.

``--record`` (implies ``--media``) marks the session for recording: the hub
writes the lead's video and sound (and the floor holder's) into
``--recording-dir``, the lead's test pattern shows the current slide number
(changed when the lead clicks, as a camera on the lead's screen would show
it), and the demo prints the replay link. The report then has
``"recording": {"files": [paths], "timeline": path, "duration_s": x}`` and
``"replay_url"``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from classroom_node.node import ClassroomNode
from protocols.ids import now_ms
from protocols.messages import Event, MediaStats
from runtime.loop import run as run_loop
from simulators.district import demo_district
from simulators.harness import LocalRun
from simulators.script import lesson_script
from simulators.slides import write_deck
from simulators.stats import latency_summary, lost_events, node_row

__all__ = ["DEFAULT_DURATION_S", "During", "main", "run_demo"]

#: The lesson's length unless ``--duration`` says otherwise (README's ``make demo``
#: runs the same): long enough to open the printed links and watch it happen.
DEFAULT_DURATION_S = 45.0

#: A coroutine run beside the lesson with every link printed so far (tests).
During = Callable[[dict[str, str]], Coroutine[Any, Any, Any]]


def describe(event: Event) -> str:
    """One human line for an event (the live log)."""
    body = event.body.model_dump(exclude_none=True)
    match event.type:
        case "lesson.start":
            return f"lesson starts: {body.get('title', '')!r}"
        case "slide.show":
            return f"slide {body['index']}"
        case "hand.raise":
            return f"{event.src} raises a hand"
        case "hand.lower":
            return f"hand of {body.get('node', event.src)} lowered"
        case "floor.grant":
            return f"floor goes to {body['node']}"
        case "floor.revoke":
            return "floor back to the lead"
        case "quiz.open":
            return f"quiz {body['quiz']}: {body.get('question', '')} {body['choices']}"
        case "quiz.answer":
            return f"{event.src} answers {body['quiz']}: choice {body['choice']}"
        case "quiz.close":
            return f"quiz {body['quiz']} closed, correct = {body.get('correct')}"
        case "attendance.report":
            return f"{event.src}: {body['present']}/{body['enrolled']} students present"
        case "chat.message":
            return f"{event.src}: {body['text']}"
        case "lesson.end":
            return "lesson ends"
        case _:
            return event.type


def _quiet(out: TextIO | None) -> bool:
    """No progress bars unless a person watches a terminal: piped into a file or a
    CI log, tqdm's carriage returns glue its bar onto the next printed line."""
    return out is None or not sys.stderr.isatty()


class LiveLog:
    """Collects what every node applied; prints a log line once all have it."""

    def __init__(self, roles: dict[str, str], out: TextIO | None, t0: float) -> None:
        self.roles = roles
        self.out = out
        self.t0 = t0
        self.applied: dict[str, list[int]] = defaultdict(list)
        self.latencies: list[float] = []
        self._pending: dict[int, list[float]] = defaultdict(list)

    def hook(self, node: str) -> Any:
        def on_event(session: str, event: Event, applied_at_ms: int) -> None:
            seq = event.seq or 0
            self.applied[node].append(seq)
            latency = float(applied_at_ms - event.sent) if event.sent is not None else 0.0
            self.latencies.append(latency)
            pending = self._pending[seq]
            pending.append(latency)
            if len(pending) == len(self.roles):
                del self._pending[seq]
                if self.out is not None:
                    elapsed = time.monotonic() - self.t0
                    print(
                        f"[{elapsed:6.2f}s] #{seq:<4} {event.type:<18} {event.src or '':<8} "
                        f"{describe(event):<52} all {len(self.roles)} in {max(pending):.1f} ms",
                        file=self.out,
                        flush=True,
                    )

        return on_event


async def _start_media(
    run: LocalRun, nodes: dict[str, ClassroomNode], lead: str
) -> list[NodeMedia]:
    """Every classroom joins the lesson's WebRTC media through the hub's relay.

    The lead sends its camera in both layers, as in a school, so the hub's
    per-classroom layer choice is there to see. The partners send one: here every
    classroom's encoders share this one process and the machine's cores (in a
    school each is its own box), and a partner's camera is only forwarded while
    it holds the floor.
    """
    assert run.hub is not None and run.stack is not None
    settings = MediaSettings(
        enabled=True,
        hub_url=run.hub.base_url,
        ca_file=run.stack.ca_file,
        ice_host_addresses=("127.0.0.1",),
        fps=15,
        stats_interval_s=1.0,
    )
    runners = []
    for name, node in nodes.items():
        runner = NodeMedia(
            node, settings if name == lead else settings.model_copy(update={"layers": 1})
        )
        node.media = runner  # the classroom display shows the lead's video from it
        runners.append(runner)
    for runner in runners:
        await runner.start()
    return runners


async def _media_report(
    run: LocalRun, nodes: dict[str, ClassroomNode], partners: list[str]
) -> dict[str, Any]:
    """Wait (bounded) for partners to decode the lead's video; report what they got."""
    try:
        await run.wait_for(
            lambda: all((nodes[p].media_stats or MediaStats()).fps > 0 for p in partners),
            timeout=20,
            what="partners decoding the lead's video",
        )
    except TimeoutError:
        pass
    return {
        node: (instance.media_stats or MediaStats()).model_dump()
        for node, instance in nodes.items()
    }


async def run_demo(
    *,
    partners: int = 3,
    duration: float = DEFAULT_DURATION_S,
    workdir: Path,
    out: TextIO | None = sys.stdout,
    keep: bool = False,
    with_media: bool = False,
    tls: bool = False,
    during: During | None = None,
    start_when: asyncio.Event | None = None,
    deck_file: Path | None = None,
    record: bool = False,
    recording_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the demo; return the report (see the module docstring).

    ``during(printed)`` (tests) runs beside the lesson from the moment the console
    and display links are printed (``printed``: name -> URL of every link printed,
    the same dict as the report's); the demo waits for it before tearing the stack
    down, so it also sees the lesson end. ``start_when`` (tests): the lesson waits
    (at most 180 s) until it is set, e.g. until ``during`` has its pages open on a
    loaded machine.
    """
    with_media = with_media or record
    recording_dir = (recording_dir or workdir / "recordings").resolve()
    session = time.strftime("demo-%Y%m%d-%H%M%S")
    lead = "lead"
    partner_ids = [f"p{i}" for i in range(1, partners + 1)]
    roles = {lead: "lead"} | {p: "partner" for p in partner_ids}

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    say(
        f"dualclass demo: session {session}, "
        f"1 lead + {partners} partner classrooms, ~{duration:.0f} s"
    )
    hub_args = ["--recording-dir", str(recording_dir)] if record else []
    if record:
        say(f"  recording  into {recording_dir}/{session}/ (kept after the demo)")
    async with LocalRun(workdir, tls=tls, hub_args=hub_args) as run:
        assert run.stack is not None and run.hub is not None
        endpoints = _endpoints(run)
        say(f"  mosquitto  {endpoints['mqtt']}   redis {run.stack.redis_url.split('@')[-1]}")
        if run.stack.ca_file is not None:
            say(
                f"  local CA   {run.stack.ca_file}  (MQTT/TLS and HTTPS: a browser opens the "
                "https links once it trusts this CA, or after accepting its warning; "
                "docs/internet.md)"
            )
        base = run.hub.base_url
        say(f"  hub        {base}   (metrics {base}/metrics)")
        say(f"  API        {base}/docs   (the admin key is in {run.stack.path})")
        operator = await _operator_links(run, session)
        printed = {"hub": base, "metrics": f"{base}/metrics", "API": f"{base}/docs"}
        printed |= operator
        say(f"  dashboard  {operator['dashboard']}   (operators; zh-CN / en)")
        say(f"  watch      {operator['watch']}   (this lesson, live, on the dashboard)")
        t0 = time.monotonic()
        recorder = LiveLog(roles, out, t0)
        bar = tqdm(total=len(roles), desc="classrooms joining", disable=_quiet(out), leave=False)
        for node in roles:
            await run.register_node(node)
        district = demo_district(lead, partner_ids)
        for kind in ("schools", "classrooms", "teachers"):
            for item in district[kind]:
                await run.api("POST", f"/api/{kind}", json=item)
        nodes = {}
        for node in roles:
            nodes[node] = await run.start_node(
                node, on_event=recorder.hook(node), api_enabled=(node == partner_ids[0])
            )
        now = now_ms()
        await run.create_session(
            {
                "session": session,
                "lead": lead,
                "partners": partner_ids,
                "title": "Fractions",
                "subject": "math",
                "grade": 5,
                "starts_at": now,
                "ends_at": now + int(duration * 1000) + 60_000,
                "record": record,
            }
        )
        joined: set[str] = set()
        deadline = time.monotonic() + 20
        while len(joined) < len(roles):
            for node, instance in nodes.items():
                if node not in joined and session in instance.sessions:
                    joined.add(node)
                    bar.update(1)
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {sorted(joined)} joined {session}")
            await asyncio.sleep(0.02)
        bar.close()
        deck = await _upload_deck(
            run, session, deck_file or write_deck(workdir / "deck.pdf", 8), say
        )
        await _deck_everywhere(run, session, nodes, deck["id"], out)
        media = await _start_media(run, nodes, lead) if with_media else []
        if media:
            # the lesson starts once every classroom's media is up (the recording
            # then covers the whole lesson)
            await run.wait_for(
                lambda: all(n.media_stats is not None for n in nodes.values()),
                timeout=30,
                what="every classroom's media to connect",
            )
        screen = media[0].source.video if media and media[0].source is not None else None
        links = await _console_links(run, session, partner_ids[-1])
        lead_link, tutor_link, observer_link = links.values()
        say(f"  lead       {lead_link}  (the lead teacher's console)")
        say(f"  tutor      {tutor_link}  ({partner_ids[-1]}'s tutor console)")
        say(f"  observer   {observer_link}  (an observer's console)")
        printed |= links
        local_api = nodes[partner_ids[0]].api
        if local_api is not None and getattr(local_api, "base_url", None):
            printed["tablet"] = f"{local_api.base_url}/v1/state"
            printed["display"] = f"{local_api.base_url}/display"
            say(f"  tablet     {printed['tablet']}  ({partner_ids[0]}'s local input API)")
            say(f"  display    {printed['display']}  ({partner_ids[0]}'s classroom screen)")
        helper: asyncio.Task[Any] | None = None
        if during is not None:
            helper = asyncio.create_task(during(printed), name="demo-during")
        say("")

        if start_when is not None:
            await asyncio.wait_for(start_when.wait(), timeout=180)
        steps = lesson_script(
            lead, partner_ids, duration, deck=deck["id"], pages=deck["page_count"]
        )
        start = time.monotonic()
        rejected_expected = 0
        for step in steps:
            delay = start + step.at_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if step.actor == lead and step.type == "slide.show" and screen is not None:
                screen.slide = int(step.body["index"])  # type: ignore[attr-defined]
            await nodes[step.actor].send(step.type, step.body, session)
            if step.expect_rejected:
                rejected_expected += 1
                say(
                    f"[{time.monotonic() - t0:6.2f}s]       {step.type:<18} {step.actor:<8} "
                    f"{step.note} -> expect a rejection"
                )

        info = await run.api("GET", f"/api/sessions/{session}")
        sequenced = _last_seq(info)
        await run.wait_for(
            lambda: all(n.view(session).last_seq >= sequenced for n in nodes.values()),
            timeout=30,
            what="every classroom to apply every event",
        )
        await run.wait_for(
            lambda: sum(n.stats.rejected for n in nodes.values()) >= rejected_expected,
            timeout=10,
            what="the expected rejection to come back",
        )
        info = await run.api("GET", f"/api/sessions/{session}")
        sequenced = _last_seq(info)
        media_report = await _media_report(run, nodes, partner_ids) if media else {}
        recording = await _recording_report(run, session, recording_dir) if record else None
        if recording is not None:
            token = await run.api(
                "POST",
                f"/api/sessions/{session}/tokens",
                json={"role": "observer", "ttl_s": 24 * 3600},
            )
            printed["replay"] = f"{run.hub.base_url}/replay/{session}?token={token['token']}"
        during_result = await helper if helper is not None else None
        report: dict[str, Any] = {
            "session": session,
            "events_sequenced": sequenced,
            "nodes": [
                node_row(node, roles[node], _counters(nodes[node], session), recorder.applied[node])
                for node in roles
            ],
            "lost": lost_events(sequenced, {p: recorder.applied[p] for p in partner_ids}),
            "latency_ms": latency_summary(recorder.latencies),
            "rejected": {
                node: dict(instance.stats.rejected_by_code)
                for node, instance in nodes.items()
                if instance.stats.rejected
            },
            "duration_s": round(time.monotonic() - start, 2),
            "media": media_report,
            "hub_url": run.hub.base_url,
            "endpoints": endpoints,
            "links": links,
            "printed": printed,
            "deck": await _deck_report(run, session, deck, partner_ids),
        }
        if helper is not None:
            report["during"] = during_result
        if recording is not None:
            report["recording"] = recording
            report["replay_url"] = printed["replay"]
        _print_summary(report, say)
        if keep:
            # keep means keep: the printed links stay up until Ctrl-C or SIGTERM,
            # whether or not a terminal is attached (``make demo`` under a script)
            day = time.strftime("%Y-%m-%d", time.gmtime())
            say(
                "\nThe stack stays up, with every link above, while you look around. "
                f"To stop it: Ctrl-C, or kill {os.getpid()} (SIGTERM)."
            )
            say(
                "  coverage report: curl -H 'Authorization: Bearer "
                f"{run.stack.data['admin_key']}' '{run.hub.base_url}/api/reports/coverage"
                f"?from={day}&to={day}&tz=%2B00:00&min_minutes=0&format=html' > report.html"
            )
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                pass
        # the classrooms' video stays on until the stack goes down, so the printed
        # links show live video for as long as they are open
        for runner in media:
            await runner.stop()
        return report


async def _recording_report(run: LocalRun, session: str, folder: Path) -> dict[str, Any]:
    """Wait (bounded) for the hub to finish the recording; files, timeline, duration."""
    deadline = time.monotonic() + 30
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await run.http.get(f"/api/recordings/{session}")
        if response.status_code == 200:
            data = response.json()
            if data["manifest"]["status"] != "recording" and data["timeline"] is not None:
                break
        await asyncio.sleep(0.1)
    manifest = data.get("manifest") or {}
    here = folder / session
    return {
        "files": [str(here / f["name"]) for f in manifest.get("files", [])],
        "timeline": str(here / "timeline.json") if data.get("timeline") else None,
        "duration_s": manifest.get("duration_s", 0.0),
        "status": manifest.get("status", "missing"),
        "reason": manifest.get("reason"),
    }


def _endpoints(run: LocalRun) -> dict[str, str]:
    """Where MQTT and the API are, with their schemes (``mqtts``/``https`` with ``--tls``)."""
    assert run.stack is not None and run.hub is not None
    scheme = "mqtts" if run.stack.tls else "mqtt"
    return {"mqtt": f"{scheme}://127.0.0.1:{run.stack.mqtt_port}", "api": run.hub.base_url}


async def _console_links(run: LocalRun, session: str, partner: str) -> dict[str, str]:
    """Console links for the whole lesson: the lead's, ``partner``'s tutor's, an observer's.

    Each classroom's node sends its camera; these consoles watch beside it (and
    may take the camera on the teacher's explicit choice), so opening them never
    disconnects a node or another console.
    """
    assert run.hub is not None
    links = {}
    for role, room, name in (
        ("lead", None, "lead console"),
        ("tutor", f"room-{partner}", f"tutor console ({partner})"),
        ("observer", None, "observer"),
    ):
        token = await run.api(
            "POST",
            f"/api/sessions/{session}/tokens",
            json={"role": role, "classroom": room, "ttl_s": 4 * 3600},
        )
        links[name] = f"{run.hub.base_url}/console/{role}?token={token['token']}"
    return links


async def _operator_links(run: LocalRun, session: str) -> dict[str, str]:
    """Signed sign-in links to the operator dashboard (and to this lesson on it).

    A browser cannot send the admin key as a header, so a printed API URL would
    only answer 401; these links sign the browser in to the dashboard alone.
    """
    assert run.hub is not None
    links = {}
    for name, body in (("dashboard", {}), ("watch", {"lesson": session})):
        link = await run.api("POST", "/api/ops/links", json=body)
        links[name] = f"{run.hub.base_url}{link['url']}"
    return links


async def _upload_deck(
    run: LocalRun, session: str, path: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Upload the lesson's deck to the session (rendered by the hub) before class."""
    say(f"  deck       {path.name}: uploading and rendering…")
    response = await run.http.post(
        f"/api/sessions/{session}/decks",
        params={"name": path.name},
        content=await asyncio.to_thread(path.read_bytes),
        timeout=300,
    )
    if response.status_code != 201:
        raise RuntimeError(f"deck {path} refused: {response.status_code} {response.text}")
    deck: dict[str, Any] = response.json()
    say(f"  deck       {deck['id']}: {deck['page_count']} pages")
    return deck


async def _deck_everywhere(
    run: LocalRun, session: str, nodes: dict[str, ClassroomNode], deck: str, out: TextIO | None
) -> None:
    """Wait (bounded) until every classroom has the whole deck on its disk and the hub
    has heard so (the lesson starts only then, as a school would wait for it)."""
    bar = tqdm(total=len(nodes), desc="deck on classrooms", disable=_quiet(out), leave=False)
    done: set[str] = set()

    def ready() -> bool:
        for name, node in nodes.items():
            if name not in done and node.deck_cache.complete(deck):
                done.add(name)
                bar.update(1)
        return len(done) == len(nodes)

    try:
        await run.wait_for(ready, timeout=120, what="every classroom to download the deck")
    finally:
        bar.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = await run.api("GET", f"/api/sessions/{session}/decks")
        if set(info.get("ready", {}).get(deck, {})) >= set(nodes):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the hub did not hear that every classroom has the deck")


async def _deck_report(
    run: LocalRun, session: str, deck: dict[str, Any], partners: list[str]
) -> dict[str, Any]:
    """``{"id", "pages", "ready": {node: bool}}``: complete at the node by lesson start."""
    events = await run.api("GET", f"/api/sessions/{session}/events", params={"limit": 1})
    start = events["events"][0]["ts"] if events["events"] else None
    info = await run.api("GET", f"/api/sessions/{session}/decks")
    ready_at: dict[str, int] = info.get("ready", {}).get(deck["id"], {})
    ready = {p: p in ready_at and (start is None or ready_at[p] <= start) for p in partners}
    return {"id": deck["id"], "pages": deck["page_count"], "ready": ready}


def _last_seq(info: dict[str, Any]) -> int:
    """Head of a session from ``GET /api/sessions/{id}``."""
    return int(info["state"]["last_seq"])


def _counters(node: ClassroomNode, session: str) -> dict[str, Any]:
    return node.view(session).counters().as_dict()


def _print_summary(report: dict[str, Any], say: Callable[[str], None]) -> None:
    say("")
    say(
        f"summary of {report['session']}: {report['events_sequenced']} events sequenced, "
        f"{report['lost']} lost, in {report['duration_s']} s"
    )
    say(f"  {'node':<8} {'role':<8} {'received':>8} {'last_seq':>8} {'gaps':>5} {'dups':>5}")
    for row in report["nodes"]:
        say(
            f"  {row['node']:<8} {row['role']:<8} {row['received']:>8} {row['last_seq']:>8} "
            f"{row['gaps_repaired']:>5} {row['duplicates_dropped']:>5}"
        )
    lat = report["latency_ms"]
    say(
        f"  latency lead->classroom applied: p50 {lat['p50']} ms, "
        f"p99 {lat['p99']} ms, max {lat['max']} ms"
    )
    roles = {row["node"]: row["role"] for row in report["nodes"]}
    if report.get("media"):
        say("  video received (the lead sees only the floor holder, free at the end):")
    for node, stats in report.get("media", {}).items():
        say(
            f"    {node:<6} {roles.get(node, ''):<8} {stats['fps']:5.1f} fps  "
            f"{stats['bitrate_kbps']:7.0f} kbps  loss {stats['loss']:.3f}  "
            f"rtt {stats['rtt_ms']:.0f} ms  freezes {stats['freezes']}"
        )
    if report["rejected"]:
        say(f"  refused by the hub (role rules): {report['rejected']}")
    recording = report.get("recording")
    if recording:
        say(
            f"  recording ({recording['status']}): {len(recording['files'])} files, "
            f"{recording['duration_s']:.1f} s, timeline {recording['timeline']}"
        )
        for path in recording["files"]:
            say(f"    {path}")
    if report.get("replay_url"):
        say(f"  replay     {report['replay_url']}")


def _remove_state(workdir: Path, *, keep_recordings: bool) -> None:
    """Remove the demo's temporary state dir, but a recording made in it stays."""
    if not keep_recordings:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    for child in workdir.iterdir():
        if child.name != "recordings":
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dualclass demo", description="Run a scripted live lesson on the embedded local stack."
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help=f"lesson length in seconds (default {DEFAULT_DURATION_S:.0f})",
    )
    parser.add_argument("--partners", type=int, default=3, help="partner classrooms")
    parser.add_argument("--report", type=Path, help="write the run as JSON here (headless)")
    parser.add_argument("--workdir", type=Path, help="keep state here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stack up after the lesson")
    parser.add_argument(
        "--deck",
        type=Path,
        help="the lesson's slides (PDF; PPTX/ODP with LibreOffice); default: a generated deck",
    )
    parser.add_argument(
        "--media",
        action="store_true",
        help="also carry the lesson's video: the lead sends a test pattern through the relay",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="MQTT over TLS and HTTPS/WSS throughout, with a throwaway local CA",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="record the lesson (implies --media) and print the replay link",
    )
    parser.add_argument(
        "--recording-dir",
        type=Path,
        help="where --record keeps the recording, kept after the demo "
        "(default: recordings/ in the demo's state dir, see --workdir)",
    )
    args = parser.parse_args(argv)
    if args.partners < 1:
        parser.error("--partners must be at least 1")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dualclass-demo-"))
    headless = args.report is not None
    # the replay link is printed when the lesson is over: it is worth something
    # only while the hub that serves it is up
    keep = args.keep or (args.record and not headless)
    # kill, timeout and service managers send SIGTERM: stop as on Ctrl-C, so the
    # broker, Redis and hub the demo started go down with it instead of lingering
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = run_loop(
            run_demo(
                partners=args.partners,
                duration=args.duration,
                workdir=workdir,
                out=None if headless else sys.stdout,
                keep=keep,
                with_media=args.media,
                tls=args.tls,
                deck_file=args.deck,
                record=args.record,
                recording_dir=args.recording_dir if args.record else None,
            )
        )
    except KeyboardInterrupt:
        return 130
    finally:
        if args.workdir is None:
            _remove_state(workdir, keep_recordings=args.record and args.recording_dir is None)
    if headless:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        print(
            json.dumps(
                {
                    k: report[k]
                    for k in (
                        "session",
                        "events_sequenced",
                        "lost",
                        "latency_ms",
                        "endpoints",
                        "deck",
                        "replay_url",
                    )
                    if k in report
                }
            )
        )
    return 0 if report["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
