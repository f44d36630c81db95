"""Hand-made hostile PDFs: each is tiny on disk and aims at one limit.

Written object by object with a correct cross-reference table, so the renderer
sees exactly what we mean (not a parse error): an encrypted document, one with
10,000 pages, and a decompression bomb (a page whose content stream inflates from
under a megabyte to hundreds of megabytes of drawing operators).
"""

from __future__ import annotations

import zlib


def _pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


def many_pages(count: int = 10_000) -> bytes:
    """A valid PDF with ``count`` empty pages (about 40 bytes each)."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"] * count
    return _pdf(objects)


def encrypted() -> bytes:
    """A PDF whose Standard security handler wants a user password we do not have."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + b"41" * 32
        + b"> /U <"
        + b"42" * 32
        + b"> /P -4 >>",
    ]
    file_id = b"<" + b"0123456789abcdef" * 2 + b">"
    return _pdf(objects, b"/Encrypt 4 0 R /ID [%s %s] " % (file_id, file_id))


def bomb(inflated_mb: int = 400) -> bytes:
    """One page whose deflated content stream expands to ``inflated_mb`` MB of paths."""
    unit = b"0 0 m 100 100 l S\n" * 4096
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(unit) for _ in range(inflated_mb * 1024 * 1024 // len(unit))]
    data = b"".join(chunks) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ]
    return _pdf(objects)
