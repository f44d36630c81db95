"""Pure routing decisions: no event loop, no aiortc."""

from __future__ import annotations

import pytest

from hub.media.exceptions import RoutingError
from hub.media.routing import (
    MLine,
    Role,
    Slot,
    SlotKey,
    changes,
    media_layout,
    plan,
    publishes,
    slots_for,
)

ROLES = {"lead": Role.LEAD, "a": Role.PARTNER, "b": Role.PARTNER, "obs": Role.OBSERVER}


def test_without_floor_everyone_sees_the_lead_and_floor_slots_are_idle() -> None:
    result = plan(ROLES, None)
    assert result == {
        SlotKey("lead", Slot.FLOOR): None,
        SlotKey("a", Slot.MAIN): "lead",
        SlotKey("a", Slot.FLOOR): None,
        SlotKey("a", Slot.SCREEN): "lead",
        SlotKey("b", Slot.MAIN): "lead",
        SlotKey("b", Slot.FLOOR): None,
        SlotKey("b", Slot.SCREEN): "lead",
        SlotKey("obs", Slot.MAIN): "lead",
        SlotKey("obs", Slot.FLOOR): None,
        SlotKey("obs", Slot.SCREEN): "lead",
    }


def test_floor_holder_reaches_lead_and_other_partners_but_not_itself() -> None:
    result = plan(ROLES, "a")
    assert result[SlotKey("lead", Slot.FLOOR)] == "a"
    assert result[SlotKey("b", Slot.FLOOR)] == "a"
    assert result[SlotKey("obs", Slot.FLOOR)] == "a"
    assert result[SlotKey("a", Slot.FLOOR)] is None
    assert result[SlotKey("a", Slot.MAIN)] == "lead"


def test_moving_the_floor_changes_only_floor_slots() -> None:
    diff = changes(plan(ROLES, "a"), plan(ROLES, "b"))
    assert diff == {
        SlotKey("lead", Slot.FLOOR): "b",
        SlotKey("a", Slot.FLOOR): "b",
        SlotKey("b", Slot.FLOOR): None,
        SlotKey("obs", Slot.FLOOR): "b",
    }


def test_main_slots_are_idle_until_the_lead_joins() -> None:
    result = plan({"a": Role.PARTNER}, None)
    assert result == {
        SlotKey("a", Slot.MAIN): None,
        SlotKey("a", Slot.FLOOR): None,
        SlotKey("a", Slot.SCREEN): None,
    }


def test_a_late_joiner_appears_as_new_slots_in_changes() -> None:
    before = plan({"lead": Role.LEAD, "a": Role.PARTNER}, None)
    after = plan({"lead": Role.LEAD, "a": Role.PARTNER, "c": Role.PARTNER}, None)
    assert changes(before, after) == {
        SlotKey("c", Slot.MAIN): "lead",
        SlotKey("c", Slot.FLOOR): None,
        SlotKey("c", Slot.SCREEN): "lead",
    }


@pytest.mark.parametrize("floor", ["lead", "obs", "nobody"])
def test_floor_must_go_to_a_present_partner(floor: str) -> None:
    with pytest.raises(RoutingError):
        plan(ROLES, floor)


def test_two_leads_are_refused() -> None:
    with pytest.raises(RoutingError, match="more than one lead"):
        plan({"x": Role.LEAD, "y": Role.LEAD}, None)


def test_roles_slots_and_layout() -> None:
    assert publishes(Role.LEAD) and publishes(Role.PARTNER) and not publishes(Role.OBSERVER)
    assert slots_for(Role.LEAD) == (Slot.FLOOR,)
    assert slots_for(Role.PARTNER) == (Slot.MAIN, Slot.FLOOR, Slot.SCREEN)
    assert media_layout(Role.LEAD) == (
        MLine("video", "recvonly", None),
        MLine("audio", "recvonly", None),
        MLine("video", "recvonly", Slot.SCREEN),  # the lead's shared screen, when it shares
        MLine("video", "sendonly", Slot.FLOOR),
        MLine("audio", "sendonly", Slot.FLOOR),
    )
    # the screen slot is video only; observers publish nothing
    assert media_layout(Role.PARTNER)[-1] == MLine("video", "sendonly", Slot.SCREEN)
    assert [line.direction for line in media_layout(Role.OBSERVER)] == ["sendonly"] * 5
    # the lead's console watching beside the node (observer media) may still share
    assert media_layout(Role.OBSERVER, screen=True)[0] == MLine("video", "recvonly", Slot.SCREEN)


def test_whoever_shares_feeds_the_screen_slots() -> None:
    roles = {**ROLES, "lead-console": Role.OBSERVER}
    result = plan(roles, None, screen="lead-console")
    assert result[SlotKey("a", Slot.SCREEN)] == "lead-console"
    assert result[SlotKey("obs", Slot.SCREEN)] == "lead-console"
    assert result[SlotKey("lead-console", Slot.SCREEN)] is None  # not its own screen back
    assert plan(ROLES, None)[SlotKey("a", Slot.SCREEN)] == "lead"
