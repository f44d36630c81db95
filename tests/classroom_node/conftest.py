"""Node test fixtures (defined in ``nodefixtures`` so integration tests share them)."""

from __future__ import annotations

from tests.classroom_node.nodefixtures import hub, make_node

__all__ = ["hub", "make_node"]
