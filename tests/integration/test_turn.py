"""A school behind a firewall: its node and its tutor's browser reach the hub's media
only through a real TURN server (Debian coturn, ``deploy/coturn/turnserver.conf``).

Topology (root, ``tests.netns``): the school is a network namespace whose only link
leads to one address of ours, where Mosquitto (TLS), the hub's HTTPS/WSS and
turnserver listen. The hub's media is offered on 127.0.0.1 only, which the school
cannot reach; the school's node and browser use relay candidates only
(``ice_transport_policy = relay``, ``?relay=1``). TURN credentials are minted by the
hub per join from the secret it shares with coturn. The test shows lesson video
arriving through the relay at the node (its heartbeats) and in Chromium, and the
node's camera reaching the lead through it, with every pair's candidate type.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from broker.certs import Issued, LocalCa
from broker.localstack import MosquittoServer, RedisServer, free_port, wait_for_port
from broker.render import ListenerTls
from hub.media.routing import Slot
from hub.server import Hub
from hub.sessions import SessionSpec
from hub.tokens import JoinRole
from protocols.ids import now_ms
from protocols.signalling import SignalAck, SignalJoin
from runtime.settings import dump_toml
from tests.conftest import HUB_SECRET, HUB_USER
from tests.hub.hubkit import hub_config, running_hub, wait_for
from tests.hub.signalling.peers import media_peer, token
from tests.netns import Island, island, island_skip_reason
from webrtc.ice import LOOPBACK, restrict_host_addresses
from webrtc.iceservers import IceServerSpec

REPO = Path(__file__).resolve().parents[2]
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"

pytestmark = [
    pytest.mark.skipif(island_skip_reason() is not None, reason=island_skip_reason() or ""),
    pytest.mark.skipif(not Path(TURNSERVER).exists(), reason="coturn is not installed"),
    pytest.mark.timeout(150),
]


@dataclass
class School:
    island: Island
    hub: Hub
    ca_file: Path
    api_cert: Issued
    turn_log: Path
    p1_secret: str

    @property
    def url(self) -> str:
        return f"https://{self.island.ours}:{self.hub.api_port}"


@pytest.fixture
def school_island() -> Iterator[Island]:
    with island("t") as it:
        yield it


@pytest.fixture
def turn(school_island: Island, tmp_path: Path) -> Iterator[tuple[int, str, Path, LocalCa]]:
    """turnserver from the deployed config: (port, shared secret, log, CA)."""
    ca = LocalCa(tmp_path / "ca")
    cert = ca.issue("turn", [school_island.ours])
    port, secret, log = free_port(), secrets.token_urlsafe(24), tmp_path / "turn.log"
    conf = (REPO / "deploy/coturn/turnserver.conf").read_text()
    for old, new in {
        "listening-port=3478": f"listening-port={port}",
        "tls-listening-port=5349": f"tls-listening-port={free_port()}",
        "#listening-ip=203.0.113.10": f"listening-ip={school_island.ours}",
        # relayed media leaves from our loopback, where the hub's media is
        "#relay-ip=203.0.113.10": "relay-ip=127.0.0.1",
        "static-auth-secret=REPLACE-WITH-THE-HUB-TURN-SECRET": f"static-auth-secret={secret}",
        "/etc/ssl/dualclass/fullchain.pem": str(cert.cert_file),
        "/etc/ssl/dualclass/privkey.pem": str(cert.key_file),
        "log-file=/var/log/turnserver/turnserver.log": f"log-file={log}",
    }.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    # in this test the hub's media address is loopback: allow exactly that
    conf += f"allow-loopback-peers\npidfile={tmp_path / 'turn.pid'}\nuserdb={tmp_path / 'db'}\n"
    (tmp_path / "turnserver.conf").write_text(conf)
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(tmp_path / "turnserver.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # turnserver's TCP listener on the same port says the UDP one is up too
        wait_for_port(school_island.ours, port, proc=proc)
        yield port, secret, log, ca
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def school(
    school_island: Island,
    turn: tuple[int, str, Path, LocalCa],
    redis_server: RedisServer,
    tmp_path: Path,
) -> AsyncIterator[School]:
    port, secret, log, ca = turn
    ours = school_island.ours
    broker_cert = ca.issue("mqtt", [ours])
    api_cert = ca.issue("api", [ours])
    mosquitto = MosquittoServer(
        tmp_path / "mq",
        host=ours,
        users={HUB_USER: HUB_SECRET},
        hub_users=[HUB_USER],
        tls=ListenerTls(cert_file=broker_cert.cert_file, key_file=broker_cert.key_file),
    ).start()
    restrict_host_addresses(LOOPBACK)
    config = hub_config(
        mosquitto,
        redis_server,
        mqtt_host=ours,
        mqtt_ca_file=ca.cert_file,
        api_host=ours,
        api_cert_file=api_cert.cert_file,
        api_key_file=api_cert.key_file,
        ice_host_addresses=LOOPBACK,
        ice_servers=[IceServerSpec(urls=[f"turn:{ours}:{port}?transport=udp"])],
        turn_secret=secret,
        turn_ttl_s=600,
        heartbeat_timeout_s=60,
    )
    try:
        async with running_hub(config) as hub:
            await hub.add_node("lead")
            p1_secret = await hub.add_node("p1")
            now = now_ms()
            await hub.create_session(
                SessionSpec(
                    session="S1",
                    lead="lead",
                    partners=["p1"],
                    title="Fractions",
                    subject="math",
                    grade=4,
                    starts_at=now,
                    ends_at=now + 3_600_000,
                )
            )
            yield School(school_island, hub, ca.cert_file, api_cert, log, p1_secret)
    finally:
        restrict_host_addresses(None)
        mosquitto.stop()


def _node_process(school: School, tmp_path: Path) -> subprocess.Popen[bytes]:
    """The p1 classroom node, a separate process inside the school's namespace."""
    ours = school.island.ours
    config = {
        "node_id": "p1",
        "mqtt_host": ours,
        "mqtt_port": _mqtt_port(school),
        "mqtt_password": school.p1_secret,
        "mqtt_ca_file": str(school.ca_file),
        "state_dir": str(tmp_path / "p1"),
        "api_enabled": False,
        "heartbeat_s": 1.0,
    }
    (tmp_path / "p1.toml").write_text(dump_toml(config, "node"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUALCLASS_")} | {
        "DUALCLASS_NODE_MEDIA__ENABLED": "1",
        "DUALCLASS_NODE_MEDIA__HUB_URL": school.url,
        "DUALCLASS_NODE_MEDIA__CA_FILE": str(school.ca_file),
        "DUALCLASS_NODE_MEDIA__ICE_TRANSPORT_POLICY": "relay",
        "DUALCLASS_NODE_MEDIA__WIDTH": "320",
        "DUALCLASS_NODE_MEDIA__HEIGHT": "240",
        "DUALCLASS_NODE_MEDIA__FPS": "15",
        "DUALCLASS_NODE_MEDIA__STATS_INTERVAL_S": "1",
    }
    argv = [sys.executable, "-m", "classroom_node", "--config", str(tmp_path / "p1.toml")]
    return subprocess.Popen(
        school.island.argv(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=(tmp_path / "p1.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def _mqtt_port(school: School) -> int:
    return school.hub.config.mqtt_port


async def _heartbeat_fps(school: School) -> float:
    raw = await school.hub.store.redis.hget("dc:heartbeat", "p1")
    media = json.loads(raw).get("media") if raw else None
    return float(media["fps"]) if media else 0.0


def _spki_pin(cert_file: Path) -> str:
    """Chromium's --ignore-certificate-errors-spki-list value for exactly this certificate."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


SELECTED_PAIR = """async () => {
  if (!window.dc || !window.dc.pc) return null;
  const stats = await window.dc.pc.getStats();
  let out = null;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) {
      const pair = stats.get(r.selectedCandidatePairId);
      out = [stats.get(pair.localCandidateId).candidateType,
             stats.get(pair.remoteCandidateId).candidateType];
    }
  });
  return out;
}"""


async def _browser_in_school(school: School, url: str) -> dict[str, Any]:
    """Chromium inside the school's namespace opens ``url``; what it decoded, over what."""
    from playwright.async_api import async_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, FRAMES_DECODED, wait_frames

    short = Path(tempfile.mkdtemp(prefix="dcturn-", dir="/tmp"))
    home, tmp = short / "home", short / "tmp"
    home.mkdir()
    tmp.mkdir()
    wrapper = short / "chromium"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(school.island.argv([CHROMIUM])) + ' "$@"\n')
    wrapper.chmod(0o755)
    ours = school.island.ours
    flags = [
        # the hub is an address, not a name: resolve nothing, as in every browser test
        f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE {ours}"
        if flag.startswith("--host-resolver-rules")
        else flag
        for flag in CHROMIUM_FLAGS
    ]
    # trust exactly the hub's certificate (from the test's CA), nothing more
    flags.append(f"--ignore-certificate-errors-spki-list={_spki_pin(school.api_cert.cert_file)}")
    try:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(short / "profile"),
                executable_path=str(wrapper),
                headless=True,
                args=flags,
                env={"HOME": str(home), "TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
            )
            try:
                page = await context.new_page()
                page.on("console", lambda msg: print("console:", msg.text))
                await page.goto(url)
                await page.wait_for_function(
                    "() => window.dc && window.dc.answered === true", timeout=30_000
                )
                await wait_frames(page, 30, timeout=40)
                return {
                    "pair": await page.evaluate(SELECTED_PAIR),
                    "frames": await page.evaluate(FRAMES_DECODED),
                    "errors": await page.evaluate("() => window.dc.errors.map((e) => e.code)"),
                    "ice_servers": await page.evaluate("() => window.dc.joined.ice_servers"),
                }
            finally:
                await context.close()
    finally:
        shutil.rmtree(short, ignore_errors=True)


