"""HTTPS and WSS: the hub serving TLS itself, and deploy/nginx/dualclass.conf in front.

Real nginx (Debian) on loopback ports with a trustme certificate, the real hub
behind it; the signalling WebSocket goes through the proxy's upgrade.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from broker.localstack import MosquittoServer, RedisServer, free_port, wait_for_port
from classroom_node.media.signalclient import SignalClient
from hub.server import Hub
from hub.tokens import JoinRole
from protocols.signalling import SignalAck, SignalJoin
from tests.hub.hubkit import classroom, hub_config, running_hub
from tests.hub.signalling.peers import token

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def cert(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    crt, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    for i, pem in enumerate(leaf.cert_chain_pems):
        pem.write_to_path(str(crt), append=i > 0)
    leaf.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    return crt, key


def _client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def _signal_round_trip(url: str, context: ssl.SSLContext) -> None:
    """A lead console's signalling over WSS: join, start the lesson, see the state."""
    join = SignalJoin(token=token(JoinRole.LEAD), role="lead", media=False)
    async with SignalClient(url, join, ssl_context=context) as client:
        joined = await client.joined()
        assert joined.role == "lead"
        assert isinstance(await client.interact("lesson.start"), SignalAck)
        await client.wait(lambda c: c.state is not None and c.state.status == "live", 10)


@pytest.fixture
async def plain_hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        async with classroom(hub, mosquitto.port, partners=1):
            yield hub


@pytest.fixture
def nginx(plain_hub: Hub, cert: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[int, int]]:
    """deploy/nginx/dualclass.conf, ports and paths moved to the test's: (https, http)."""
    https_port, http_port = free_port(), free_port()
    site = (REPO / "deploy/nginx/dualclass.conf").read_text()
    for old, new in {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/ssl/dualclass/fullchain.pem": str(cert[0]),
        "/etc/ssl/dualclass/privkey.pem": str(cert[1]),
        "127.0.0.1:8080": f"127.0.0.1:{plain_hub.api_port}",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    run = tmp_path / "nginx"
    run.mkdir()
    (run / "site.conf").write_text(site)
    temps = "".join(
        f"    {kind}_temp_path {run / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (run / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {run / 'nginx.pid'};\n"
        f"error_log {run / 'error.log'} warn;\n"
        "events { worker_connections 128; }\n"
        f"http {{\n    access_log off;\n{temps}    include {run / 'site.conf'};\n}}\n"
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(run), "-c", str(run / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=(run / "stderr.log").open("wb"),
    )
    try:
        wait_for_port("127.0.0.1", https_port, proc=proc)
        wait_for_port("127.0.0.1", http_port, proc=proc)
        yield https_port, http_port
    finally:
        proc.terminate()
        proc.wait(10)


async def test_nginx_serves_the_hub_over_https_with_hsts(
    nginx: tuple[int, int], ca: trustme.CA
) -> None:
    https_port, http_port = nginx
    context = _client_ssl(ca)
    async with httpx.AsyncClient(verify=context) as client:
        health = await client.get(f"https://127.0.0.1:{https_port}/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=")
        page = await client.get(f"https://127.0.0.1:{https_port}/console/tutor")
        assert page.status_code == 200 and "console.js" in page.text
        # plain HTTP only redirects to HTTPS, it never serves the hub
        plain = await client.get(f"http://127.0.0.1:{http_port}/console/tutor?token=x")
        assert plain.status_code == 301
        assert plain.headers["location"].startswith("https://")
    # a client that does not trust the CA is refused
    async with httpx.AsyncClient(verify=ssl.create_default_context()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://127.0.0.1:{https_port}/healthz")


async def test_signalling_websocket_through_nginx(nginx: tuple[int, int], ca: trustme.CA) -> None:
    await _signal_round_trip(f"https://127.0.0.1:{nginx[0]}", _client_ssl(ca))


async def test_hub_serves_https_and_wss_itself(
    mosquitto: MosquittoServer,
    redis_server: RedisServer,
    cert: tuple[Path, Path],
    ca: trustme.CA,
) -> None:
    config = hub_config(mosquitto, redis_server, api_cert_file=cert[0], api_key_file=cert[1])
    async with running_hub(config) as hub, classroom(hub, mosquitto.port, partners=1):
        context = _client_ssl(ca)
        base = f"https://127.0.0.1:{hub.api_port}"
        async with httpx.AsyncClient(verify=context) as client:
            health = await client.get(base + "/healthz")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"].startswith("max-age=")
        # nothing is served in clear on the TLS port
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.HTTPError):
                await client.get(f"http://127.0.0.1:{hub.api_port}/healthz")
        await _signal_round_trip(base, context)
