"""``dualclass import``: line-numbered errors, exit 2 and nothing imported on any error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.localstack import RedisServer
from hub.store import Store
from registry import Kind, RegistryStore
from registry.command import main


def _run(*argv: str) -> int:
    return main(list(argv))


async def _count(url: str, kind: Kind) -> int:
    store = Store.from_url(url)
    try:
        return len(await RegistryStore(store.redis).entities(kind))
    finally:
        await store.close()


def test_import_schools_then_bad_classrooms(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schools = tmp_path / "schools.csv"
    schools.write_text(
        "id,name,kind,region,rural\nL1,Lead,lead,east,no\nP1,Hill,partner,west,yes\n"
    )
    assert _run("schools", str(schools), "--redis", redis_server.url) == 0
    assert "2 created" in capsys.readouterr().out

    rooms = tmp_path / "rooms.csv"
    rooms.write_text("id,school,seats\nc1,L1,40\nc2,XX,40\nc3,P1,-1\nc4,P1,30\n")
    assert _run("classrooms", str(rooms), "--redis", redis_server.url) == 2
    err = capsys.readouterr().err
    assert "rooms.csv line 4: seats" in err
    assert asyncio.run(_count(redis_server.url, Kind.CLASSROOMS)) == 0

    rooms.write_text("id,school,seats\nc1,L1,40\nc2,XX,40\nc4,P1,30\n")
    assert _run("classrooms", str(rooms), "--redis", redis_server.url) == 2
    assert "rooms.csv line 3: school 'XX' does not exist" in capsys.readouterr().err
    assert asyncio.run(_count(redis_server.url, Kind.CLASSROOMS)) == 0

    rooms.write_text("id,school,seats\nc1,L1,40\nc4,P1,30\n")
    assert _run("classrooms", str(rooms), "--redis", redis_server.url) == 0
    assert asyncio.run(_count(redis_server.url, Kind.CLASSROOMS)) == 2


def test_stack_file_and_unreachable_redis(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text('{"redis": {"url": "redis://127.0.0.1:1/0"}}')
    schools = tmp_path / "schools.csv"
    schools.write_text("id,name,kind\nL1,Lead,lead\n")
    assert _run("schools", str(schools), "--stack-file", str(stack)) == 1
