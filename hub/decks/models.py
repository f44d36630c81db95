"""Deck manifests (pure data): what a deck is, as the hub stores and nodes fetch it.

A deck's id is the first 32 hex digits of the SHA-256 of the uploaded file, so the
same file uploaded twice is one deck. Each page image is stored under its own
SHA-256, which the node checks after downloading; the manifest lists them in order.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DECK_ID_PATTERN", "DeckManifest", "PageInfo", "deck_id_for"]

DECK_ID_PATTERN = r"^[0-9a-f]{32}$"
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def deck_id_for(data: bytes) -> str:
    """The deck id of an uploaded file: content-addressed, stable across uploads."""
    return hashlib.sha256(data).hexdigest()[:32]


class PageInfo(BaseModel):
    """One rendered page: its image's hash, size in bytes and pixel dimensions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: Sha256
    size: int = Field(ge=1)
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class DeckManifest(BaseModel):
    """A rendered deck; ``pages[i]`` is slide index ``i``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=DECK_ID_PATTERN)]
    name: Annotated[str, Field(max_length=200)] = ""
    source_bytes: int = Field(ge=0)
    media_type: str = "image/png"
    pages: Annotated[list[PageInfo], Field(min_length=1)]
    created_ms: int = 0

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def total_bytes(self) -> int:
        return sum(p.size for p in self.pages)
