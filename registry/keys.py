"""Every Redis key of the registry, in one place.

::

    dc:reg:schools     hash  school id    -> JSON of ``School``
    dc:reg:classrooms  hash  classroom id -> JSON of ``Classroom``
    dc:reg:teachers    hash  teacher id   -> JSON of ``Teacher``
    dc:nodes           hash  node id -> ``$7$`` hash of its MQTT secret: the
                       registered classroom boxes (written by the hub when a node
                       is registered; read here, since a classroom names its node)
"""

from __future__ import annotations

from registry.models import Kind

__all__ = ["NODES_KEY", "registry_key"]

NODES_KEY = "dc:nodes"


def registry_key(kind: Kind) -> str:
    """The hash holding every entity of ``kind``."""
    return f"dc:reg:{kind.value}"
