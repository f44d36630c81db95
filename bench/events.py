"""Event-path benchmark: hub path versus plain Mosquitto pub/sub, same run.

N partner classrooms (default 50) spread over S sessions (default 5), each session
with its own lead; the leads send paced events (default 100/s in all). Two phases on
the same local stack and the same process layout:

* **plain**: raw MQTT clients. Each lead publishes the encoded event straight to a
  topic its partners subscribe to; the subscribers decode it. One broker hop: the
  floor under any design.
* **hub**: real ``ClassroomNode`` daemons through the hub: uplink -> hub (validate,
  role rules, Redis stream + seq, publish) -> partners, which reorder and apply.

Partners live in ``--workers`` processes (default 4), as real classrooms are
separate boxes: fifty daemons in one Python process would measure that process's
queue, not the path. Leads stay in the main process. Latency is the sender's clock
to decoded (plain) or applied (hub) at each partner, on one machine's clock.
Prints p50/p99 of both, their ratio and lost events (sequenced events some partner
never applied). ``--json FILE`` writes the figures.

``--tls`` adds a third phase in the same run: the hub path again on a second local
stack that speaks only MQTT over TLS (``dualclass stack up --tls``: every node and
the hub verify the broker against the local CA), and prints its p99 against the
plain hub path's.

Usage: ``python bench/events.py [--partners 50] [--sessions 5] [--rate 100]
[--seconds 20] [--workers 4] [--tls] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tqdm import tqdm

from broker.client import ClientSettings, MqttLink
from broker.render import hash_password
from classroom_node.config import NodeConfig
from classroom_node.main import settle_heap
from classroom_node.node import ClassroomNode
from protocols.codec import decode, encode
from protocols.ids import new_id, now_ms
from protocols.messages import Event, SlideShow
from runtime.loop import run as run_loop
from runtime.settings import dump_toml
from simulators.harness import LocalRun
from simulators.stats import latency_summary


def plan(partners: int, sessions: int) -> dict[str, list[str]]:
    """Session id -> partner ids, round robin."""
    out: dict[str, list[str]] = {f"bench-s{i}": [] for i in range(sessions)}
    keys = list(out)
    for i in range(partners):
        out[keys[i % sessions]].append(f"bp{i:03d}")
    return out


#: The plain phase's clients log in as broker users with full access to the prefix
#: (hub users, see ``plain_users``): the broker binds client ids to usernames, so
#: each raw client needs a user of its own.
PLAIN_SECRET = "bench-plain-secret"


def plain_users(layout: dict[str, list[str]]) -> dict[str, str]:
    """Username -> ``$7$`` hash for every raw client of the plain phase."""
    hashed = hash_password(PLAIN_SECRET)
    names = [f"plain-lead-{sid}" for sid in layout]
    names += [f"plain-{p}" for ps in layout.values() for p in ps]
    return dict.fromkeys(names, hashed)


def wall_ms() -> float:
    return time.time() * 1000.0


# ----------------------------------------------------------------- workers


@dataclass
class WorkerSpec:
    """What one partner process runs: its share of the partners, in one phase."""

    phase: str  # "plain" or "hub"
    mqtt_port: int
    hub_username: str
    hub_password: str
    #: partner node id -> session id
    members: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    state_dir: str = ""
    #: The stack's CA: MQTT over TLS (``--tls`` phase); empty: plain.
    ca_file: str = ""


async def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _plain_worker(conn: Connection, spec: WorkerSpec) -> None:
    latencies: list[float] = []
    received: dict[str, int] = defaultdict(int)
    links: list[MqttLink] = []
    readers: list[asyncio.Task[None]] = []

    async def reader(link: MqttLink, name: str) -> None:
        async for msg in link.messages():
            event = decode(msg.payload)
            latencies.append(wall_ms() - (event.sent or 0))
            received[name] += 1

    for node, sid in spec.members.items():
        link = MqttLink(
            ClientSettings(
                port=spec.mqtt_port,
                username=f"plain-{node}",
                password=PLAIN_SECRET,
                client_id=f"plain-{node}",
                clean_start=True,
            )
        )
        await link.start(wait=True)
        await link.subscribe(f"dc/v1/bench/{sid}")
        links.append(link)
        readers.append(asyncio.create_task(reader(link, node)))
    settle_heap()
    conn.send("ready")
    _, expected = await asyncio.to_thread(conn.recv)
    await _wait(lambda: all(received[n] >= expected[s] for n, s in spec.members.items()), 30)
    conn.send({"latencies": latencies, "received": dict(received)})
    for link in links:
        await link.close()
    for task in readers:
        task.cancel()


async def _hub_worker(conn: Connection, spec: WorkerSpec) -> None:
    latencies: list[float] = []
    applied: dict[str, list[int]] = defaultdict(list)
    nodes: dict[str, ClassroomNode] = {}

    def hook(node: str) -> Callable[[str, Event, int], None]:
        def on_event(session: str, event: Event, at: int) -> None:
            applied[node].append(event.seq or 0)
            if event.type == "slide.show" and event.sent is not None:
                latencies.append(wall_ms() - event.sent)

        return on_event

    for node in spec.members:
        config = NodeConfig(
            node_id=node,
            mqtt_port=spec.mqtt_port,
            mqtt_password=spec.secrets[node],
            state_dir=Path(spec.state_dir) / node,
            mqtt_ca_file=Path(spec.ca_file) if spec.ca_file else None,
            heartbeat_s=5.0,
            api_enabled=False,
            journal_fsync=False,
        )
        nodes[node] = ClassroomNode(config, on_event=hook(node))
        await nodes[node].startup()
    conn.send("ready")
    await asyncio.to_thread(conn.recv)  # sessions created
    joined = await _wait(
        lambda: all(sid in nodes[n].sessions for n, sid in spec.members.items()), 30
    )
    conn.send(joined)
    await asyncio.to_thread(conn.recv)  # lesson started everywhere
    latencies.clear()
    settle_heap()
    conn.send("measuring")
    _, heads = await asyncio.to_thread(conn.recv)
    await _wait(
        lambda: all(nodes[n].view(s).last_seq >= heads[s] for n, s in spec.members.items()), 60
    )
    conn.send({"latencies": latencies, "applied": dict(applied)})
    for instance in nodes.values():
        await instance.shutdown()


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry of a partner process."""
    runner = _plain_worker if spec.phase == "plain" else _hub_worker
    run_loop(runner(conn, spec))


