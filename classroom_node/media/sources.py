"""What the node sends: the synthetic pattern, a media file, or V4L2 camera + ALSA mic.

``open_source(settings)`` returns a ``Source`` whose tracks are shared through
aiortc's ``MediaRelay``: a device can be opened only once, but the node may be in
more than one session's media at a time, so each session ``subscribe``s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay

from classroom_node.media.exceptions import NodeMediaError
from classroom_node.media.pattern import PatternAudioTrack, PatternVideoTrack
from classroom_node.media.settings import MediaSettings

__all__ = ["Source", "open_source"]


@dataclass
class Source:
    """The node's camera and microphone (either may be missing)."""

    video: MediaStreamTrack | None
    audio: MediaStreamTrack | None
    relay: MediaRelay = field(default_factory=MediaRelay)

    def subscribe(self, kind: str) -> MediaStreamTrack | None:
        """A per-session copy of the ``kind`` track (None if there is none).

        Video is unbuffered (the sender always gets the newest picture): a buffered
        copy queues every frame while its sender is held up, and a sender that then
        runs at the camera's rate never catches up, so the lesson would go on seconds
        behind for good. Audio keeps every 20 ms frame (a gap is audible).
        """
        track = self.video if kind == "video" else self.audio
        return None if track is None else self.relay.subscribe(track, buffered=kind != "video")

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
