"""The JSON format: the ``CoverageReport`` model, dumped with its aliases.

Why a module of its own: the JSON document and its schema are a contract; the
schema printed in docs/reports.md is ``report_schema()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.schema import CoverageReport

__all__ = ["read_json", "report_schema", "to_json", "write_json"]


def to_json(report: CoverageReport, *, indent: int | None = 2) -> str:
    return report.model_dump_json(by_alias=True, indent=indent)


def write_json(report: CoverageReport, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(report) + "\n", encoding="utf-8")
    return out


def read_json(path: Path) -> CoverageReport:
    """Parse a report written by ``write_json`` (validates it against the schema)."""
    return CoverageReport.model_validate_json(path.read_text(encoding="utf-8"))


def report_schema() -> dict[str, Any]:
    """JSON Schema of the report (by alias: the window's ``from`` field)."""
    return CoverageReport.model_json_schema(by_alias=True)
