"""What the node sends: the synthetic pattern, a media file, or V4L2 camera + ALSA mic.

``open_source(settings)`` returns a ``Source`` whose tracks are shared through
aiortc's ``MediaRelay``: a device can be opened only once, but the node may be in
more than one session's media at a time, so each session ``subscribe``s.
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay
from av import VideoFrame

from classroom_node.media.exceptions import NodeMediaError
from classroom_node.media.pattern import PatternAudioTrack, PatternVideoTrack
from classroom_node.media.settings import MediaSettings

__all__ = ["ScaledVideoTrack", "Source", "open_source"]


@dataclass
class Source:
    """The node's camera and microphone (either may be missing)."""

    video: MediaStreamTrack | None
    audio: MediaStreamTrack | None
    relay: MediaRelay = field(default_factory=MediaRelay)

    def subscribe(self, kind: str) -> MediaStreamTrack | None:
        """A per-session copy of the ``kind`` track (None if there is none)."""
        track = self.video if kind == "video" else self.audio
        return None if track is None else self.relay.subscribe(track)

    def subscribe_low(self, width: int, height: int, fps: int) -> MediaStreamTrack | None:
        """A per-session low layer of the camera: smaller and at most ``fps``."""
        if self.video is None:
            return None
        return ScaledVideoTrack(self.relay.subscribe(self.video), width, height, fps)

    def stop(self) -> None:
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()


def open_source(settings: MediaSettings) -> Source:
    """Open the configured source; ``NodeMediaError`` if the file or device cannot be."""
    try:
        if settings.source == "pattern":
            video = PatternVideoTrack(settings.width, settings.height, settings.fps)
            return Source(video, PatternAudioTrack())
        if settings.source == "file":
            assert settings.file is not None
            player = MediaPlayer(str(settings.file), loop=True)
            return Source(player.video, player.audio)
        camera = MediaPlayer(
            settings.video_device,
            format="v4l2",
            options={
                "video_size": f"{settings.width}x{settings.height}",
                "framerate": str(settings.fps),
            },
        )
        microphone = MediaPlayer(settings.audio_device, format="alsa")
        return Source(camera.video, microphone.audio)
    except (av.FFmpegError, OSError) as exc:
        raise NodeMediaError(f"cannot open media source {settings.source}: {exc}") from None


class ScaledVideoTrack(MediaStreamTrack):
    """The camera scaled down and thinned out to at most ``fps``: a low layer.

    Frames are dropped by their timestamps (not by count), so a camera that
    delivers irregularly still gives an even low frame rate.
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack, width: int, height: int, fps: int) -> None:
        super().__init__()
        self._source = source
        self._size = (width, height)
        self._interval = fractions.Fraction(1, fps)
        self._next: fractions.Fraction | None = None

    async def recv(self) -> VideoFrame:
        while True:
            frame = await self._source.recv()
            if not isinstance(frame, VideoFrame) or frame.pts is None or frame.time_base is None:
                continue
            at = frame.pts * frame.time_base
            if self._next is not None and at < self._next:
                continue
            self._next = (
                at + self._interval if self._next is None else max(self._next + self._interval, at)
            )
            width, height = self._size
            scaled = frame.reformat(width=width, height=height)
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            return scaled

    def stop(self) -> None:
        super().stop()
        self._source.stop()
