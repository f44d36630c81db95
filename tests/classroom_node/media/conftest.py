"""Node media tests run against a real hub (fixtures shared with the signalling tests)."""

from __future__ import annotations

from tests.hub.signalling.conftest import live, loopback_only

__all__ = ["live", "loopback_only"]
