"""Every use of aiortc's PRIVATE internals by the relay, and nothing else.

aiortc (pinned at 1.16.0) has no public API for a forwarding unit, so the
relay reaches into it at nine places. They are all here, so that an aiortc
upgrade is one file to re-check, and ``tests/hub/media/test_aiortc_internals.py``
exercises each of them against real peer connections so an upgrade that breaks
one fails loudly instead of silently decoding, or silently sending nothing.

1. Taking encoded frames (``tap_receiver``). ``RTCRtpReceiver._handle_rtp_packet``
   reassembles RTP packets into a complete encoded frame (a ``JitterFrame``,
   payload descriptor stripped, timestamp shifted to start at 0 by its
   ``TimestampMapper``) and puts ``(codec, frame)`` on the name-mangled
   ``RTCRtpReceiver.__decoder_queue``; ``receive()`` hands that queue object to
   the decoder thread it starts. We replace the queue before ``receive()`` runs
   (in the ``track`` event, or right after ``setRemoteDescription`` returns:
   ``receive()`` runs later, in the connect task) with a queue that gives each
   frame to our callback and passes it on to the decoder only when decoding is
   wanted. ``None`` (the stop signal) always passes, so the thread and the
   track still end normally.
2. Sending encoded frames (``encoded_packet``). ``RTCRtpSender._next_encoded_frame``
   calls ``encoder.pack(data)`` -- packetising only -- instead of ``encode()``
   when the track's ``recv()`` returns an ``av.Packet`` rather than a frame.
   ``pack`` converts ``packet.pts`` from ``packet.time_base`` to the codec clock
   (1/90000 for video, 1/48000 for Opus), and the sender adds its random
   timestamp origin. So a packet carrying the receiver's mapped timestamp with
   ``time_base = 1/clockRate`` comes out with the right RTP timestamps.
3. Keyframe requests from subscribers (``on_keyframe_request``). A subscriber's
   PLI or FIR reaches ``RTCRtpSender._send_keyframe``, which only sets a flag
   used by ``encode()`` and so does nothing on the pack path. We replace it on
   the sender instance with our callback, which forwards the request upstream.
4. Keyframe requests upstream (``send_pli``). ``RTCRtpReceiver._send_rtcp_pli``
   sends a PLI for a media SSRC; the SSRC comes from the receiver's private
   ``__active_ssrc`` minus its ``__rtx_ssrc`` (retransmission streams).

5. Receiver feedback at a sender (``on_receiver_feedback``, ``cap_remb``).
   ``RTCRtpSender._handle_rtcp_packet`` (called by the DTLS transport on the
   instance) reads receiver reports into its stats and applies REMB to its
   encoder's ``target_bitrate``. We wrap it on the instance: the relay sees each
   report's fraction lost, each NACK and each REMB estimate for the sender's ``_ssrc``
   (the per-subscriber layer choice), and a node caps the REMB its low-layer
   sender applies, so that encoder stays at its configured bitrate.
6. Retransmitting once (``retransmit_once``). ``RTCRtpSender._retransmit``
   resends a packet from its 128-packet history for every sequence number a
   NACK lists, and aiortc's receiver lists *every* missing packet again at each
   new gap. On a link that is already full (a subscriber on the wrong layer)
   that is a retransmission storm that keeps it full. We wrap it on the
   instance so each packet is resent at most once; what is still missing after
   that is repaired by a keyframe.
7. Starting bitrates (``preset_bitrate``). The sender makes its encoder
   (``__encoder``, via ``aiortc.codecs.get_encoder``) in ``_next_encoded_frame``
   on the first frame, at aiortc's defaults: 500 kbit/s video, 96 kbit/s Opus.
   We wrap ``_next_encoded_frame`` on the instance and make the encoder first,
   with the bitrate wanted (video ``target_bitrate``; Opus ``codec.bit_rate``,
   read when the codec opens on the first frame): a 250 kbit/s low layer and
   32 kbit/s of voice fit a 400 kbit/s school line from the first second.
8. Skipping unrecoverable holes (``guard_receiver``). The receiver's video
   ``JitterBuffer`` is the name-mangled ``RTCRtpReceiver.__jitter_buffer``; we
   put a :class:`webrtc.stall.StallGuardBuffer` in its place (a subclass, so the
   receiver's ``add`` call and its PLI on ``pli_flag`` work unchanged).
9. Counting keyframe requests (``on_pli_sent``). Every PLI a receiver sends --
   aiortc's own on overflow or decoder error, a stall skip's, ``send_pli``'s --
   goes through ``RTCRtpReceiver._send_rtcp_pli``; we wrap it on the instance.

Also ``negotiated_codec`` reads ``RTCRtpTransceiver._codecs`` (the codecs
agreed in the last offer/answer, preferred first), which aiortc does not expose,
and ``selected_pair_types`` reads aioice's nominated candidate pair
(``RTCIceGatherer._connection._nominated``: whether media goes through TURN).
"""

