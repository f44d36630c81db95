from __future__ import annotations

import pytest

from protocols.exceptions import TopicError
from protocols.topics import TopicKind, TopicRef, Topics

T = Topics()


def test_builders_match_design() -> None:
    assert T.session_events("s1") == "dc/v1/sessions/s1/events"
    assert T.session_state("s1") == "dc/v1/sessions/s1/state"
    assert T.node_up("n1") == "dc/v1/nodes/n1/up"
    assert T.node_cmd("n1") == "dc/v1/nodes/n1/cmd"
    assert T.node_presence("n1") == "dc/v1/nodes/n1/presence"
    assert T.shared_uplinks() == "$share/hub/dc/v1/nodes/+/up"


def test_prefix_is_configurable() -> None:
    assert Topics("district9/dc").node_up("n") == "district9/dc/nodes/n/up"


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "x" * 65, "a b"])
def test_identifiers_cannot_widen_a_topic(bad: str) -> None:
    with pytest.raises(TopicError):
        T.node_up(bad)


@pytest.mark.parametrize(
    ("topic", "ref"),
    [
        ("dc/v1/nodes/n1/up", TopicRef(TopicKind.NODE_UP, "n1")),
        ("dc/v1/nodes/n1/presence", TopicRef(TopicKind.NODE_PRESENCE, "n1")),
        ("dc/v1/sessions/s1/events", TopicRef(TopicKind.SESSION_EVENTS, "s1")),
    ],
)
def test_parse(topic: str, ref: TopicRef) -> None:
    assert T.parse(topic) == ref


@pytest.mark.parametrize(
    "bad",
    [
        "other/nodes/n1/up",
        "dc/v1/nodes/n1",
        "dc/v1/nodes/n1/events",
        "dc/v1/sessions/s/up",
        "dc/v1/nodes/n1/up/x",
        "dc/v1/nodes/+/up",
    ],
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(TopicError):
        T.parse(bad)
