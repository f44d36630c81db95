"""JSON merge patches (RFC 7386) between two dashboard documents.

Why merge patches: the live page keeps the whole document and receives only what
changed each tick, in a format it applies in a dozen lines of JavaScript. Merge
patches cannot carry ``null`` values (``null`` means "remove"), so the documents
the feed diffs never hold ``None``: ``strip_none`` drops such keys first and the
page reads a missing key as "unknown".
"""

from __future__ import annotations

from typing import Any

__all__ = ["apply_patch", "diff", "strip_none"]

_MISSING = object()


def strip_none(value: Any) -> Any:
    """``value`` with every ``None`` member of every object removed (lists kept)."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The merge patch turning ``old`` into ``new`` (both without ``None``); {} if equal."""
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(before, dict):
            inner = diff(before, value)
            if inner:
                patch[key] = inner
        elif before is _MISSING or before != value or type(before) is not type(value):
            patch[key] = value
    return patch


def apply_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch (what the page does), for tests and Python clients."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_patch(result.get(key), value)
    return result
