"""The exceptions of ``protocols``: one root, data as attributes.

::

    ProtocolError
    ├── DecodeError              bytes from a peer could not become a message
    │   ├── MessageTooLarge      over the size limit, rejected before unpacking
    │   ├── MalformedMessage     not msgpack / not a map
    │   ├── UnsupportedVersion   ``v`` missing or of an unknown major version
    │   ├── UnknownType          ``type`` is not one we know
    │   └── SchemaViolation      a field is missing or of the wrong shape
    ├── RuleViolation            a well-formed event that the lesson rules refuse
    └── TopicError               a topic string that is not one of ours

Every error carries a short machine ``code`` used as the label of the rejection
counters and in ``cmd.rejected`` replies, so operators can graph them.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "MalformedMessage",
    "MessageTooLarge",
    "ProtocolError",
    "RuleViolation",
    "SchemaViolation",
    "TopicError",
    "UnknownType",
    "UnsupportedVersion",
]


class ProtocolError(Exception):
    """Root of every error raised by ``protocols``."""

    code = "protocol_error"


class DecodeError(ProtocolError):
    """Bytes received from a peer could not be turned into a message."""

    code = "decode_error"


class MessageTooLarge(DecodeError):
    """The payload exceeds the configured limit; it was not unpacked."""

    code = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit

    def __str__(self) -> str:
        return f"message of {self.size} bytes exceeds the limit of {self.limit} bytes"


class MalformedMessage(DecodeError):
    """The payload is not a msgpack map."""

    code = "malformed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"malformed message: {self.reason}"


class UnsupportedVersion(DecodeError):
    """The protocol major version is missing or not one we speak."""

    code = "unsupported_version"

    def __init__(self, version: object, supported: int) -> None:
        super().__init__(version, supported)
        self.version = version
        self.supported = supported

    def __str__(self) -> str:
        return f"unsupported protocol version {self.version!r} (this side speaks {self.supported})"


class UnknownType(DecodeError):
    """The ``type`` field names no message we know."""

    code = "unknown_type"

    def __init__(self, type_: object) -> None:
        super().__init__(type_)
        self.type = type_

    def __str__(self) -> str:
        return f"unknown message type {self.type!r}"


class SchemaViolation(DecodeError):
    """The message has a known type but its fields do not fit its schema."""

    code = "schema"

    def __init__(self, type_: str, errors: list[str]) -> None:
        super().__init__(type_, errors)
        self.type = type_
        self.errors = errors

    def __str__(self) -> str:
        return f"invalid {self.type} message: " + "; ".join(self.errors)


class RuleViolation(ProtocolError):
    """A well-formed event refused by the lesson rules (role, state, target)."""

    code = "rule"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class TopicError(ProtocolError):
    """A topic string that is not one of the dualclass topics."""

    code = "bad_topic"

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(topic, reason)
        self.topic = topic
        self.reason = reason

    def __str__(self) -> str:
        return f"bad topic {self.topic!r}: {self.reason}"
