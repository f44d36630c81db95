"""Codec preferences the hub puts on its transceivers (``setCodecPreferences``).

Pass-through only works when an upstream and its subscribers use the same
codec, so the session has one codec per kind (the lead's: VP8 and Opus by
default) and the hub's offers steer every peer to it:

- upstream transceivers offer *only* the session codec: every publisher sends
  it, so any upstream can feed any slot without decoding;
- slot transceivers offer the session codec first and the others after it: a
  subscriber that cannot take the session codec still gets media, and the
  relay re-encodes for that subscriber alone.

RTX is kept on video so subscribers can recover lost packets by NACK (the
hub's senders retransmit from their own history, also on the pack path).
"""

from __future__ import annotations

from aiortc import RTCRtpCodecCapability, RTCRtpSender

from hub.media.exceptions import NegotiationError

__all__ = ["same_codec", "slot_preferences", "upstream_preferences"]


def _capabilities(kind: str) -> list[RTCRtpCodecCapability]:
    return list(RTCRtpSender.getCapabilities(kind).codecs)


def _is_rtx(codec: RTCRtpCodecCapability) -> bool:
    return codec.mimeType.lower().endswith("/rtx")


def _matching(kind: str, mime_type: str) -> list[RTCRtpCodecCapability]:
    found = [c for c in _capabilities(kind) if c.mimeType.lower() == mime_type.lower()]
    if not found:
        raise NegotiationError(f"codec {mime_type} is not supported by aiortc for {kind}")
    return found


def upstream_preferences(kind: str, mime_type: str) -> list[RTCRtpCodecCapability]:
    """Only the session codec (all its parameter variants), plus RTX."""
    rtx = [c for c in _capabilities(kind) if _is_rtx(c)]
    return _matching(kind, mime_type) + rtx


def slot_preferences(kind: str, mime_type: str) -> list[RTCRtpCodecCapability]:
    """The session codec first, then every other codec aiortc has (fallback: re-encode)."""
    first = _matching(kind, mime_type)
    rest = [c for c in _capabilities(kind) if c not in first]
    return first + rest


def same_codec(a: str, b: str) -> bool:
    """Whether two MIME types name the same codec (case-insensitive, as SDP is)."""
    return a.lower() == b.lower()
