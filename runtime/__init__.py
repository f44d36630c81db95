"""What every daemon process shares: settings, the event loop, signals.

- ``settings``   ``DaemonSettings``: one way to read a daemon's configuration
                 (flags > environment ``DUALCLASS_<DAEMON>_*`` > TOML file > defaults)
- ``loop``       ``run``: the one way a process runs its event loop (uvloop where
                 installed); ``StopSignals``: first SIGTERM/SIGINT asks for a
                 graceful stop, the second forces exit
- ``tasks``      ``cancel_and_wait``: stop background tasks without swallowing the
                 caller's own cancellation
- ``exceptions`` one tree, root ``DaemonError``

May import: pydantic, pydantic-settings, uvloop and the standard library. No other
package of the project: every daemon (hub, classroom node) and command builds on it.
"""

from __future__ import annotations

from runtime.exceptions import ConfigError, DaemonError
from runtime.loop import StopSignals, run, run_daemon
from runtime.settings import DaemonSettings

__all__ = ["ConfigError", "DaemonError", "DaemonSettings", "StopSignals", "run", "run_daemon"]
