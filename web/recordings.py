"""Carries the room's recording out: a recorder (media/recorder.py) fed by bridge consumers
in the slots a hall TV watches, started and stopped as the room's events say.

The room decides that a recording runs; this module checks the disk before it may, and
tells the room when the recorder gave up (a full disk), so every page sees it stop.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets
import shutil
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.codec import Codec
from bridge.consumer import Consumer
from media.recorder import DISK_FULL, ERROR, SLOTS, Recorder
from media.recording import RECORDINGS, Recording, RecordingInfo, mark_interrupted
from rooms.commands import Command, RecordingFailed, StartRecording
from rooms.events import Event, MeetingOpened, RecordingStarted, RecordingStopped
from rooms.permissions import RECORD
from rooms.recording import AUTO, CODEC_CHANGED, INTERRUPTED
from rooms.routing import CHAIR

from .errors import MessageError
from .relay import OPUS

if TYPE_CHECKING:
    from .meeting import Meeting

logger = logging.getLogger(__name__)

GIB = 1024**3
# The recorder never falls behind like a TV: its consumers may hold far more before they
# skip to a keyframe (a stalled event loop, not a slow port, is all that could fill them).
RECORDER_QUEUE_PACKETS, RECORDER_QUEUE_DELAY = 5000, 5.0


def new_recording_id(at: float | None = None) -> str:
    """A recording's id and folder name: its start (UTC) and a few random letters."""
    when = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return f"r-{when:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def free_gib(folder: Path) -> float:
    """Free space where `folder` is (or would be created)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / GIB


class Recordings:
    """The live meeting's recorder, if one runs."""

    def __init__(self, meeting: Meeting) -> None:
        self._meeting = meeting
        self._settings = meeting.settings
        self.folder = meeting.settings.data_dir / RECORDINGS
        self.recorder: Recorder | None = None
        self._consumers: dict[str, Consumer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def check(self, command: Command) -> None:
        """Refuse a chair's StartRecording while the disk is too full (MessageError
        "no-space"), before the room logs a start no recorder could keep."""
        if not isinstance(command, StartRecording):
            return
        page = self._meeting.pages.get(command.conn_id)
        if command.conn_id != AUTO and (page is None or not page.identity.may(RECORD)):
            return  # the room refuses it, without telling a hall how full the disk is
        needed = self._settings.recording.min_free_gib
        free = free_gib(self.folder)
        if free < needed:
            raise MessageError(
                "no-space",
                f"Không đủ chỗ trống để ghi hình: còn {free:.1f} GiB, cần {needed:g} GiB "
                f"(only {free:.1f} GiB free in {self.folder}; recording needs {needed:g} GiB)",
            )

    def carry_out(self, event: Event) -> None:
        if isinstance(event, RecordingStarted):
            self._start(event)
        elif isinstance(event, RecordingStopped):
            self._stop(event)
        elif isinstance(event, MeetingOpened) and self._settings.recording.auto:
            # After the command that opened it is done: the room handles one at a time.
            asyncio.get_event_loop().call_soon(self._auto_start)

    async def resume(self) -> None:
        """At start: recordings a dead bridge left "recording" are interrupted; so is the
        one the replayed log still thinks runs. With `auto`, an open meeting records anew."""
        loop = asyncio.get_event_loop()
        await loop.run_in_executor(None, mark_interrupted, self._settings.data_dir)
        running = self._meeting.room.recording.running
        if running is not None:
            self._apply(RecordingFailed(running.recording_id, INTERRUPTED))
        if self._settings.recording.auto and self._meeting.room.meeting is not None:
            self._auto_start()

    async def close(self) -> None:
        """The bridge stops: a running recording ends, logged as interrupted (the chair did
        not stop it), with its files closed cleanly."""
        if self.recorder is not None:
            self._failed(self.recorder.info.recording_id, INTERRUPTED)
        if self.recorder is not None:  # the room refused: stop it all the same
            self._release()
            self._spawn(self._end(self.recorder, INTERRUPTED, time.time()))
            self.recorder = None
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the recorder -------------------------------------------------------------------

    def _start(self, event: RecordingStarted) -> None:
        room = self._meeting.room
        meeting_id = room.meeting.id if room.meeting is not None else "no-meeting"
        folder = Recording.folder(self._settings.data_dir, meeting_id, event.recording_id)
        info = RecordingInfo(meeting_id, event.recording_id, event.at, folder=folder)
        video = self._video_codec()
        recorder = Recorder(
            info,
            video.name,
            on_failed=lambda reason: self._failed(event.recording_id, reason),
            on_keyframe_wanted=self._keyframe_wanted,
        )
        self.recorder = recorder
        self._consumers = {
            slot: Consumer(
                kind,
                recorder.ports[slot],
                video if kind == "video" else OPUS,
                max_queue_packets=RECORDER_QUEUE_PACKETS,
                max_queue_delay=RECORDER_QUEUE_DELAY,
                replay=False,  # a squeezed replay would be pictures from before, at the wrong time
            )
            for slot, (_, kind) in SLOTS.items()
        }
        chair_video = self._consumers["chair-video"]
        chair_video.on("incompatible", lambda: self._chair_codec_changed(event.recording_id))
        self._meeting.relay.attach(list(self._consumers.values()), list(self._consumers))
        self._spawn(self._begin(recorder))
        logger.info("recording %s started in %s", event.recording_id, folder)

    async def _begin(self, recorder: Recorder) -> None:
        try:
            await recorder.start()
        except OSError as exc:  # the data directory is not writable, or full
            logger.error("recording %s cannot start: %s", recorder.info.recording_id, exc)
            recorder.failure = DISK_FULL if exc.errno == errno.ENOSPC else ERROR
            self._failed(recorder.info.recording_id, recorder.failure)

    def _stop(self, event: RecordingStopped) -> None:
        recorder = self.recorder
        if recorder is None or recorder.info.recording_id != event.recording_id:
            return
        self.recorder = None
        self._release()
        self._spawn(self._end(recorder, event.reason, event.at))

    async def _end(self, recorder: Recorder, reason: str, at: float) -> None:
        info = await recorder.stop(reason, at)
        logger.info(
            "recording %s ended (%s): %s %s",
            info.recording_id,
            info.state,
            reason,
            recorder.stats(),
        )

    def _chair_codec_changed(self, recording_id: str) -> None:
        """The chair went live in a codec this recording (begun before the broadcast) cannot
        hold: end it and record anew in the chair's codec, once the routing is done."""

        def restart() -> None:
            if self.recorder is not None and self.recorder.info.recording_id == recording_id:
                self._failed(recording_id, CODEC_CHANGED)
                self._auto_start()

        asyncio.get_event_loop().call_soon(restart)

    def _failed(self, recording_id: str, reason: str) -> None:
        self._apply(RecordingFailed(recording_id, reason))

    def _release(self) -> None:
        consumers, self._consumers = self._consumers, {}
        for consumer in consumers.values():
            consumer.close()

    def _keyframe_wanted(self, slot: str) -> None:
        consumer = self._consumers.get(slot)
        if consumer is not None:
            consumer.request_keyframe()

    def _video_codec(self) -> Codec:
        """The chair's video codec as it publishes it (H.264 with its packetization mode),
        or the one the meeting negotiates in."""
        producer = self._meeting.relay.router.producer(CHAIR, "video")
        if producer is not None:
            return producer.codec
        return Codec(self._meeting.video_codec() or "VP8", 90000)

    # -- commands to the room -----------------------------------------------------------

    def _auto_start(self) -> None:
        room = self._meeting.room
        if room.meeting is not None and room.recording.running is None:
            self._apply(StartRecording(AUTO, new_recording_id()))

    def _apply(self, command: Command) -> None:
        try:
            self._meeting.handle(command)
        except Exception as exc:
            logger.warning("recording: %s refused: %s", type(command).__name__, exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
