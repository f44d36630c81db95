"""Pydantic validation errors as short lines a person can act on.

One formatter for every place that turns a ``ValidationError`` (or the
``errors()`` of FastAPI's ``RequestValidationError``) into text: message
decoding, signalling, configuration, CSV rows, HTTP problems. Each error becomes
``field.path: message``; ``<root>`` when the error is about the whole value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["describe_errors"]


def describe_errors(
    errors: Iterable[Mapping[str, Any]], *, root: str = "<root>", skip_indexes: bool = False
) -> list[str]:
    """``["field.path: message", ...]`` from pydantic's ``errors()`` list.

    ``skip_indexes`` leaves list positions out of the path (a CSV row is one
    item of a list the reader built, and its line number is reported apart).
    """
    lines: list[str] = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if not (skip_indexes and isinstance(p, int))]
        path = ".".join(str(p) for p in loc) or root
        lines.append(f"{path}: {err.get('msg', 'invalid')}")
    return lines