class Workers:
    """The partner processes of one phase and their pipes."""

    def __init__(self, specs: list[WorkerSpec]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for spec in specs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    async def recv_all(self, timeout: float = 120) -> list[Any]:
        async def one(pipe: Connection) -> Any:
            if not await asyncio.to_thread(pipe.poll, timeout):
                raise TimeoutError("a partner process did not answer")
            return pipe.recv()

        return list(await asyncio.gather(*(one(p) for p in self.pipes)))

    def send_all(self, message: Any) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def join(self) -> None:
        for proc in self.procs:
            proc.join(15)
            if proc.is_alive():
                proc.kill()


def split(layout: dict[str, list[str]], workers: int) -> list[dict[str, str]]:
    """Partners (with their session) dealt over ``workers`` processes."""
    members = [(p, sid) for sid, ps in layout.items() for p in ps]
    return [dict(members[i::workers]) for i in range(workers) if members[i::workers]]


# ------------------------------------------------------------------ phases


async def pace(
    rate: float, seconds: float, senders: list[Callable[[int], Awaitable[None]]], label: str
) -> int:
    """Call the senders round robin at ``rate`` per second in all; returns count."""
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.monotonic()
    with tqdm(total=total, desc=label, unit="ev", leave=False) as bar:
        for i in range(total):
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await senders[i % len(senders)](i)
            bar.update(1)
    return total


async def plain_phase(
    run: LocalRun, layout: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    assert run.stack is not None
    mqtt = run.stack.data["mqtt"]
    workers = Workers(
        [
            WorkerSpec("plain", mqtt["port"], mqtt["hub_username"], mqtt["hub_password"], members)
            for members in split(layout, args.workers)
        ]
    )
    await workers.recv_all()
    pubs: list[MqttLink] = []
    senders = []
    for sid in layout:
        link = MqttLink(
            ClientSettings(
                port=mqtt["port"],
                username=f"plain-lead-{sid}",
                password=PLAIN_SECRET,
                client_id=f"plain-lead-{sid}",
                clean_start=True,
            )
        )
        await link.start(wait=True)
        pubs.append(link)

        async def send(i: int, link: MqttLink = link, sid: str = sid) -> None:
            msg = SlideShow(
                id=new_id(), session=sid, sent=now_ms(), body={"deck": "bench", "index": i}
            )
            await link.publish(f"dc/v1/bench/{sid}", encode(msg))

        senders.append(send)
    settle_heap()
    total = await pace(args.rate, args.seconds, senders, "plain mqtt")
    sids = list(layout)
    expected = {
        sid: total // len(sids) + (1 if i < total % len(sids) else 0) for i, sid in enumerate(sids)
    }
    workers.send_all(("finish", expected))
    results = await workers.recv_all()
    workers.join()
    for link in pubs:
        await link.close()
    latencies = [x for r in results for x in r["latencies"]]
    delivered = sum(sum(r["received"].values()) for r in results)
    wanted = sum(expected[sid] * len(ps) for sid, ps in layout.items())
    return {
        "latency_ms": latency_summary(latencies),
        "delivered": delivered,
        "expected": wanted,
        "lost": max(0, wanted - delivered),
    }


async def hub_phase(
    run: LocalRun, layout: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    assert run.stack is not None
    mqtt = run.stack.data["mqtt"]
    leads = {sid: f"blead{i}" for i, sid in enumerate(layout)}
    everyone = list(leads.values()) + [p for ps in layout.values() for p in ps]
    for node in tqdm(everyone, desc="registering nodes", leave=False):
        await run.register_node(node)
    workers = Workers(
        [
            WorkerSpec(
                "hub",
                mqtt["port"],
                mqtt["hub_username"],
                mqtt["hub_password"],
                members,
                secrets={n: run.secrets[n] for n in members},
                state_dir=str(run.workdir / "nodes"),
                ca_file=str(run.stack.ca_file or ""),
            )
            for members in split(layout, args.workers)
        ]
    )
    lead_nodes = {sid: await run.start_node(lead) for sid, lead in leads.items()}
    await workers.recv_all()
    now = now_ms()
    for sid, partners in layout.items():
        await run.create_session(
            {
                "session": sid,
                "lead": leads[sid],
                "partners": partners,
                "title": "bench",
                "starts_at": now,
                "ends_at": now + 3_600_000,
            }
        )
    workers.send_all("sessions")
    if not all(await workers.recv_all()):
        raise TimeoutError("not every partner joined")
    await run.wait_for(
        lambda: all(sid in lead_nodes[sid].sessions for sid in layout), 30, "leads to join"
    )
    for sid, lead in lead_nodes.items():
        await lead.send("lesson.start", {"title": "bench"}, sid)
    workers.send_all("started")
    await workers.recv_all()
    settle_heap()
    senders = []
    for sid, lead in lead_nodes.items():

        async def send(i: int, lead: ClassroomNode = lead, sid: str = sid) -> None:
            await lead.send("slide.show", {"deck": "bench", "index": i}, sid)

        senders.append(send)
    total = await pace(args.rate, args.seconds, senders, "hub path")
    await run.wait_for(
        lambda: sum(n.view(sid).last_seq for sid, n in lead_nodes.items()) >= total + len(layout),
        60,
        "the leads to see every event sequenced",
    )
    heads: dict[str, int] = {}
    for sid in layout:
        info = await run.api("GET", f"/api/sessions/{sid}")
        heads[sid] = int(info["state"]["last_seq"])
    workers.send_all(("finish", heads))
    results = await workers.recv_all()
    workers.join()
    assert run.hub is not None
    metrics = (await run.http.get(run.hub.base_url + "/metrics")).text
    inside = {
        name: histogram_quantiles(metrics, f"dualclass_hub_{name}_seconds")
        for name in ("sequencing", "delivery")
    }
    applied: dict[str, set[int]] = defaultdict(set)
    for r in results:
        for node, seqs in r["applied"].items():
            applied[node] |= set(seqs)
    lost = 0
    for sid, partners in layout.items():
        expected = set(range(1, heads[sid] + 1))
        missing: set[int] = set()
        for p in partners:
            missing |= expected - applied[p]
        lost += len(missing)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "latency_ms": latency_summary(latencies),
        "sequenced": sum(heads.values()),
        "lost": lost,
        "hub_internal_ms": inside,
    }


def histogram_quantiles(text: str, name: str) -> dict[str, float]:
    """Upper bucket bounds (ms) holding the 50th and 99th percentile of a Prometheus
    histogram: what the hub itself adds (uplink received -> appended / -> published)."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            value = float(line.rsplit(" ", 1)[1])
            buckets.append((float("inf") if bound == "+Inf" else float(bound), value))
    if not buckets or buckets[-1][1] == 0:
        return {"p50_le": 0.0, "p99_le": 0.0}
    total = buckets[-1][1]

    def bound_for(q: float) -> float:
        return next(b for b, v in buckets if v >= q * total) * 1000

    return {"p50_le": bound_for(0.5), "p99_le": bound_for(0.99)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    layout = plan(args.partners, args.sessions)
    with tempfile.TemporaryDirectory(prefix="dualclass-bench-") as tmp:
        users = Path(tmp) / "plain-users.toml"
        users.write_text(dump_toml({"hub_users": plain_users(layout)}, "hub"))
        hub_args = ["--config", str(users)]
        async with LocalRun(
            Path(tmp), heartbeat_s=5.0, journal_fsync=False, hub_args=hub_args
        ) as run:
            plain = await plain_phase(run, layout, args)
            hub = await hub_phase(run, layout, args)
    ratio = hub["latency_ms"]["p99"] / max(plain["latency_ms"]["p99"], 0.001)
    extra: dict[str, Any] = {}
    if args.tls:
        with tempfile.TemporaryDirectory(prefix="dualclass-bench-tls-") as tmp:
            async with LocalRun(Path(tmp), heartbeat_s=5.0, journal_fsync=False, tls=True) as run:
                hub_tls = await hub_phase(run, layout, args)
        tls_ratio = hub_tls["latency_ms"]["p99"] / max(hub["latency_ms"]["p99"], 0.001)
        extra = {"hub_tls": hub_tls, "tls_p99_ratio": round(tls_ratio, 2)}
    return extra | {
        "partners": args.partners,
        "sessions": args.sessions,
        "rate": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "plain": plain,
        "hub": hub,
        "p99_ratio": round(ratio, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0, help="lead events per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4, help="partner processes")
    parser.add_argument(
        "--tls", action="store_true", help="also the hub path over MQTT/TLS (same run)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run_loop(main_async(args))
    p, h = result["plain"]["latency_ms"], result["hub"]["latency_ms"]
    print(
        f"{args.partners} partners in {args.workers} processes, {args.sessions} sessions, "
        f"{args.rate:g} lead events/s, {args.seconds:g} s"
    )
    print(
        f"  plain mosquitto pub/sub  p50 {p['p50']:7.2f} ms  p99 {p['p99']:7.2f} ms  "
        f"lost {result['plain']['lost']}"
    )
    print(
        f"  hub path                 p50 {h['p50']:7.2f} ms  p99 {h['p99']:7.2f} ms  "
        f"lost {result['hub']['lost']} of {result['hub']['sequenced']} sequenced"
    )
    inside = result["hub"]["hub_internal_ms"]
    print(
        f"  inside the hub           sequencing p99 <= {inside['sequencing']['p99_le']:g} ms, "
        f"received->published p99 <= {inside['delivery']['p99_le']:g} ms"
    )
    print(f"  hub/plain p99 ratio      {result['p99_ratio']:.2f}  (goal <= 2.0)")
    if args.tls:
        t = result["hub_tls"]["latency_ms"]
        print(
            f"  hub path, MQTT over TLS  p50 {t['p50']:7.2f} ms  p99 {t['p99']:7.2f} ms  "
            f"lost {result['hub_tls']['lost']} of {result['hub_tls']['sequenced']} sequenced"
        )
        print(f"  TLS/plain hub p99 ratio  {result['tls_p99_ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    lost = result["hub"]["lost"] + (result["hub_tls"]["lost"] if args.tls else 0)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