from __future__ import annotations

import collections
import functools
import queue
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from aiortc import (
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.codecs import get_encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    pack_remb_fci,
    unpack_remb_fci,
)
from av.stream import Stream

from webrtc.exceptions import InternalsChangedError
from webrtc.stall import DEFAULT_STALL_S, VIDEO_CAPACITY, StallGuardBuffer

__all__ = [
    "FeedbackCallback",
    "FrameCallback",
    "ReceiverTap",
    "cap_remb",
    "check_internals",
    "encoded_packet",
    "guard_receiver",
    "negotiated_codec",
    "on_keyframe_request",
    "on_pli_sent",
    "on_receiver_feedback",
    "preset_bitrate",
    "retransmit_once",
    "selected_pair_types",
    "send_pli",
    "tap_receiver",
]

FrameCallback = Callable[[RTCRtpCodecParameters, JitterFrame], None]
"""Called in the event loop with each complete encoded frame of a receiver."""

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_STARTED = "_RTCRtpReceiver__started"
_ACTIVE_SSRC = "_RTCRtpReceiver__active_ssrc"
_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_SEND_PLI = "_send_rtcp_pli"
_SEND_KEYFRAME = "_send_keyframe"
_NEXT_ENCODED_FRAME = "_next_encoded_frame"
_TRANSCEIVER_CODECS = "_codecs"
_HANDLE_RTCP = "_handle_rtcp_packet"
_RETRANSMIT = "_retransmit"
_SENDER_SSRC = "_ssrc"
_SENDER_ENCODER = "_RTCRtpSender__encoder"

FeedbackCallback = Callable[[float | None, float | None, tuple[int, ...]], None]
"""``callback(fraction_lost, estimate_bps, nacked)``: one receiver report (fraction
of packets lost since the previous report, 0..1), one REMB estimate (bit/s), or one
NACK (the sequence numbers it lists; ``()`` otherwise). NACKs come at once on each
new gap, receiver reports only every 0.5-1.5 s."""


def _private(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise InternalsChangedError(name) from None


def check_internals() -> None:
    """Raise :class:`InternalsChangedError` if a class-level internal is gone.

    Instance attributes (the receiver's queues and SSRC maps) are checked when
    used; this catches the method-level ones at start-up.
    """
    for cls, name in (
        (RTCRtpReceiver, _SEND_PLI),
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpSender, _SEND_KEYFRAME),
        (RTCRtpSender, _NEXT_ENCODED_FRAME),
        (RTCRtpSender, _HANDLE_RTCP),
        (RTCRtpSender, _RETRANSMIT),
    ):
        _private(cls, name)


class _TapQueue(queue.Queue[Any]):
    """Stands in for the receiver's decoder queue: frames go to us first."""

    def __init__(self, on_frame: FrameCallback, decode: bool) -> None:
        super().__init__()
        self.on_frame = on_frame
        self.decode = decode

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            codec, frame = item
            self.on_frame(codec, frame)
            if not self.decode:
                return
        super().put(item, block, timeout)


