"""Exceptions of ``broker``; aiomqtt's and subprocess errors are translated here.

::

    BrokerError
    ├── NotConnected        publish attempted while the broker is unreachable
    │   └── NotDelivered    the broker answered PUBACK with a failure reason code
    ├── SubscribeDenied     the broker refused a subscription (ACL)
    └── LaunchError         a local Mosquitto or Redis did not start
"""

from __future__ import annotations

__all__ = ["BrokerError", "LaunchError", "NotConnected", "NotDelivered", "SubscribeDenied"]


class BrokerError(Exception):
    """Root of the broker package's errors."""


class NotConnected(BrokerError):
    """The client has no live connection; the caller should journal and retry later."""

    def __str__(self) -> str:
        return "not connected to the MQTT broker"


class NotDelivered(NotConnected):
    """The broker acknowledged a publish with a reason code saying it did not take it
    (a failure code, or "no matching subscribers" where a reader was required).

    A ``NotConnected`` too: callers that keep and resend undelivered messages treat
    both alike.
    """

    def __init__(self, topic: str, code: int, reason: str) -> None:
        super().__init__(topic, code, reason)
        self.topic = topic
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"publish to {self.topic!r} not delivered: {self.reason} (0x{self.code:02x})"


class SubscribeDenied(BrokerError):
    """The broker answered a SUBSCRIBE with a failure reason code."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(topic, reason)
        self.topic = topic
        self.reason = reason

    def __str__(self) -> str:
        return f"subscription to {self.topic!r} refused: {self.reason}"


class LaunchError(BrokerError):
    """A local server process failed to start or answer in time."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(what, detail)
        self.what = what
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.what} did not start: {self.detail}"
