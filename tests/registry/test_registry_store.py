"""RegistryStore against a real Redis: CRUD, referential checks, all-or-nothing import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from broker.localstack import RedisServer
from hub.store import Store
from registry import (
    BrokenReference,
    Classroom,
    EntityExists,
    ImportRejected,
    InUse,
    Kind,
    RegistryStore,
    School,
    SchoolKind,
    UnknownEntity,
)
from registry.csvio import parse


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[tuple[Store, RegistryStore]]:
    store = Store.from_url(redis_server.url)
    yield store, RegistryStore(store.redis)
    await store.close()


async def test_crud_and_references(stores: tuple[Store, RegistryStore]) -> None:
    store, reg = stores
    school = School(id="L1", name="Lead", kind=SchoolKind.LEAD)
    await reg.create(Kind.SCHOOLS, school)
    with pytest.raises(EntityExists):
        await reg.create(Kind.SCHOOLS, school)
    with pytest.raises(BrokenReference, match="node 'n1'"):
        await reg.create(Kind.CLASSROOMS, Classroom(id="c1", school="L1", node="n1"))
    await store.add_node("n1", "$7$hash")
    await reg.create(Kind.CLASSROOMS, Classroom(id="c1", school="L1", node="n1"))
    await reg.replace(Kind.CLASSROOMS, Classroom(id="c1", school="L1", node="n1", seats=30))
    got = await reg.get(Kind.CLASSROOMS, "c1")
    assert isinstance(got, Classroom) and got.seats == 30
    with pytest.raises(InUse, match="classroom 'c1'"):
        await reg.delete(Kind.SCHOOLS, "L1")
    await reg.delete(Kind.CLASSROOMS, "c1")
    await reg.delete(Kind.SCHOOLS, "L1")
    with pytest.raises(UnknownEntity):
        await reg.get(Kind.SCHOOLS, "L1")
    assert await reg.entities(Kind.SCHOOLS) == []


async def test_import_is_all_or_nothing(stores: tuple[Store, RegistryStore]) -> None:
    _, reg = stores
    await reg.create(Kind.SCHOOLS, School(id="L1", name="Lead", kind=SchoolKind.LEAD))
    rows, errors = parse(Kind.CLASSROOMS, "id,school\nc1,L1\nc2,NOPE\nc3,L1\n")
    assert errors == []
    with pytest.raises(ImportRejected) as info:
        await reg.import_rows(Kind.CLASSROOMS, rows, file="rooms.csv")
    assert [(e.line, "NOPE" in e.message) for e in info.value.errors] == [(3, True)]
    assert await reg.entities(Kind.CLASSROOMS) == []
    good = [row for row in rows if row[0] != 3]
    summary = await reg.import_rows(Kind.CLASSROOMS, good)
    assert (summary.created, summary.updated) == (2, 0)
    again = await reg.import_rows(Kind.CLASSROOMS, good)
    assert (again.created, again.updated) == (0, 2)


async def test_concurrent_creates_of_one_id_one_wins(stores: tuple[Store, RegistryStore]) -> None:
    _, reg = stores
    school = School(id="L1", name="Lead", kind=SchoolKind.LEAD)
    results = await asyncio.gather(
        *(reg.create(Kind.SCHOOLS, school) for _ in range(5)), return_exceptions=True
    )
    assert sum(1 for r in results if isinstance(r, School)) == 1
    assert all(isinstance(r, EntityExists) for r in results if not isinstance(r, School))
