"""The registry: schools, classrooms and teachers (issue 3), kept in Redis.

What lives here, one job per module:

- ``models``      pydantic models of the three kinds and the ``Kind`` enum.
- ``exceptions``  ``RegistryError`` root; not-found / exists map onto the hub's own
                  ``NotFound`` / ``AlreadyExists`` so the API renders them for free.
- ``rules``       pure referential checks over a ``Snapshot`` of the whole registry
                  (a classroom's school exists, its node is registered, nothing
                  still refers to what is being deleted).
- ``csvio``       pure CSV parsing that reports *every* bad row with its line.
- ``store``       ``RegistryStore``: Redis hashes, optimistic WATCH transactions.
- ``command``     ``dualclass import schools|classrooms|teachers FILE``.

Nodes are not duplicated here: they live in the hub's store (``dc:nodes``) and are
added/rotated/removed by ``HubCore``; a classroom only names its node id.

May import: ``hub.exceptions``, ``hub.store`` (key names), pydantic, redis.
"""

from __future__ import annotations

from registry.exceptions import (
    BrokenReference,
    EntityExists,
    ImportRejected,
    InUse,
    RegistryError,
    RowError,
    UnknownEntity,
)
from registry.models import (
    Classroom,
    Entity,
    Kind,
    School,
    SchoolKind,
    Teacher,
    TeacherRole,
)
from registry.store import RegistryStore

__all__ = [
    "BrokenReference",
    "Classroom",
    "Entity",
    "EntityExists",
    "ImportRejected",
    "InUse",
    "Kind",
    "RegistryError",
    "RegistryStore",
    "RowError",
    "School",
    "SchoolKind",
    "Teacher",
    "TeacherRole",
    "UnknownEntity",
]