class ReceiverTap:
    """Handle on a tapped receiver; ``decode`` turns aiortc's own decoding on or off.

    With decoding off (the pass-through relay) the decoder thread idles and the
    receiver's track yields nothing until it ends. With decoding on (the
    re-encoding relay, or a subscriber that checks the stream) frames also go
    to the decoder and ``receiver.track.recv()`` yields decoded frames.
    """

    def __init__(self, tap_queue: _TapQueue) -> None:
        self._queue = tap_queue

    @property
    def decode(self) -> bool:
        return self._queue.decode

    @decode.setter
    def decode(self, value: bool) -> None:
        self._queue.decode = value


def tap_receiver(
    receiver: RTCRtpReceiver, on_frame: FrameCallback, *, decode: bool = False
) -> ReceiverTap:
    """Give every complete encoded frame of ``receiver`` to ``on_frame`` (internal 1).

    Must be called before ``receiver.receive()`` starts its decoder thread.
    """
    if _private(receiver, _STARTED):
        raise InternalsChangedError(f"{_STARTED} (receiver already started; tap it earlier)")
    old = _private(receiver, _DECODER_QUEUE)
    if not isinstance(old, queue.Queue):
        raise InternalsChangedError(f"{_DECODER_QUEUE} (no longer a queue.Queue)")
    tap_queue = _TapQueue(on_frame, decode)
    setattr(receiver, _DECODER_QUEUE, tap_queue)
    return ReceiverTap(tap_queue)


def encoded_packet(data: bytes, pts: int, clock_rate: int) -> av.Packet[Stream]:
    """An ``av.Packet`` the sender will packetise without re-encoding (internal 2).

    ``pts`` is in RTP clock units of the codec (``clock_rate``: 90000 for video,
    48000 for Opus); the sender's ``pack`` converts from ``time_base`` to that
    same clock, so the value passes through unchanged.
    """
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = _time_base(clock_rate)
    return packet


