"""Decks through the real stack: upload to the hub process, prefetch by real nodes.

A lesson's slides must be on every partner's disk before class, fetched with the
node's own credentials, verified, and resumed after a cut; a classroom that joins
late or was offline catches up by itself, and the hub knows who is ready.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import httpx
import pytest

from classroom_node.decks.cache import DeckCache
from classroom_node.decks.fetcher import DeckFetcher, FetchFailed
from protocols.ids import now_ms
from simulators.faults import TcpProxy
from simulators.harness import LocalRun
from simulators.slides import write_deck
from tests.hub.decks import hostile
from tests.hub.hubkit import wait_for

SESSION = "decks-math-5a"
PARTNERS = ["p1", "p2", "p3"]


async def _has(ready: Awaitable[dict[str, int]], nodes: set[str]) -> bool:
    return set(await ready) >= nodes


@pytest.fixture
async def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LocalRun]:
    # the hub process renders half-HD slides: the same path, a quarter of the work
    monkeypatch.setenv("DUALCLASS_HUB_DECK_WIDTH", "960")
    monkeypatch.setenv("DUALCLASS_HUB_DECK_HEIGHT", "540")
    async with LocalRun(tmp_path, heartbeat_s=1.0) as local:
        for node in ["lead", *PARTNERS]:
            await local.register_node(node)
        yield local


async def _session(run: LocalRun) -> None:
    now = now_ms()
    await run.create_session(
        {
            "session": SESSION,
            "lead": "lead",
            "partners": PARTNERS,
            "title": "Fractions",
            "starts_at": now,
            "ends_at": now + 600_000,
        }
    )


async def _upload(run: LocalRun, data: bytes, name: str = "fractions.pdf") -> httpx.Response:
    return await run.http.post(
        f"/api/sessions/{SESSION}/decks",
        params={"name": name},
        content=data,
        headers={"Content-Type": "application/pdf"},
        timeout=120,
    )


async def test_upload_prefetch_everywhere_one_node_offline_one_late(
    run: LocalRun, tmp_path: Path
) -> None:
    await _session(run)
    # p3's path to the hub's API is down when the deck arrives (its MQTT is fine)
    proxy = await TcpProxy(run.hub.api_port).start()  # type: ignore[union-attr]
    proxy.cut()
    nodes = {n: await run.start_node(n) for n in ["lead", "p1"]}
    nodes["p3"] = await run.start_node(
        "p3", hub_url=f"http://127.0.0.1:{proxy.port}", deck_retry_max_s=2.0
    )
    await run.wait_for(lambda: all(SESSION in n.sessions for n in nodes.values()), 20, "joins")

    pdf = write_deck(tmp_path / "fractions.pdf", pages=5)
    response = await _upload(run, pdf.read_bytes())
    assert response.status_code == 201, response.text
    deck = response.json()
    assert deck["page_count"] == 5 and deck["name"] == "fractions.pdf"
    deck_id = deck["id"]
    # p2's box is switched on only after the upload: its join names the deck
    nodes["p2"] = await run.start_node("p2")

    # the join the hub re-sends names the deck; every reachable node fetches it all
    for name in ["lead", "p1", "p2"]:
        node = nodes[name]
        await run.wait_for(lambda n=node: n.deck_cache.complete(deck_id), 30, f"{name} deck")
        for index, page in enumerate(deck["pages"]):
            path = node.deck_cache.page_of(deck_id, index)
            assert path is not None
            assert hashlib.sha256(path.read_bytes()).hexdigest() == page["sha256"]
    assert not nodes["p3"].deck_cache.complete(deck_id)
    assert nodes["p3"].deck_sync.fetcher.stats.failures >= 1  # type: ignore[union-attr]

    # the hub hears readiness in heartbeats; p3 is not ready yet
    async def ready() -> dict[str, int]:
        info = await run.api("GET", f"/api/sessions/{SESSION}/decks")
        return dict(info["ready"].get(deck_id, {}))

    try:
        await wait_for(lambda: _has(ready(), {"lead", "p1", "p2"}), within=60, what="readiness")
    except AssertionError:
        log = (run.workdir / "hub" / "hub.log").read_text()[-3000:]
        raise AssertionError(
            [
                await ready(),
                {n: (x.stats.heartbeats, x.wanted_decks()) for n, x in nodes.items()},
                log,
            ]
        ) from None
    assert set(await ready()) == {"lead", "p1", "p2"}

    # p3's link comes back: it completes on its own (retry with backoff)
    proxy.restore()
    try:
        await run.wait_for(lambda: nodes["p3"].deck_cache.complete(deck_id), 60, "p3 catches up")
    except TimeoutError:
        raise AssertionError(nodes["p3"].describe()["decks"]) from None
    await proxy.stop()
    # the node's own API tells the tutor the deck is ready
    described = nodes["p2"].describe()["decks"]["decks"][deck_id]
    assert described["ready"] and described["cached"] == 5


async def test_hostile_uploads_refused_members_read_and_a_cut_download_resumes(
    run: LocalRun, tmp_path: Path
) -> None:
    await _session(run)
    # hostile files: a typed refusal each, counted, nothing attached, the hub fine
    for data, status, code in [
        (b"hello, this is not a deck" * 40, 415, "not_a_pdf"),
        (hostile.encrypted(), 422, "encrypted"),
        (hostile.many_pages(10_000), 422, "too_many_pages"),
    ]:
        response = await _upload(run, data)
        assert response.status_code == status and response.json()["code"] == code, code
        assert (await run.http.get("/healthz")).status_code == 200
        metrics = (await run.http.get("/metrics")).text
        assert f'dualclass_hub_deck_refused_total{{code="{code}"}} 1.0' in metrics
    assert (await run.api("GET", f"/api/sessions/{SESSION}/decks"))["decks"] == []

    # only members of the session (and its join tokens) read its decks
    deck = (await _upload(run, write_deck(tmp_path / "d.pdf", pages=2).read_bytes())).json()
    page_url = f"/api/sessions/{SESSION}/decks/{deck['id']}/pages/0"
    base = run.hub.base_url  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=base) as anon:
        assert (await anon.get(page_url)).status_code == 401
        assert (await anon.get(page_url, auth=("p1", "wrong"))).status_code == 401
        outsider = await run.register_node("x9")
        assert (await anon.get(page_url, auth=("x9", outsider))).status_code == 403
        member = await anon.get(page_url, auth=("p1", run.secrets["p1"]))
        assert member.status_code == 200 and member.headers["content-type"] == "image/png"
        assert hashlib.sha256(member.content).hexdigest() == deck["pages"][0]["sha256"]
        tail = await anon.get(
            page_url, auth=("p1", run.secrets["p1"]), headers={"Range": "bytes=100-"}
        )
        assert tail.status_code == 206 and tail.content == member.content[100:]
        token = (await run.api("POST", f"/api/sessions/{SESSION}/tokens", json={"role": "lead"}))[
            "token"
        ]
        as_lead = await anon.get(page_url, headers={"Authorization": f"Bearer {token}"})
        assert as_lead.status_code == 200

    # a node's download cut half-way resumes with Range; corrupted bytes are thrown away
    cache = DeckCache(tmp_path / "cache")
    cache.open()
    fetcher = DeckFetcher(base, "p1", run.secrets["p1"], cache)
    try:
        first, second = deck["pages"]
        # page 0 was cut after half its bytes; page 1 arrived corrupted
        half = member.content[: len(member.content) // 2]
        cache.part_path(first["sha256"]).write_bytes(half)
        cache.part_path(second["sha256"]).write_bytes(b"\x00" * (second["size"] - 10))
        with pytest.raises(FetchFailed, match="hash_mismatch"):
            await fetcher.ensure(SESSION, deck["id"])
        assert fetcher.stats.resumed == 2 and fetcher.stats.hash_mismatch == 1
        assert cache.has_page(first["sha256"]) and not cache.has_page(second["sha256"])
        assert await fetcher.ensure(SESSION, deck["id"])
        assert cache.complete(deck["id"])
    finally:
        await fetcher.close()
