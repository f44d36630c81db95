"""Render a PDF to page images in a bounded subprocess (``hub.decks.worker``).

Why a process and not a thread: pdfium is C code holding the GIL for long stretches
and a hostile file can make it allocate without bound. In a child process with
``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` and ``RLIMIT_FSIZE`` set, and a wall-clock
deadline after which it is killed, the worst a file can do is end its own
process; the hub's event loop only awaits a pipe. Renders run one at a time per
hub (``DeckRenderer`` holds a semaphore) so uploads cannot eat the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.decks.exceptions import (
    DeckRefused,
    EncryptedDeck,
    NotAPdf,
    RenderLimit,
    TooManyPages,
)
from hub.decks.models import PageInfo

__all__ = ["DeckLimits", "DeckRenderer", "refusal_for"]

log = logging.getLogger("dualclass.hub.decks")

_REFUSALS: dict[str, type[DeckRefused]] = {
    "not_a_pdf": NotAPdf,
    "encrypted": EncryptedDeck,
    "too_many_pages": TooManyPages,
    "render_limit": RenderLimit,
}


def refusal_for(code: str, detail: str) -> DeckRefused:
    """The typed error for a worker's refusal code (unknown codes: ``RenderLimit``)."""
    return _REFUSALS.get(code, RenderLimit)(detail)


@dataclass(frozen=True, slots=True)
class DeckLimits:
    """Bounds on an upload and its rendering (``HubConfig.deck_*``)."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 300
    #: The classroom screen: pages are fitted into this box.
    width: int = 1920
    height: int = 1080
    #: Wall clock for the whole deck; CPU seconds are limited to the same.
    timeout_s: float = 120.0
    #: Address space of the worker process.
    memory_mb: int = 1536


ProgressFn = Callable[[int, int], None]


class DeckRenderer:
    """Runs workers one at a time; ``render`` returns the pages or raises a refusal."""

    def __init__(self, limits: DeckLimits, *, concurrency: int = 1) -> None:
        self.limits = limits
        self._gate = asyncio.Semaphore(concurrency)

    def _limit_child(self) -> None:  # runs in the child between fork and exec
        memory = self.limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(self.limits.timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        # one page image never needs more than raw RGBA of the screen box
        page_cap = self.limits.width * self.limits.height * 4 + 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (page_cap, page_cap))

    async def render(
        self, pdf: Path, out_dir: Path, on_progress: ProgressFn | None = None
    ) -> list[PageInfo]:
        """Render ``pdf`` into ``out_dir`` (content-addressed PNGs), bounded."""
        async with self._gate:
            return await self._render(pdf, out_dir, on_progress)

    async def _render(
        self, pdf: Path, out_dir: Path, on_progress: ProgressFn | None
    ) -> list[PageInfo]:
        limits = self.limits
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub.decks.worker",
            str(pdf),
            str(out_dir),
            str(limits.width),
            str(limits.height),
            str(limits.max_pages),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=self._limit_child,
        )
        pages: list[PageInfo] = []
        total = 0
        refusal: DeckRefused | None = None

        async def read() -> None:
            nonlocal total, refusal
            assert proc.stdout is not None
            async for raw in proc.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if "error" in line:
                    refusal = refusal_for(str(line["error"]), str(line.get("detail", "")))
                elif "pages" in line:
                    total = int(line["pages"])
                elif "page" in line:
                    pages.append(
                        PageInfo(
                            sha256=line["sha256"],
                            size=line["size"],
                            width=line["width"],
                            height=line["height"],
                        )
                    )
                    if on_progress is not None:
                        on_progress(len(pages), total)

        stderr = b""
        try:
            async with asyncio.timeout(limits.timeout_s):
                reader = asyncio.create_task(read())
                assert proc.stderr is not None
                stderr = await proc.stderr.read(64 * 1024)
                await reader
                status = await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise RenderLimit(
                f"rendering took longer than {limits.timeout_s:g} s (page {len(pages) + 1})"
            ) from None
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if refusal is not None:
            raise refusal
        if status != 0 or len(pages) != total or total == 0:
            log.warning(
                "render worker ended with %s: %s", status, stderr[-2000:].decode(errors="replace")
            )
            raise RenderLimit(
                f"rendering stopped at page {len(pages) + 1} (exit {status}): the file needs"
                f" more than {limits.memory_mb} MB or {limits.timeout_s:g} s"
            )
        return pages
