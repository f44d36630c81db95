"""The render worker: ``python -m hub.decks.worker PDF OUTDIR W H MAX_PAGES``.

Runs in its own process, started by ``hub.decks.render`` with CPU, memory and file
size limits (``setrlimit``) and a wall-clock deadline, so a hostile PDF can at
worst kill this process, never stall the hub. It speaks JSON lines on stdout:

    {"pages": N}                                   page count, before rendering
    {"page": i, "sha256", "size", "width", "height"}   one per rendered page
    {"error": code, "detail": "..."}               a typed refusal, then exit 3

Pages are fitted into a ``W`` x ``H`` box (the classroom screen), so even a page
declared kilometres wide becomes at most ``W * H`` pixels. Each image is written
as ``OUTDIR/<sha256>.png`` (content-addressed; the same page in two decks is one
file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

__all__ = ["main", "render_all"]

#: A file is taken for a PDF only if this marker is in its first KiB (as readers do).
PDF_MAGIC = b"%PDF-"


def _say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _refuse(code: str, detail: str) -> int:
    _say(error=code, detail=detail)
    return 3


def render_all(pdf: Path, out_dir: Path, width: int, height: int, max_pages: int) -> int:
    """Render every page of ``pdf``; the exit status (0, or 3 after a refusal)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    with pdf.open("rb") as fh:
        head = fh.read(1024)
    if PDF_MAGIC not in head:
        return _refuse("not_a_pdf", "the file is not a PDF (no %PDF- header)")
    try:
        doc = pdfium.PdfDocument(str(pdf))
    except pdfium.PdfiumError as exc:
        if exc.err_code == raw.FPDF_ERR_PASSWORD:
            return _refuse("encrypted", "the PDF is encrypted with a password; upload it unlocked")
        if exc.err_code == raw.FPDF_ERR_SECURITY:
            return _refuse("encrypted", "the PDF uses an unsupported security handler")
        return _refuse("not_a_pdf", f"the PDF cannot be read ({exc})")
    count = len(doc)
    if count > max_pages:
        return _refuse("too_many_pages", f"{count} pages; at most {max_pages} are accepted")
    if count == 0:
        return _refuse("not_a_pdf", "the PDF has no pages")
    _say(pages=count)
    for index in range(count):
        page = doc[index]
        w_pt, h_pt = page.get_size()
        if not (w_pt > 0 and h_pt > 0):
            return _refuse("not_a_pdf", f"page {index + 1} has no size")
        scale = min(width / w_pt, height / h_pt)
        image = page.render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=6)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        target = out_dir / f"{digest}.png"
        if not target.exists():
            tmp = out_dir / f".{digest}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            tmp.replace(target)
        _say(page=index, sha256=digest, size=len(data), width=image.width, height=image.height)
        page.close()
    doc.close()
    return 0


def main(argv: list[str]) -> int:
    pdf, out_dir, width, height, max_pages = argv
    try:
        os.nice(10)  # the hub's event loop and the lesson come first
    except OSError:
        pass
    try:
        return render_all(Path(pdf), Path(out_dir), int(width), int(height), int(max_pages))
    except MemoryError:
        return _refuse("render_limit", "rendering needed more memory than allowed")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
