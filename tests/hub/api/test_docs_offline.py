"""What a person opening the hub in a browser gets without internet access."""

from __future__ import annotations

import re

import httpx

from hub.api import create_app
from hub.config import HubConfig
from hub.core import HubCore
from tests.hub.hubkit import ADMIN_KEY


async def test_swagger_ui_assets_come_from_the_hub_not_a_cdn() -> None:
    app = create_app(HubCore(HubConfig(admin_key=ADMIN_KEY, redis_url="redis://127.0.0.1:1/0")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page.text)
        assert assets, page.text
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is fetched from another host"
            answer = await client.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 1000, asset


async def test_the_bare_hub_address_leads_to_the_dashboard() -> None:
    app = create_app(HubCore(HubConfig(admin_key=ADMIN_KEY, redis_url="redis://127.0.0.1:1/0")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        answer = await client.get("/", follow_redirects=True)
    assert answer.status_code == 200
    assert answer.url.path == "/ops"
