"""PowerPoint / OpenDocument presentations to PDF through LibreOffice, when installed.

LibreOffice is large and optional: a hub without it refuses presentation uploads
with ``ConverterMissing`` and says what to install, and PDFs work either way. The
conversion runs headless in its own profile directory with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

from hub.decks.exceptions import ConverterMissing, NotAPdf, RenderLimit

__all__ = ["PRESENTATION_SUFFIXES", "convert_to_pdf", "find_office", "sniff_presentation"]

PRESENTATION_SUFFIXES = (".pptx", ".ppt", ".odp")
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def find_office() -> str | None:
    """The ``soffice`` (or ``libreoffice``) executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def sniff_presentation(data: bytes, name: str) -> str | None:
    """The suffix to convert ``data`` as, if it looks like a presentation, else None."""
    suffix = Path(name).suffix.lower()
    if data.startswith(_ZIP) and suffix in (".pptx", ".odp"):
        return suffix
    if data.startswith(_OLE) and suffix == ".ppt":
        return suffix
    return None


async def convert_to_pdf(source: Path, work_dir: Path, *, timeout_s: float) -> Path:
    """``source`` converted to a PDF in ``work_dir``; raises a ``DeckRefused``."""
    office = find_office()
    if office is None:
        raise ConverterMissing(
            "PowerPoint/ODP uploads need LibreOffice on the hub"
            " (apt-get install libreoffice-impress); upload a PDF instead"
        )
    profile = work_dir / "lo-profile"
    proc = await asyncio.create_subprocess_exec(
        office,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(work_dir),
        str(source),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise RenderLimit(f"LibreOffice took longer than {timeout_s:g} s") from None
    out = work_dir / (source.stem + ".pdf")
    if proc.returncode != 0 or not out.is_file():
        raise NotAPdf(f"LibreOffice could not convert {source.name}")
    return out
