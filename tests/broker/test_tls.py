"""MQTT over TLS against a real Mosquitto: CA, server name, client certificates.

Certificates come from trustme (a test CA); the local stack's own CA
(``broker.certs``) is tested the same way in ``test_stack_tls``.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from broker.client import ClientSettings, MqttLink
from broker.localstack import MosquittoServer, free_port, wait_for_port
from broker.render import ListenerTls, hash_password, render_listener
from broker.tls import TlsSettings
from tests.conftest import HUB_SECRET, HUB_USER, NODE_NAMES, node_secret

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def certs(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory: broker certificate for 127.0.0.1 and localhost (server.*), one for
    another name (named.*), a client certificate (client.*), the CA and a foreign CA."""
    d = tmp_path_factory.mktemp("certs")
    for name, hosts in (
        ("server", ["127.0.0.1", "localhost"]),
        ("named", ["broker.invalid"]),
        ("client", ["p1@clients.invalid"]),
    ):
        leaf = ca.issue_cert(*hosts)
        for i, pem in enumerate(leaf.cert_chain_pems):
            pem.write_to_path(str(d / f"{name}.crt"), append=i > 0)
        leaf.private_key_pem.write_to_path(str(d / f"{name}.key"))
    ca.cert_pem.write_to_path(str(d / "ca.crt"))
    trustme.CA().cert_pem.write_to_path(str(d / "other-ca.crt"))
    for path in d.iterdir():
        path.chmod(0o600)
    return d


def _users() -> dict[str, str]:
    return {HUB_USER: HUB_SECRET} | {n: node_secret(n) for n in NODE_NAMES}


def _broker(workdir: Path, tls: ListenerTls) -> MosquittoServer:
    return MosquittoServer(workdir, users=_users(), hub_users=[HUB_USER], tls=tls).start()


@pytest.fixture
def tls_broker(tmp_path: Path, certs: Path) -> Iterator[MosquittoServer]:
    server = _broker(
        tmp_path / "mq", ListenerTls(cert_file=certs / "server.crt", key_file=certs / "server.key")
    )
    yield server
    server.stop()


def _settings(port: int, user: str = "p1", **tls: object) -> ClientSettings:
    return ClientSettings(
        port=port,
        username=user,
        password=HUB_SECRET if user == HUB_USER else node_secret(user),
        client_id=f"{user}-tls",
        reconnect_max_s=0.5,
        # a plain client at a TLS listener (or TLS without the required client
        # certificate) hears nothing back: the connect times out
        timeout_s=2,
        tls=TlsSettings(**tls) if tls else None,  # type: ignore[arg-type]
    )


async def _round_trip(port: int, **tls: object) -> None:
    """p1 publishes its uplink over TLS; the hub (also over TLS) receives it."""
    async with (
        MqttLink(_settings(port, HUB_USER, **tls)) as hub,
        MqttLink(_settings(port, "p1", **tls)) as p1,
    ):
        await hub.wait_connected(10)
        await p1.wait_connected(10)
        await hub.subscribe("dc/v1/nodes/+/up")
        inbox = hub.messages()
        await p1.publish("dc/v1/nodes/p1/up", b"over tls")
        msg = await asyncio.wait_for(anext(inbox), 10)
        assert (msg.topic, msg.payload) == ("dc/v1/nodes/p1/up", b"over tls")


async def _never_connects(settings: ClientSettings, expect: str, failures: int = 2) -> MqttLink:
    """The link keeps retrying (no crash), never connects, and says why."""
    link = MqttLink(settings)
    await link.start()
    try:
        for _ in range(800):
            if link.failures >= failures:
                break
            await asyncio.sleep(0.025)
        assert link.failures >= failures and link.connects == 0
        assert not link.connected.is_set()
        assert link.last_error is not None and re.search(expect, link.last_error), link.last_error
    finally:
        await link.close()
    return link


async def test_node_and_hub_talk_over_tls(tls_broker: MosquittoServer, certs: Path) -> None:
    await _round_trip(tls_broker.port, ca_file=certs / "ca.crt")


async def test_broker_signed_by_another_ca_is_refused(
    tls_broker: MosquittoServer, certs: Path
) -> None:
    d = certs
    await _never_connects(
        _settings(tls_broker.port, ca_file=d / "other-ca.crt"), "CERTIFICATE_VERIFY_FAILED"
    )


