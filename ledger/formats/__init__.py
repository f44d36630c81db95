"""Output formats of the coverage report, one module each, and their registry.

- ``jsonfmt``  the ``CoverageReport`` JSON document and its schema
- ``csvfmt``   one CSV file per table, in a directory
- ``xapi``     xAPI 1.0.3 statements (attended / answered / asked) from a term
- ``html``     one self-contained page; ``charts`` draws its PNGs (matplotlib Agg)

``FORMATS`` names what the ``dualclass report --format`` flag accepts. May import
``ledger`` and matplotlib (``charts`` only).
"""

from __future__ import annotations

__all__ = ["FORMATS"]

FORMATS = ("json", "csv", "xapi", "html")
