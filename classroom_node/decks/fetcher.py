"""Download one deck from the hub: manifest, then every missing page, verified.

The node authenticates with HTTP Basic ``node_id:secret`` (its registry
credentials, the same as its MQTT login) on ``/api/sessions/{session}/decks/...``;
the hub answers only for sessions the node belongs to. Each page is appended to a
``.part`` file; a cut download resumes with ``Range: bytes=<have>-`` (the hub's
answer 206 appends, a 200 starts over). A page whose bytes do not match its
SHA-256 is thrown away and counted (``hash_mismatch``), never shown.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from classroom_node.decks.cache import DeckCache

__all__ = ["DeckFetcher", "FetchFailed", "FetchStats"]

log = logging.getLogger("dualclass.node.decks")

_SHA = re.compile(r"^[0-9a-f]{64}$")
#: Largest page image or manifest the node accepts (a 4K PNG is far smaller).
MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_PAGES = 10_000


class FetchFailed(Exception):
    """The deck could not be completed now (hub away, refused, bad data); retry later."""


@dataclass(slots=True)
class FetchStats:
    pages: int = 0
    bytes: int = 0
    resumed: int = 0
    hash_mismatch: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "bytes": self.bytes,
            "resumed": self.resumed,
            "hash_mismatch": self.hash_mismatch,
            "failures": self.failures,
            "errors": dict(self.errors),
        }


def _valid_manifest(data: Any, deck: str) -> bool:
    if not isinstance(data, dict) or data.get("id") != deck:
        return False
    pages = data.get("pages")
    if not isinstance(pages, list) or not 0 < len(pages) <= MAX_PAGES:
        return False
    for p in pages:
        if not isinstance(p, dict) or not _SHA.match(str(p.get("sha256", ""))):
            return False
        size = p.get("size")
        if not isinstance(size, int) or not 0 < size <= MAX_PAGE_BYTES:
            return False
        if not isinstance(p.get("width"), int) or not isinstance(p.get("height"), int):
            return False
    return True


class DeckFetcher:
    """HTTP client of one node towards the hub's deck routes."""

    def __init__(
        self,
        base_url: str,
        node: str,
        secret: str,
        cache: DeckCache,
        *,
        verify: str | bool = True,
        timeout_s: float = 30.0,
    ) -> None:
        self.cache = cache
        self.stats = FetchStats()
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(node, secret),
            verify=verify,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._client.aclose()

    def _fail(self, kind: str, detail: str) -> FetchFailed:
        self.stats.failures += 1
        self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
        return FetchFailed(f"{kind}: {detail}")

    async def ensure(self, session: str, deck: str) -> bool:
        """Make ``deck`` complete in the cache; True if it is. Raises ``FetchFailed``."""
        base = f"/api/sessions/{session}/decks/{deck}"
        if self.cache.manifest(deck) is None:
            await self._fetch_manifest(base, deck)
        for index, page in self.cache.missing(deck):
            await self._fetch_page(f"{base}/pages/{index}", page["sha256"], page["size"])
        return self.cache.complete(deck)

    async def _fetch_manifest(self, url: str, deck: str) -> None:
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            raise self._fail("unreachable", f"{url}: {exc!r}") from None
        if response.status_code != 200:
            raise self._fail(f"http_{response.status_code}", f"{url}: {response.text[:200]}")
        if len(response.content) > MAX_MANIFEST_BYTES:
            raise self._fail("bad_manifest", f"{url}: {len(response.content)} bytes")
        try:
            data = response.json()
        except ValueError:
            raise self._fail("bad_manifest", f"{url}: not JSON") from None
        if not _valid_manifest(data, deck):
            raise self._fail("bad_manifest", f"{url}: not a manifest of {deck}")
        self.cache.save_manifest(deck, data)

    async def _fetch_page(self, url: str, sha256: str, size: int) -> None:
        part = self.cache.part_path(sha256)
        have = part.stat().st_size if part.exists() else 0
        if have >= size:
            part.unlink(missing_ok=True)
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 206 and have:
                    mode = "ab"
                    self.stats.resumed += 1
                elif response.status_code == 200:
                    mode, have = "wb", 0
                else:
                    await response.aread()
                    raise self._fail(
                        f"http_{response.status_code}", f"{url}: {response.text[:200]}"
                    )
                with part.open(mode) as fh:
                    async for chunk in response.aiter_bytes(256 * 1024):
                        have += len(chunk)
                        if have > size:
                            break
                        fh.write(chunk)
                        self.stats.bytes += len(chunk)
        except httpx.HTTPError as exc:
            # what arrived stays in the .part file: the next attempt resumes there
            raise self._fail("interrupted", f"{url}: {exc!r}") from None
        self._verify(part, sha256, size, url)

    def _verify(self, part: os.PathLike[str], sha256: str, size: int, url: str) -> None:
        path = self.cache.part_path(sha256)
        data = path.read_bytes() if path.exists() else b""
        if len(data) < size:
            raise self._fail("short", f"{url}: {len(data)} of {size} bytes")
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)
            self.stats.hash_mismatch += 1
            raise self._fail("hash_mismatch", f"{url}: content does not match its hash")
        os.replace(path, self.cache.page_path(sha256))
        self.stats.pages += 1