async def test_school_behind_a_firewall_gets_the_lesson_through_turn(
    school: School, tmp_path: Path
) -> None:
    context = ssl.create_default_context(cafile=str(school.ca_file))
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    node = _node_process(school, tmp_path)
    try:
        async with media_peer(school.url, lead_join, source=1, ssl_context=context) as lead:
            signalling = school.hub.app.state.signalling if school.hub.app else None

            def relay_pair() -> tuple[str, str] | None:
                room = signalling.room("S1") if signalling is not None else None
                if room is None or room.relay is None:
                    return None
                return room.relay.candidate_types("p1")

            await wait_for(lambda: relay_pair() is not None, within=40, what="p1's media up")
            # the school's side of the pair is a TURN relay: nothing else reaches the hub
            assert relay_pair() is not None and relay_pair()[1] == "relay", relay_pair()
            deadline = time.monotonic() + 40
            while await _heartbeat_fps(school) < 5:
                assert node.poll() is None, (tmp_path / "p1.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "p1 never reported decoding the lead"
                await asyncio.sleep(0.2)
            # and the other way: the lead sees p1's camera, relayed, once p1 has the floor
            assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
            assert isinstance(await lead.client.interact("floor.grant", {"node": "p1"}), SignalAck)
            await wait_for(
                lambda: lead.rtc.slot(Slot.FLOOR).decoded >= 15,
                within=30,
                what="the lead decoding p1's relayed camera",
            )
            # the tutor's browser in the same school, beside the node, relay only
            url = f"{school.url}/console/tutor?relay=1&token={token(JoinRole.TUTOR, node='p1')}"
            seen = await _browser_in_school(school, url)
            assert seen["pair"] is not None and seen["pair"][0] == "relay", seen
            assert seen["frames"] >= 30 and seen["errors"] == [], seen
            turn_entry = next(s for s in seen["ice_servers"] if s["urls"][0].startswith("turn:"))
            expiry = int(turn_entry["username"].split(":")[0])
            assert time.time() < expiry <= time.time() + 600 + 5
            # the node's camera was never taken by the console
            assert relay_pair() is not None
            minted = school.hub.metrics.registry.get_sample_value(
                "dualclass_hub_turn_credentials_total"
            )
            assert minted is not None and minted >= 3  # node, lead, browser
    finally:
        node.terminate()
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait(5)
    log = school.turn_log.read_text() if school.turn_log.exists() else ""
    assert "allocation" in log.lower() or "session" in log.lower(), log[-2000:]
