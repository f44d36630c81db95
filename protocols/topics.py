"""MQTT topic names: frozen builders and one parser.

The prefix is configurable (default ``dc/v1``) so two deployments can share a
broker. Identifiers that end up in a topic may not contain ``/``, ``+`` or ``#``:
they are checked on construction, so a node id can never widen a subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocols.exceptions import TopicError

__all__ = ["DEFAULT_PREFIX", "TopicKind", "TopicRef", "Topics"]

DEFAULT_PREFIX = "dc/v1"
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


class TopicKind(StrEnum):
    SESSION_EVENTS = "events"
    SESSION_STATE = "state"
    NODE_UP = "up"
    NODE_CMD = "cmd"
    NODE_PRESENCE = "presence"


_SESSION_KINDS = {TopicKind.SESSION_EVENTS, TopicKind.SESSION_STATE}


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A parsed topic: what kind and whose (session id or node id)."""

    kind: TopicKind
    ident: str


def _check_segment(value: str, what: str) -> str:
    if not _SEGMENT.match(value):
        raise TopicError(value, f"{what} must be 1-64 of [A-Za-z0-9_.:-]")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise TopicError(self.prefix, "prefix must be slash-separated plain segments")

    def session_events(self, session: str) -> str:
        return f"{self.prefix}/sessions/{_check_segment(session, 'session id')}/events"

    def session_state(self, session: str) -> str:
        return f"{self.prefix}/sessions/{_check_segment(session, 'session id')}/state"

    def node_up(self, node: str) -> str:
        return f"{self.prefix}/nodes/{_check_segment(node, 'node id')}/up"

    def node_cmd(self, node: str) -> str:
        return f"{self.prefix}/nodes/{_check_segment(node, 'node id')}/cmd"

    def node_presence(self, node: str) -> str:
        return f"{self.prefix}/nodes/{_check_segment(node, 'node id')}/presence"

    def session_filter(self, session: str) -> str:
        """Filter matching both topics of one session."""
        return f"{self.prefix}/sessions/{_check_segment(session, 'session id')}/+"

    @property
    def all_uplinks(self) -> str:
        return f"{self.prefix}/nodes/+/up"

    def shared_uplinks(self, group: str = "hub") -> str:
        """MQTT 5 shared subscription: each uplink goes to one hub of ``group``."""
        return f"$share/{_check_segment(group, 'share group')}/{self.all_uplinks}"

    @property
    def all_presence(self) -> str:
        return f"{self.prefix}/nodes/+/presence"

    def parse(self, topic: str) -> TopicRef:
        """Split a concrete topic into kind and identifier, or raise ``TopicError``."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            raise TopicError(topic, f"not under prefix {self.prefix!r}")
        parts = topic[len(head) :].split("/")
        if len(parts) != 3 or parts[0] not in ("sessions", "nodes"):
            raise TopicError(topic, "expected sessions/<id>/<kind> or nodes/<id>/<kind>")
        group, ident, kind_s = parts
        try:
            kind = TopicKind(kind_s)
        except ValueError:
            raise TopicError(topic, f"unknown kind {kind_s!r}") from None
        if (group == "sessions") != (kind in _SESSION_KINDS):
            raise TopicError(topic, f"{kind_s!r} does not belong under {group!r}")
        _check_segment(ident, "identifier")
        return TopicRef(kind, ident)
