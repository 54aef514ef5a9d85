"""Whether the meeting is being recorded: idle or recording, one recording at a time.

The recording id comes from web/ (the room makes no randomness); it names the
recording's folder on disk, so only safe characters pass. Like rooms/floor.py, each
decision checks the move and returns events, touching nothing; `apply` makes them true,
so replaying the log rebuilds whether a recording was running.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rooms.commands import Command, RecordingFailed, StartRecording, StopRecording
from rooms.errors import BadValue, IllegalMove
from rooms.events import Event, MeetingClosed, RecordingStarted, RecordingStopped

# Why a recording stopped. "interrupted": the bridge died while it ran (found at restart).
STOPPED, MEETING_CLOSED, DISK_FULL, ERROR, INTERRUPTED = (
    "stopped",
    "meeting-closed",
    "disk-full",
    "error",
    "interrupted",
)
# The chair went live in a video codec the running recording, begun before the broadcast,
# cannot hold: web/ ends it and starts another in that codec.
CODEC_CHANGED = "codec-changed"
FAILURES = frozenset({DISK_FULL, ERROR, INTERRUPTED, CODEC_CHANGED})  # what web/ may report
AUTO = ""  # the conn_id of a start the config asks for when a meeting opens: no page
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")  # it names a folder


@dataclass(frozen=True)
class Running:
    recording_id: str
    since: float
    by: str


class Recording:
    """The recording state of one room. Mutable inside the room only."""

    def __init__(self) -> None:
        self.running: Running | None = None
        self.stopped: RecordingStopped | None = None  # the last stop, until the next start

    def stopped_wire(self) -> dict[str, Any] | None:
        """The snapshot's `recording_stopped`: how the last recording ended, so the chair
        console can say that the disk was full."""
        stop = self.stopped
        if stop is None:
            return None
        return {"id": stop.recording_id, "reason": stop.reason, "at": stop.at}

    def to_wire(self) -> dict[str, Any] | None:
        """The snapshot's `recording`: null while nothing is recorded."""
        running = self.running
        return None if running is None else {"id": running.recording_id, "since": running.since}

    # -- decisions ----------------------------------------------------------------------

    def handle(
        self, cmd: Command, role_of: Callable[[str], str], meeting_open: bool, at: float
    ) -> list[Event]:
        """`role_of(conn_id)`: the sender's role, or NotPermitted when it may not record."""
        match cmd:
            case StartRecording():
                by = "auto" if cmd.conn_id == AUTO else role_of(cmd.conn_id)
                return self.start(cmd.recording_id, by, meeting_open, at)
            case StopRecording():
                role_of(cmd.conn_id)
                return self.stop(at)
            case RecordingFailed():  # from web/, not a page: no sender to check
                return self.failed(cmd.recording_id, cmd.reason, at)
        raise TypeError(f"not a recording command: {cmd!r}")

    def start(self, recording_id: str, by: str, meeting_open: bool, at: float) -> list[Event]:
        if not _SAFE_ID.match(recording_id):
            raise BadValue("recording_id", "a recording id is 1-64 letters, digits and '-'")
        if not meeting_open:
            raise IllegalMove("no meeting is open: open the meeting before recording it")
        if self.running is not None:
            raise IllegalMove(f"already recording ({self.running.recording_id})")
        return [RecordingStarted(recording_id, by, at=at)]

    def stop(self, at: float) -> list[Event]:
        if self.running is None:
            raise IllegalMove("nothing is being recorded")
        return [RecordingStopped(self.running.recording_id, STOPPED, at=at)]

    def failed(self, recording_id: str, reason: str, at: float) -> list[Event]:
        """The recorder of `recording_id` gave up; a report about an older one changes nothing."""
        if reason not in FAILURES:
            raise BadValue("reason", f"a recording fails with one of {sorted(FAILURES)}")
        if self.running is None or self.running.recording_id != recording_id:
            raise IllegalMove(f"recording {recording_id} is not running")
        return [RecordingStopped(recording_id, reason, at=at)]

    def before_close(self, events: Sequence[Event]) -> list[Event]:
        """`events` with the recording stopped ("meeting-closed") just before a MeetingClosed
        among them: a recording never outlives its meeting."""
        out: list[Event] = []
        for event in events:
            if isinstance(event, MeetingClosed) and self.running is not None:
                out.append(RecordingStopped(self.running.recording_id, MEETING_CLOSED, at=event.at))
            out.append(event)
        return out

    # -- state --------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        match event:
            case RecordingStarted():
                self.running = Running(event.recording_id, event.at, event.by)
                self.stopped = None
            case RecordingStopped() if (
                self.running is not None and self.running.recording_id == event.recording_id
            ):
                self.running = None
                self.stopped = event
            case MeetingClosed():
                self.running = None
