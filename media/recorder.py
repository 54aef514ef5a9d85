"""The recorder: a subscriber like any other. Bridge consumers send it the chair's and the
floor's camera and microphone and the program mix; it writes them to one recording's
folder (media/recording.py) as they arrived, without transcoding.

A port's `send` only appends the packet to a queue. Every DRAIN_EVERY seconds one writer
thread takes what the queues hold, assembles frames (media/framer.py) and muxes them
(media/recfile.py): nothing of that runs on the event loop. A write that fails (a full
disk, a folder gone) stops the recorder and reports why through `on_failed`; what was
written stays a playable file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import IO

from aiortc.rtp import RtpPacket

from .framer import Clock, Frame, Framer
from .recfile import RecordingFile
from .recording import (
    CHAIR_FILE,
    COMPLETE,
    FAILED,
    FLOOR_FILE,
    INTERRUPTED,
    PROGRAM_FILE,
    SLIDES_FILE,
    TIMELINE,
    Recording,
    RecordingInfo,
)

logger = logging.getLogger(__name__)

DRAIN_EVERY = 0.25  # seconds between two visits of the writer thread
# Per slot: 30 s of a 2 Mbps camera. The thread drains far faster; this only bounds what a
# stalled disk may pile up in memory.
MAX_QUEUED = 20_000
# slot → (file key, kind); the slot names are rooms/routing.py's
SLOTS: dict[str, tuple[str, str]] = {
    "chair-video": ("chair", "video"),
    "chair-audio": ("chair", "audio"),
    "floor-video": ("floor", "video"),
    "floor-audio": ("floor", "audio"),
    "program-audio": ("program", "audio"),
    "slides-video": ("slides", "video"),  # the chair's shared screen, while it shares one
}
FILE_NAMES = {
    "chair": CHAIR_FILE,
    "floor": FLOOR_FILE,
    "program": PROGRAM_FILE,
    "slides": SLIDES_FILE,
}
DISK_FULL, ERROR = "disk-full", "error"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

Queued = tuple[float, int, int, bool, bytes]  # (arrival, seq, timestamp, marker, payload)


class RecorderPort:
    """One slot's input, as a bridge Consumer's port. It is never slow, so the consumer's
    catch-up policies (drop to the next keyframe) never trigger for the recorder."""

    def __init__(self, payload_type: int = 96) -> None:
        self.payload_type = payload_type
        self.ssrc = random.getrandbits(32)
        self.queue: deque[Queued] = deque(maxlen=MAX_QUEUED)  # atomic append/popleft
        self.packets_in = 0
        self.open = True

    @property
    def started(self) -> bool:
        return True

    async def send(self, packet: RtpPacket) -> None:
        if self.open:
            self.packets_in += 1
            self.queue.append(
                (
                    time.time(),
                    packet.sequence_number,
                    packet.timestamp,
                    bool(packet.marker),
                    packet.payload,
                )
            )


class Recorder:
    """Records into `info.folder` from `start` until `stop`, or until a write fails."""

    def __init__(
        self,
        info: RecordingInfo,
        video_codec: str,
        *,
        on_failed: Callable[[str], None] = lambda reason: None,
        on_keyframe_wanted: Callable[[str], None] = lambda slot: None,
    ) -> None:
        """`video_codec`: "vp8" or "h264"; `on_failed(reason)` and `on_keyframe_wanted(slot)`
        are called on the event loop."""
        self.info = info
        self.video_codec = video_codec.lower()
        self.ports = {slot: RecorderPort() for slot in SLOTS}
        self._on_failed = on_failed
        self._on_keyframe_wanted = on_keyframe_wanted
        self._framers = {
            slot: Framer(
                kind,
                self.video_codec if kind == "video" else "opus",
                Clock(90000 if kind == "video" else 48000, info.started_at),
            )
            for slot, (_, kind) in SLOTS.items()
        }
        self._files: dict[str, RecordingFile] = {}
        self._timeline: IO[str] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._loop = asyncio.get_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._finished = False
        self.failure: str | None = None
        self.drains = 0

    # -- life ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the folder and recording.json; raises OSError when it cannot."""
        await self._loop.run_in_executor(self._pool, self._begin)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self, reason: str, at: float) -> RecordingInfo:
        """Write what is queued, close the files and say how it ended; idempotent."""
        for port in self.ports.values():
            port.open = False
        self._stopping = True
        if self._task is not None:
            await self._task
            self._task = None
        if not self._finished:
            self._finished = True
            state = FAILED if self.failure else INTERRUPTED if reason == INTERRUPTED else COMPLETE
            info = replace(self.info, stopped_at=at, state=state, reason=self.failure or reason)
            try:
                await self._loop.run_in_executor(self._pool, self._finish, info)
            except Exception as exc:  # the disk may be full still: the files are what they are
                logger.warning("recording %s did not close cleanly: %s", info.recording_id, exc)
            self.info = info
            self._pool.shutdown(wait=False)
        return self.info

    async def _run(self) -> None:
        while True:
            stopping = self._stopping
            try:
                await self._loop.run_in_executor(self._pool, self._drain, stopping)
            except Exception as exc:
                self._fail(exc)
                return
            if stopping:
                return
            await asyncio.sleep(DRAIN_EVERY)

    def _fail(self, exc: BaseException) -> None:
        reason = DISK_FULL if getattr(exc, "errno", None) in _FULL else ERROR
        logger.error("recording %s stopped: %s (%s)", self.info.recording_id, exc, reason)
        self.failure = reason
        for port in self.ports.values():
            port.open = False
            port.queue.clear()
        self._on_failed(reason)

    # -- on the writer thread -----------------------------------------------------------

    def _begin(self) -> None:
        Recording.save(self.info)
        self._timeline = (self.info.folder / TIMELINE).open("a", encoding="utf-8")

    def _drain(self, final: bool) -> None:
        self.drains += 1
        now = float("inf") if final else time.time()
        batches: dict[str, list[tuple[str, Frame]]] = {}
        for slot, port in self.ports.items():
            framer = self._framers[slot]
            queue = port.queue
            for _ in range(len(queue)):
                wall, seq, timestamp, marker, payload = queue.popleft()
                framer.push(seq, timestamp, marker, payload, wall)
            file_key, kind = SLOTS[slot]
            batches.setdefault(file_key, []).extend((kind, f) for f in framer.frames(now))
            if framer.keyframe_wanted:
                framer.keyframe_wanted = False
                self._loop.call_soon_threadsafe(self._on_keyframe_wanted, slot)
        for file_key, frames in batches.items():
            if frames:
                frames.sort(key=lambda kf: kf[1].pts)
                recording_file = self._file(file_key)
                for kind, frame in frames:
                    recording_file.write(kind, frame)
        if self._timeline is not None:
            self._timeline.flush()

    def _file(self, key: str) -> RecordingFile:
        found = self._files.get(key)
        if found is None:
            assert self._timeline is not None
            kinds = {
                kind: self._framers[slot].codec for slot, (k, kind) in SLOTS.items() if k == key
            }
            found = RecordingFile(
                self.info.folder / FILE_NAMES[key],
                kinds,
                self._timeline,
                lambda tracks, key=key: self._opened(key, tracks),  # type: ignore[misc]
            )
            self._files[key] = found
        return found

    def _opened(self, key: str, tracks: dict[str, str]) -> None:
        self.info = replace(self.info, tracks={**self.info.tracks, key: tracks})
        Recording.save(self.info)

    def _finish(self, info: RecordingInfo) -> None:
        error: Exception | None = None
        for recording_file in self._files.values():
            try:
                recording_file.close()
            except Exception as exc:  # close the others still
                error = error or exc
        if self._timeline is not None:
            self._timeline.close()
        Recording.save(replace(info, tracks=self.info.tracks))
        if error is not None:
            raise error

    def stats(self) -> dict[str, int]:
        """Frames written per file and frames lost per slot, for the log and the bench."""
        out = {f"{key}_frames": f.frames_written for key, f in self._files.items()}
        out |= {f"{slot}_lost": fr.frames_lost for slot, fr in self._framers.items()}
        return out