async def test_plain_client_gets_nothing_from_a_tls_listener(tls_broker: MosquittoServer) -> None:
    await _never_connects(_settings(tls_broker.port), ".", failures=1)


async def test_missing_ca_file_is_retried_not_fatal(
    tls_broker: MosquittoServer, tmp_path: Path
) -> None:
    await _never_connects(
        _settings(tls_broker.port, ca_file=tmp_path / "nope.crt"), "TLS setup: .*No such file"
    )


async def test_server_name_is_checked(tmp_path: Path, certs: Path) -> None:
    """A certificate for another name is refused unless name checking is off."""
    d = certs
    tls = ListenerTls(cert_file=d / "named.crt", key_file=d / "named.key")
    server = _broker(tmp_path / "mq", tls)
    try:
        await _never_connects(
            _settings(server.port, ca_file=d / "ca.crt"), "match|mismatch|CERTIFICATE_VERIFY"
        )
        await _round_trip(server.port, ca_file=d / "ca.crt", check_hostname=False)
    finally:
        server.stop()


async def test_client_certificate_required(tmp_path: Path, certs: Path) -> None:
    d = certs
    tls = ListenerTls(
        cert_file=d / "server.crt",
        key_file=d / "server.key",
        ca_file=d / "ca.crt",
        require_certificate=True,
    )
    server = _broker(tmp_path / "mq", tls)
    try:
        await _never_connects(_settings(server.port, ca_file=d / "ca.crt"), ".", failures=1)
        await _round_trip(
            server.port, ca_file=d / "ca.crt", cert_file=d / "client.crt", key_file=d / "client.key"
        )
    finally:
        server.stop()


async def test_deployed_mosquitto_conf_runs_and_speaks_tls(tmp_path: Path, certs: Path) -> None:
    """deploy/mosquitto/dualclass.conf, paths and ports moved under tmp, in a real broker:
    TLS on the network listener, plain only on the loopback one."""
    d = certs
    tls_port, plain_port = free_port(), free_port()
    conf = (REPO / "deploy/mosquitto/dualclass.conf").read_text()
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "passwd").write_text(
        "".join(f"{u}:{hash_password(s)}\n" for u, s in _users().items())
    )
    (tmp_path / "acl").write_text(
        f"user {HUB_USER}\ntopic readwrite dc/v1/#\n\nuser p1\ntopic write dc/v1/nodes/p1/up\n"
    )
    for old, new in {
        "/etc/mosquitto/dualclass/passwd": str(tmp_path / "passwd"),
        "/etc/mosquitto/dualclass/acl": str(tmp_path / "acl"),
        "/etc/mosquitto/certs/server.crt": str(d / "server.crt"),
        "/etc/mosquitto/certs/server.key": str(d / "server.key"),
        "/var/lib/mosquitto/": f"{data}/",
        "listener 8883 0.0.0.0": f"listener {tls_port} 127.0.0.1",
        "listener 1883 127.0.0.1": f"listener {plain_port} 127.0.0.1",
    }.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    conf += f"user {getpass.getuser()}\nlog_dest file {tmp_path / 'log'}\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(tmp_path / "mosquitto.conf")])  # noqa: ASYNC220
    try:
        wait_for_port("127.0.0.1", tls_port, proc=proc)
        wait_for_port("127.0.0.1", plain_port, proc=proc)
        await _round_trip(tls_port, ca_file=d / "ca.crt")
        await _never_connects(_settings(tls_port), ".", failures=1)
        await _round_trip(plain_port)
    finally:
        proc.terminate()
        proc.wait(10)


def test_rendered_and_deployed_listeners_agree() -> None:
    """The TLS and loopback listener blocks of deploy/mosquitto/dualclass.conf are what
    ``broker.render`` writes for the same settings (comments aside)."""
    lines = [
        line.strip()
        for line in (REPO / "deploy/mosquitto/dualclass.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    def block(first: str) -> list[str]:
        start = lines.index(first)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("listener ")),
            len(lines),
        )
        return lines[start:end]

    tls = ListenerTls(
        cert_file=Path("/etc/mosquitto/certs/server.crt"),
        key_file=Path("/etc/mosquitto/certs/server.key"),
    )
    assert block("listener 8883 0.0.0.0") == render_listener(8883, "0.0.0.0", tls)
    assert block("listener 1883 127.0.0.1") == render_listener(1883, "127.0.0.1", None)
