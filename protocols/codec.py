"""The msgpack codec: two pure functions, pinned by golden fixtures.

``decode`` checks in the order that is cheapest for a hostile peer: size first
(before unpacking anything), then msgpack well-formedness, then the protocol
version, then the type name, then the schema. Each failure is its own
``DecodeError`` subclass so the hub can count rejections by reason.
"""

from __future__ import annotations

from typing import Any

import msgpack
from pydantic import ValidationError

from protocols.exceptions import (
    MalformedMessage,
    MessageTooLarge,
    SchemaViolation,
    UnknownType,
    UnsupportedVersion,
)
from protocols.messages import (
    CLASS_BY_TYPE,
    PROTOCOL_VERSION,
    Envelope,
    Message,
)
from protocols.validation import describe_errors

__all__ = ["DEFAULT_MAX_SIZE", "decode", "decode_map", "encode", "to_jsonable"]

#: Largest accepted message. Big enough for a resync page, small enough that a
#: flood of oversized uplinks costs the hub nothing but a length check.
DEFAULT_MAX_SIZE = 64 * 1024


def to_jsonable(message: Envelope) -> dict[str, Any]:
    """The message as plain data (the JSON shape browsers get), ``None`` fields left out."""
    return message.model_dump(mode="json", exclude_none=True)


def encode(message: Envelope, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Serialise ``message`` to msgpack bytes.

    Raises ``MessageTooLarge`` if the result would be refused by a receiver with the
    same limit: better to fail at the sender, where the bug is.
    """
    data: bytes = msgpack.packb(to_jsonable(message), use_bin_type=True)
    if len(data) > max_size:
        raise MessageTooLarge(len(data), max_size)
    return data


def decode_map(raw: Any) -> Message:
    """Validate an already-unpacked map (msgpack or JSON) into a message."""
    if not isinstance(raw, dict):
        raise MalformedMessage(f"expected a map, got {type(raw).__name__}")
    version = raw.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise UnsupportedVersion(version, PROTOCOL_VERSION)
    type_ = raw.get("type")
    cls = CLASS_BY_TYPE.get(type_) if isinstance(type_, str) else None
    if cls is None:
        raise UnknownType(type_)
    try:
        message: Message = cls.model_validate(raw)  # type: ignore[assignment]
    except ValidationError as exc:
        raise SchemaViolation(str(type_), describe_errors(exc.errors())) from None
    return message


def decode(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> Message:
    """Parse msgpack ``data`` into a validated message, or raise a ``DecodeError``."""
    if len(data) > max_size:
        raise MessageTooLarge(len(data), max_size)
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise MalformedMessage(str(exc) or type(exc).__name__) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(str(exc) or type(exc).__name__) from None
    return decode_map(raw)