@functools.cache
def _time_base(clock_rate: int) -> Fraction:
    return Fraction(1, clock_rate)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the sender's peer sends PLI or FIR (internal 3)."""
    _private(sender, _SEND_KEYFRAME)
    setattr(sender, _SEND_KEYFRAME, callback)


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the sender of ``receiver``'s media for a keyframe (internal 4).

    Returns False when no media SSRC is known yet (nothing received so far);
    the caller's next request will go through once media flows.
    """
    active: dict[int, Any] = _private(receiver, _ACTIVE_SSRC)
    rtx: dict[int, int] = _private(receiver, _RTX_SSRC)
    ssrcs = [ssrc for ssrc in list(active) if ssrc not in rtx]
    send = _private(receiver, _SEND_PLI)
    for ssrc in ssrcs:
        await send(ssrc)
    return bool(ssrcs)


def on_receiver_feedback(sender: RTCRtpSender, callback: FeedbackCallback) -> None:
    """Give ``callback`` every receiver report and REMB about ``sender``'s stream (internal 5).

    The sender still handles the packet as before (stats, NACK, PLI, REMB).
    """
    original = _private(sender, _HANDLE_RTCP)
    _private(sender, _SENDER_SSRC)

    async def handle(packet: Any) -> None:
        ssrc = getattr(sender, _SENDER_SSRC)
        try:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                for report in packet.reports:
                    if report.ssrc == ssrc:
                        callback(report.fraction_lost / 256.0, None, ())
            elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                if packet.media_ssrc == ssrc:
                    callback(None, None, tuple(packet.lost[:1024]))
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if ssrc in ssrcs:
                    callback(None, float(bitrate), ())
        except ValueError:
            pass  # not a REMB (another application-layer feedback)
        await original(packet)

    setattr(sender, _HANDLE_RTCP, handle)


def cap_remb(sender: RTCRtpSender, max_bps: int) -> None:
    """Never let a REMB raise ``sender``'s encoder above ``max_bps`` (internal 5).

    aiortc's VP8/H.264 encoders follow the receiver's estimate up to 1.5 Mbit/s;
    a low layer must stay small whatever the hub's estimate says.
    """
    original = _private(sender, _HANDLE_RTCP)

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                pass
            else:
                if bitrate > max_bps:
                    packet = RtcpPsfbPacket(
                        fmt=packet.fmt,
                        ssrc=packet.ssrc,
                        media_ssrc=packet.media_ssrc,
                        fci=pack_remb_fci(max_bps, ssrcs),
                    )
        await original(packet)

    setattr(sender, _HANDLE_RTCP, handle)


def preset_bitrate(sender: RTCRtpSender, bps: int) -> None:
    """Make ``sender``'s encoder start at ``bps`` instead of aiortc's default (internal 7)."""
    original = _private(sender, _NEXT_ENCODED_FRAME)
    _private(sender, _SENDER_ENCODER)

    async def next_encoded_frame(codec: RTCRtpCodecParameters) -> Any:
        if getattr(sender, _SENDER_ENCODER) is None:
            encoder = get_encoder(codec)
            if hasattr(encoder, "target_bitrate"):
                encoder.target_bitrate = bps
            else:
                context = getattr(encoder, "codec", None)
                if context is not None and hasattr(context, "bit_rate"):
                    context.bit_rate = bps
            setattr(sender, _SENDER_ENCODER, encoder)
        return await original(codec)

    setattr(sender, _NEXT_ENCODED_FRAME, next_encoded_frame)


def retransmit_once(sender: RTCRtpSender) -> None:
    """Resend each packet of ``sender`` at most once, whatever the NACKs say (internal 6)."""
    original = _private(sender, _RETRANSMIT)
    done: set[int] = set()
    order: collections.deque[int] = collections.deque()

    async def retransmit(sequence_number: int) -> None:
        if sequence_number in done:
            return
        done.add(sequence_number)
        order.append(sequence_number)
        if len(order) > 1024:  # sequence numbers wrap at 65536: forget old ones
            done.discard(order.popleft())
        await original(sequence_number)

    setattr(sender, _RETRANSMIT, retransmit)


def guard_receiver(
    receiver: RTCRtpReceiver,
    *,
    stall_s: float = DEFAULT_STALL_S,
    on_stall: Callable[[], None] | None = None,
) -> StallGuardBuffer:
    """Make a video receiver skip a hole that blocks frames for ``stall_s`` (internal 8).

    Call before media flows (what the old buffer held is dropped). Returns the
    buffer (its ``stalls`` counts the skips).
    """
    old = _private(receiver, _JITTER_BUFFER)
    if not isinstance(old, JitterBuffer) or old.capacity != VIDEO_CAPACITY:
        raise InternalsChangedError(f"{_JITTER_BUFFER} (not a {VIDEO_CAPACITY}-packet buffer)")
    guard = StallGuardBuffer(old.capacity, stall_s=stall_s, on_stall=on_stall)
    setattr(receiver, _JITTER_BUFFER, guard)
    return guard


def on_pli_sent(receiver: RTCRtpReceiver, callback: Callable[[], None]) -> None:
    """Call ``callback`` for every PLI ``receiver`` sends, whoever asked (internal 9)."""
    send = _private(receiver, _SEND_PLI)

    async def counted(media_ssrc: int) -> None:
        callback()
        await send(media_ssrc)

    setattr(receiver, _SEND_PLI, counted)


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    """The codec the last offer/answer agreed on for ``transceiver``, or None."""
    codecs: list[RTCRtpCodecParameters] = _private(transceiver, _TRANSCEIVER_CODECS)
    return codecs[0] if codecs else None


def selected_pair_types(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """Local and remote candidate types of the ICE pair in use (``"relay"``: TURN).

    aiortc's ``getStats`` has no candidate-pair report, so this reads aioice's
    nominated pair through private attributes (``_connection``, ``_nominated``),
    defensively: a changed aioice makes it return ``None``, never raise (tests
    that rely on it assert a non-``None`` answer, so a change shows there).
    """
    for transceiver in pc.getTransceivers():
        transport = transceiver.sender.transport
        if transport is None:
            continue
        connection = getattr(transport.transport.iceGatherer, "_connection", None)
        pairs = getattr(connection, "_nominated", None) or {}
        for pair in pairs.values():
            try:
                return (str(pair.local_candidate.type), str(pair.remote_candidate.type))
            except AttributeError:
                return None
    return None
