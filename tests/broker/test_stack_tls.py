"""``dualclass stack up --tls``: a throwaway local CA, Mosquitto speaking TLS only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from broker.client import ClientSettings, MqttLink
from broker.stack import stack_down, stack_up
from broker.tls import TlsSettings
from hub.config import HubConfig


def _hub(port: int, password: str, tls: TlsSettings | None) -> ClientSettings:
    return ClientSettings(
        port=port,
        username="hub",
        password=password,
        client_id="hub-stack-tls",
        timeout_s=2,
        connect_timeout_s=2,
        tls=tls,
    )


async def test_tls_stack_serves_mqtt_over_tls_with_its_own_ca(tmp_path: Path) -> None:
    info = await asyncio.to_thread(stack_up, tmp_path / "stack", tls=True)
    try:
        data = json.loads(info.path.read_text())
        assert info.tls and info.ca_file is not None and info.ca_file.exists()
        assert (info.path.stat().st_mode & 0o777) == 0o600
        key_file = Path(data["api"]["key_file"])
        assert (key_file.stat().st_mode & 0o777) == 0o600  # noqa: ASYNC240
        password = data["mqtt"]["hub_password"]
        # the hub reading this stack file trusts the CA and checks the name
        config = HubConfig.load(stack_file=info.path)
        tls = config.client_settings().tls
        assert tls is not None and tls.ca_file == info.ca_file and tls.check_hostname
        async with MqttLink(_hub(info.mqtt_port, password, tls)) as link:
            await link.wait_connected(10)
        # a plain client gets nowhere
        plain = MqttLink(_hub(info.mqtt_port, password, None))
        await plain.start()
        for _ in range(200):
            if plain.failures:
                break
            await asyncio.sleep(0.025)
        assert plain.failures >= 1 and plain.connects == 0
        await plain.close()
    finally:
        await asyncio.to_thread(stack_down, tmp_path / "stack")
