"""``SessionRecorder``: one lesson's recording, a consumer of the relay's encoded frames.

The relay offers every encoded frame it receives to its listeners
(``SessionRelay.add_listener``) after it has offered it to its subscribers; the
recorder is one such listener, kept apart from forwarding (no slot, no sender,
no routing change). It keeps the lead's video and audio in ``lead.webm`` and,
while a partner holds the floor, that partner's stream in a file per turn
(``floor-01-p1.webm``, ...), each starting on a keyframe it asks the source for.

Nothing here may disturb the live lesson:

- ``on_frame`` runs on the hub's event loop and only puts the frame on a
  bounded queue (``queue_frames``); a full queue (stalled disk) drops frames,
  counted, and the file resumes at the next keyframe;
- a writer thread does all file work (PyAV muxing, ``fsync``-free); it checks
  the free space every ``space_check_s`` and stops recording with an alert
  (log at error level, ``dualclass_hub_recording_stopped_total{reason}``,
  ``status: "stopped"`` in the manifest) when the disk is below
  ``min_free_mb`` or a write fails (``ENOSPC``); the lesson goes on.

Files of one session live in ``<recording_dir>/<session>/`` with the manifest
``recording.json`` (files, their offsets on the lesson timeline, wall-clock and
RTP anchors) and, once the lesson ends, ``timeline.json`` (``hub.recording.timeline``).
A hub restart mid-lesson continues the same set (``lead-2.webm``, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.recording.clock import StreamClock
from hub.recording.container import SUPPORTED, WebmWriter
from hub.recording.exceptions import RecordingError
from hub.recording.settings import RecordingSettings
from hub.recording.timeline import build_timeline
from protocols.messages import Envelope

__all__ = ["MANIFEST", "SessionRecorder", "write_json"]

log = logging.getLogger("dualclass.hub.recording")

MANIFEST = "recording.json"
TIMELINE = "timeline.json"
_CLOCK_RATES = {"video": 90_000, "audio": 48_000}

#: ``on_stopped(reason)``, called on the event loop when recording stops early.
OnStopped = Callable[[str], None]


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


@dataclass
class _File:
    """One output file as the writer thread sees it."""

    key: str
    role: str
    node: str
    path: Path
    writer: WebmWriter | None = None
    epoch_ms: float = 0.0
    clocks: dict[str, StreamClock] = field(default_factory=dict)
    #: video waits for a keyframe (the source restarted mid-file)
    need_keyframe: bool = False

    def describe(self) -> dict[str, Any]:
        """Plain data; ``epoch_ms``: wall-clock time the sender sent the file's media
        time 0 (``StreamClock.capture_epoch_ms`` of its video)."""
        video = self.clocks.get("video")
        epoch = video.capture_epoch_ms() if video is not None else self.epoch_ms
        last = max((c.last_media_ms for c in self.clocks.values()), default=0)
        return {
            "name": self.path.name,
            "role": self.role,
            "node": self.node,
            "duration_s": round(max(last, 0) / 1000, 3),
            "epoch_ms": round(epoch, 1),
            "streams": {kind: clock.describe() for kind, clock in self.clocks.items()},
            "bytes": self.path.stat().st_size if self.path.exists() else 0,
        }


class SessionRecorder:
    """See the module docstring. Loop side: ``start``, ``on_frame``, ``set_floor``,
    ``finish``; everything touching files runs in the writer thread."""

    def __init__(
        self,
        session: str,
        settings: RecordingSettings,
        *,
        lead: str,
        video_codec: str = "video/VP8",
        request_keyframe: Callable[[str], None] | None = None,
        on_stopped: OnStopped | None = None,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.session = session
        self.settings = settings
        self.lead = lead
        self.video_codec = video_codec.lower()
        self.directory = settings.directory / session
        self.status = "idle"
        self.reason: str | None = None
        self.dropped = 0
        self.frames = 0
        self._request_keyframe = request_keyframe or (lambda _pid: None)
        self._on_stopped = on_stopped
        self._wall_ms = wall_ms
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=settings.queue_frames)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._floor: str | None = None
        self._floor_key: str | None = None
        self._floor_turns = 0
        self._resync: set[str] = set()  # file keys that dropped video: wait for a keyframe
        # writer-thread state
        self._files: dict[str, _File] = {}
        self._done: list[dict[str, Any]] = []
        self._part = 1
        self._last_space_check = 0.0
        #: Wall-clock time the newest recorded lead picture was taken (writer thread).
        self.lead_captured_ms = 0.0

    # ------------------------------------------------------------ loop side

    @property
    def recording(self) -> bool:
        return self.status == "recording"

    def start(self) -> None:
        """Begin (the lesson is live): make the folder, check space, start the writer."""
        if self.status != "idle":
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load_previous()
            free_mb = shutil.disk_usage(self.directory).free / 1e6
        except OSError as exc:
            self._stop_now(f"storage: {exc}")
            return
        if self.video_codec not in SUPPORTED:
            self._stop_now(f"unsupported video codec {self.video_codec}")
        elif free_mb < self.settings.min_free_mb:
            self._stop_now("disk_full")
        if self.status == "stopped":
            with contextlib.suppress(OSError):
                self._write_manifest()  # so the API shows why there is no recording
            return
        self._loop = asyncio.get_running_loop()
        self.status = "recording"
        self._write_manifest()
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.session}", daemon=True
        )
        self._thread.start()
        self._open("lead", "lead", self.lead)
        if self._floor is not None:
            self._open_floor(self._floor)
        log.info("recording %s into %s", self.session, self.directory)

    def on_frame(
        self, pid: str, kind: str, mime: str, data: bytes, timestamp: int, keyframe: bool
    ) -> None:
        """A relay listener: queue the frame if it belongs to the recording. Never blocks."""
        if self.status != "recording" or kind not in _CLOCK_RATES:
            return  # not recording, or a feed the files do not hold (a shared screen)
        if pid == self.lead:
            key = "lead"
        elif pid == self._floor and self._floor_key is not None:
            key = self._floor_key
        else:
            return
        if kind == "video":
            if mime.lower() != self.video_codec:
                return
            if key in self._resync:
                if not keyframe:
                    # ask on every frame we cannot use: the relay's limiter makes it
                    # one PLI per interval, and a lost PLI (UDP) is simply repeated
                    self._request_keyframe(pid)
                    return
                self._resync.discard(key)
        try:
            self._queue.put_nowait(("frame", key, kind, data, timestamp, keyframe, self._wall_ms()))
            self.frames += 1
        except queue.Full:
            self.dropped += 1
            if key not in self._resync:
                self._resync.add(key)
                self._request_keyframe(pid)

    def set_floor(self, holder: str | None) -> None:
        """The lesson's floor holder (None: nobody); each turn is a file of its own."""
        if holder == self._floor or holder == self.lead:
            return
        if self._floor_key is not None:
            self._put(("close", self._floor_key))
            self._floor_key = None
        self._floor = holder
        if holder is not None and self.status == "recording":
            self._open_floor(holder)

    async def caught_up(self, until_ms: float, *, within_s: float = 5.0) -> bool:
        """Wait (at most ``within_s``) until the lead's pictures taken up to ``until_ms``
        are recorded. Pictures reach the hub after the events sent beside them (an
        encoder queue on a loaded classroom box holds them back by seconds), so the
        lesson's last moments are kept by waiting for them, not by the clock."""
        deadline = time.monotonic() + within_s
        while self.recording and self.lead_captured_ms < until_ms:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def finish(self, events: Sequence[Envelope] = ()) -> dict[str, Any]:
        """Close every file, write the timeline from ``events`` and the final manifest."""
        thread = self._thread
        if thread is not None:
            # the stop item must get through: wait for room off the event loop
            await asyncio.to_thread(self._queue.put, ("stop", None))
            await asyncio.to_thread(thread.join)
            self._thread = None
        if self.status == "recording":
            self.status = "complete"
        if self.status in ("complete", "stopped") and self.directory.is_dir():
            try:
                await asyncio.to_thread(self._write_final, list(events))
            except OSError as exc:
                log.error("recording %s: cannot write its timeline: %s", self.session, exc)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        """The manifest as it stands (plain data)."""
        files = [dict(f) for f in self._done]
        files += [f.describe() for f in self._files.values() if f.writer is not None]
        # the lesson timeline is the first lead file's: its media time 0 is t = 0
        epochs = [f["epoch_ms"] for f in files if f["role"] == "lead"] or [
            f["epoch_ms"] for f in files
        ]
        epoch = min(epochs) if epochs else None
        for f in files:
            f["offset_s"] = round((f["epoch_ms"] - (epoch or 0.0)) / 1000, 3)
        return {
            "session": self.session,
            "status": self.status,
            "reason": self.reason,
            "epoch_ms": None if epoch is None else round(epoch, 1),
            "duration_s": max((f["offset_s"] + f["duration_s"] for f in files), default=0.0),
            "files": files,
            "timeline": TIMELINE if (self.directory / TIMELINE).exists() else None,
            "frames": self.frames,
            "dropped": self.dropped,
        }

    def _open(self, key: str, role: str, node: str) -> None:
        self._put(("open", key, role, node))
        self._resync.add(key)  # a file starts on a keyframe
        self._request_keyframe(node)

    def _open_floor(self, holder: str) -> None:
        self._floor_turns += 1
        self._floor_key = f"floor-{self._floor_turns:02d}-{holder}"
        self._open(self._floor_key, "floor", holder)

    def _put(self, item: tuple[Any, ...]) -> None:
        """Queue a control item without ever blocking the event loop."""
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            # the writer is stalled (disk): this floor turn is not recorded
            self.dropped += 1
            log.error("recording %s: writer behind, %s %s dropped", self.session, *item[:2])

    def _stop_now(self, reason: str) -> None:
        self.status, self.reason = "stopped", reason
        self._alert(reason)

    def _alert(self, reason: str) -> None:
        log.error("recording %s stopped: %s (the lesson goes on)", self.session, reason)
        if self._on_stopped is not None:
            try:
                self._on_stopped(reason)
            except Exception:
                log.exception("recording %s: alert hook failed", self.session)

    def _stopped_in_thread(self, reason: str) -> None:
        if self.status == "recording":
            self.status, self.reason = "stopped", reason
            self._alert(reason)

    # ---------------------------------------------------------- writer thread

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item[0] == "stop":
                break
            if self.reason is not None:
                continue  # stopped early: drain and ignore until told to stop
            try:
                self._handle(item)
                self._check_space()
            except (RecordingError, OSError) as exc:
                self._fail(str(exc) if not _is_enospc(exc) else "disk_full")
            except Exception as exc:  # a bug must stop the recording, not kill the thread
                log.exception("recording %s: writer failed", self.session)
                self._fail(f"internal: {type(exc).__name__}")
        failure = self._close_all()
        if failure is not None and self.reason is None:
            self._fail(failure)
        with contextlib.suppress(OSError):
            self._write_manifest()

    def _handle(self, item: tuple[Any, ...]) -> None:
        match item:
            case ("open", key, role, node):
                name = key if key != "lead" else "lead"
                path = self._free_name(name)
                self._files[key] = _File(key, role, node, path)
            case ("close", key):
                self._close(key)
                self._write_manifest()
            case ("frame", key, kind, data, timestamp, keyframe, arrival_ms):
                self._frame(key, kind, data, timestamp, keyframe, arrival_ms)

    def _frame(
        self, key: str, kind: str, data: bytes, rtp: int, keyframe: bool, arrival_ms: float
    ) -> None:
        file = self._files.get(key)
        if file is None:
            return
        if file.writer is None:
            if kind != "video" or not keyframe:
                return  # a file starts on a keyframe; earlier sound is not kept
            writer = WebmWriter(file.path)
            writer.add_video(data)
            writer.add_audio()
            file.writer = writer
            file.epoch_ms = arrival_ms
            file.clocks = {
                k: StreamClock(rate, epoch_ms=arrival_ms) for k, rate in _CLOCK_RATES.items()
            }
            self._write_manifest()
        clock = file.clocks[kind]
        if kind == "video":
            if clock.discontinuous(rtp) and not keyframe:
                # the publisher reconnected: its new stream can be decoded only from
                # a keyframe (asked for on the loop, through the relay's limiter)
                file.need_keyframe = True
            if file.need_keyframe:
                if not keyframe:
                    self._ask_from_thread(file.node)
                    return
                file.need_keyframe = False
        media_ms = clock.place(rtp, arrival_ms)
        file.writer.write(kind, data, media_ms, keyframe)
        if kind == "video" and file.role == "lead":
            # when the newest recorded lead picture was taken (``caught_up``)
            self.lead_captured_ms = clock.capture_epoch_ms() + media_ms

    def _ask_from_thread(self, node: str) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._request_keyframe, node)

    def _close(self, key: str) -> None:
        file = self._files.pop(key, None)
        if file is None or file.writer is None:
            return
        file.writer.close()
        self._done.append(file.describe())

    def _close_all(self) -> str | None:
        """Close every open file; the reason of the first failure, if any."""
        failure = None
        for key in list(self._files):
            try:
                self._close(key)
            except (RecordingError, OSError) as exc:
                log.error("recording %s: closing %s: %s", self.session, key, exc)
                failure = failure or ("disk_full" if _is_enospc(exc) else str(exc))
        return failure

    def _fail(self, reason: str) -> None:
        self._close_all()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._stopped_in_thread, reason)
        self.reason = reason

    def _check_space(self) -> None:
        now = time.monotonic()
        if now - self._last_space_check < self.settings.space_check_s:
            return
        self._last_space_check = now
        if shutil.disk_usage(self.directory).free / 1e6 < self.settings.min_free_mb:
            self._fail("disk_full")

    def _free_name(self, stem: str) -> Path:
        path = self.directory / f"{stem}.webm"
        part = self._part
        while path.exists() or any(d["name"] == path.name for d in self._done):
            part += 1
            path = self.directory / f"{stem}-{part}.webm"
        return path

    def _load_previous(self) -> None:
        """A restarted hub continues the session's set: keep the files listed so far."""
        manifest = self.directory / MANIFEST
        if not manifest.exists():
            return
        try:
            data = json.loads(manifest.read_text())
            self._done = [
                f for f in data.get("files", []) if isinstance(f, dict) and "epoch_ms" in f
            ]
        except (ValueError, TypeError) as exc:
            log.warning("recording %s: previous manifest unreadable (%s)", self.session, exc)

    def _write_manifest(self) -> None:
        write_json(self.directory / MANIFEST, self.describe())

    def _write_final(self, events: list[Envelope]) -> None:
        manifest = self.describe()
        epoch = manifest["epoch_ms"]
        if epoch is not None:
            write_json(self.directory / TIMELINE, build_timeline(self.session, epoch, events))
        write_json(self.directory / MANIFEST, self.describe())


def _is_enospc(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno == 28:
            return True
        if "No space left" in str(cause):
            return True
        cause = cause.__cause__
    return False
