"""Errors of the shared daemon runtime.

::

    DaemonError        root: catch this to catch everything below
    +-- ConfigError    a daemon's settings are unusable (file, environment or flags)

``ConfigError`` is the one configuration error of the project: the hub, the node
and the operator commands all raise and catch this class.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DaemonError"]


class DaemonError(Exception):
    """Root of every error raised by ``runtime``."""


class ConfigError(DaemonError):
    """The settings cannot be used; the message names every problem found."""
