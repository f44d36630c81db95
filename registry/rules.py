"""Referential rules of the registry, as pure functions over a ``Snapshot``.

Why pure: the store reads a snapshot inside a WATCH, asks these functions, and
writes only if they found nothing — so the rules are tested without Redis and the
same code guards single writes, bulk imports and deletes.

Rules: a classroom's and a teacher's school exists; a classroom's node (when set) is
registered in the hub (``dc:nodes``) and serves no other classroom; a school is not
deleted while classrooms or teachers belong to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from registry.exceptions import RowError
from registry.models import Classroom, Entity, Kind, School, Teacher

__all__ = ["Snapshot", "check", "check_batch", "users_of"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The registry as read at one moment, plus the hub's registered node ids."""

    schools: Mapping[str, School] = field(default_factory=dict)
    classrooms: Mapping[str, Classroom] = field(default_factory=dict)
    teachers: Mapping[str, Teacher] = field(default_factory=dict)
    nodes: frozenset[str] = frozenset()

    def of(self, kind: Kind) -> Mapping[str, Entity]:
        collections: dict[Kind, Mapping[str, Entity]] = {
            Kind.SCHOOLS: self.schools,
            Kind.CLASSROOMS: self.classrooms,
            Kind.TEACHERS: self.teachers,
        }
        return collections[kind]


def check(item: Entity, snapshot: Snapshot) -> list[str]:
    """Every broken reference of ``item`` if it were stored now (empty = fine)."""
    problems: list[str] = []
    if isinstance(item, Classroom | Teacher) and item.school not in snapshot.schools:
        problems.append(f"school {item.school!r} does not exist")
    if isinstance(item, Classroom) and item.node is not None:
        if item.node not in snapshot.nodes:
            problems.append(f"node {item.node!r} is not registered (POST /api/nodes first)")
        for other in snapshot.classrooms.values():
            if other.node == item.node and other.id != item.id:
                problems.append(f"node {item.node!r} already serves classroom {other.id!r}")
    return problems


def check_batch(items: Iterable[tuple[int, Entity]], snapshot: Snapshot) -> list[RowError]:
    """Rules for a whole file of one kind: each row against the registry *and* the
    rows above it (duplicate ids, one node claimed twice in the file)."""
    rows = list(items)
    # Rows of this file replace stored ones with the same id, so node clashes are
    # checked against the stored classrooms the file leaves alone, and the file's rows.
    replaced = {item.id for _, item in rows}
    kept = {k: c for k, c in snapshot.classrooms.items() if k not in replaced}
    others = Snapshot(snapshot.schools, kept, snapshot.teachers, snapshot.nodes)
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    node_line: dict[str, tuple[int, str]] = {}
    for line, item in rows:
        if item.id in first_line:
            errors.append(
                RowError(line, f"duplicate id {item.id!r} (first on line {first_line[item.id]})")
            )
            continue
        first_line[item.id] = line
        problems = check(item, others)
        if isinstance(item, Classroom) and item.node is not None:
            if item.node in node_line:
                other_line, other = node_line[item.node]
                problems.append(f"node {item.node!r} also given to {other!r} on line {other_line}")
            node_line[item.node] = (line, item.id)
        errors.extend(RowError(line, p) for p in problems)
    return errors


def users_of(kind: Kind, ident: str, snapshot: Snapshot) -> list[str]:
    """What still refers to ``kind``/``ident`` (blocks its deletion), e.g. ``classroom 'c1'``."""
    if kind is not Kind.SCHOOLS:
        return []
    users = [f"classroom {c.id!r}" for c in snapshot.classrooms.values() if c.school == ident]
    users += [f"teacher {t.id!r}" for t in snapshot.teachers.values() if t.school == ident]
    return sorted(users)
