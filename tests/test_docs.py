"""The protocol reference stays true to the code: every name the code defines is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocols import exceptions
from protocols.messages import MESSAGE_TYPES
from protocols.topics import TopicKind

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()


def _rule_codes() -> set[str]:
    source = (ROOT / "protocols" / "lesson.py").read_text()
    return set(re.findall(r'RuleViolation\("([a-z_]+)"', source))


def _hub_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "hub").glob("*.py"):
        codes |= set(re.findall(r'reject\(\s*\w+,\s*[\w.]+,\s*"([a-z_]+)"', path.read_text()))
    return codes


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_every_message_type_is_documented(type_: str) -> None:
    assert f"`{type_}`" in PROTOCOL


@pytest.mark.parametrize("kind", [k.value for k in TopicKind])
def test_every_topic_kind_is_documented(kind: str) -> None:
    assert f"/{kind}`" in PROTOCOL


def test_every_decode_error_is_documented() -> None:
    classes = [
        c
        for c in vars(exceptions).values()
        if isinstance(c, type)
        and issubclass(c, exceptions.DecodeError)
        and c is not exceptions.DecodeError
    ]
    assert len(classes) == 5
    for cls in classes:
        assert f"`{cls.code}`" in PROTOCOL and f"`{cls.__name__}`" in PROTOCOL


def test_every_rule_and_hub_code_is_documented() -> None:
    codes = _rule_codes() | _hub_codes()
    assert {"forbidden_role", "not_member", "unknown_session"} <= codes  # the scan works
    missing = sorted(c for c in codes if f"`{c}`" not in PROTOCOL)
    assert not missing, f"document these codes in docs/protocol.md: {missing}"
