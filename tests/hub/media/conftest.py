"""Fixtures for media tests: ICE on 127.0.0.1 only, a relay that is always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from hub.media.relay import RelaySettings, SessionRelay
from webrtc.ice import LOOPBACK, restrict_host_addresses

from .helpers import Lesson


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    """Every peer connection of these tests offers 127.0.0.1 and nothing else."""
    restrict_host_addresses(LOOPBACK)
    yield
    restrict_host_addresses(None)


@pytest.fixture
async def lesson() -> AsyncIterator[Lesson]:
    """A pass-through relay for one session plus the peers a test adds to it."""
    lesson = Lesson(SessionRelay("lesson-1", RelaySettings()))
    try:
        yield lesson
    finally:
        await lesson.close()
