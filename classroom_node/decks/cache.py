"""The node's deck cache on disk, content-addressed like the hub's store::

    <state_dir>/decks/manifests/<deck>.json   the hub's manifest (page hashes)
    <state_dir>/decks/pages/<sha256>.png      verified page images
    <state_dir>/decks/pages/<sha256>.part     an interrupted download (resumed with Range)

A page file exists only once its bytes matched its hash (written as ``.part``,
checked, then renamed), so "the file is there" means "the page is right". The
display page is served from here, which is why it keeps working without the hub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["DeckCache", "Manifest"]

#: What the node keeps of a manifest: id, name, the pages' hashes and sizes.
Manifest = dict[str, Any]


class DeckCache:
    """Files of cached decks under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "manifests"
        self.pages = root / "pages"

    def open(self) -> None:
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.pages.mkdir(parents=True, exist_ok=True)

    def manifest(self, deck: str) -> Manifest | None:
        try:
            data: Manifest = json.loads((self.manifests / f"{deck}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("pages"), list) else None

    def save_manifest(self, deck: str, manifest: Manifest) -> None:
        kept = {
            "id": manifest["id"],
            "name": manifest.get("name", ""),
            "media_type": manifest.get("media_type", "image/png"),
            "pages": [
                {
                    "sha256": p["sha256"],
                    "size": p["size"],
                    "width": p["width"],
                    "height": p["height"],
                }
                for p in manifest["pages"]
            ],
        }
        tmp = self.manifests / f".{deck}.tmp"
        tmp.write_text(json.dumps(kept))
        os.replace(tmp, self.manifests / f"{deck}.json")

    def page_path(self, sha256: str) -> Path:
        return self.pages / f"{sha256}.png"

    def part_path(self, sha256: str) -> Path:
        return self.pages / f"{sha256}.part"

    def has_page(self, sha256: str) -> bool:
        return self.page_path(sha256).is_file()

    def missing(self, deck: str) -> list[tuple[int, dict[str, Any]]]:
        """(index, page) of every page not yet on disk; all of them without a manifest."""
        manifest = self.manifest(deck)
        if manifest is None:
            return []
        return [(i, p) for i, p in enumerate(manifest["pages"]) if not self.has_page(p["sha256"])]

    def complete(self, deck: str) -> bool:
        """Manifest and every page verified on disk."""
        return self.manifest(deck) is not None and not self.missing(deck)

    def pages_cached(self, deck: str) -> int:
        manifest = self.manifest(deck)
        if manifest is None:
            return 0
        return sum(1 for p in manifest["pages"] if self.has_page(p["sha256"]))

    def page_of(self, deck: str, index: int) -> Path | None:
        """The verified image of slide ``index`` of ``deck``, if cached."""
        manifest = self.manifest(deck)
        if manifest is None or not 0 <= index < len(manifest["pages"]):
            return None
        path = self.page_path(manifest["pages"][index]["sha256"])
        return path if path.is_file() else None
