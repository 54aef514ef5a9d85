"""What `web/` asks of the room: one frozen dataclass per command, handled by Room.handle."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.screen import LinkReport


@dataclass(frozen=True)
class Command:
    """Base of every command; carries no time, the caller passes `at=` to Room.handle."""


@dataclass(frozen=True)
class Connect(Command):
    """A page's WebSocket came up."""

    conn_id: str
    role: str
    hall_id: str | None = None


@dataclass(frozen=True)
class Disconnect(Command):
    """A page's WebSocket went away."""

    conn_id: str


@dataclass(frozen=True)
class MediaStarted(Command):
    """A watching (WHEP) session is up and media flows to it."""

    session_id: str
    role: str
    hall_id: str | None = None


@dataclass(frozen=True)
class MediaStopped(Command):
    """A watching (WHEP) session ended."""

    session_id: str


@dataclass(frozen=True)
class PublishStarted(Command):
    """A publishing (WHIP) session is up: the chair's camera (hall_id None) or a hall's.

    It takes over its source from an older stream; one offered before the current
    stream (`offered_at` older) that connects late is superseded instead. None means
    "offered now", for callers that do not know when.
    """

    session_id: str
    role: str
    hall_id: str | None
    video_codec: str | None
    audio_codec: str | None
    offered_at: float | None = None
    screen: bool = False  # a shared screen (the slides), not the camera


@dataclass(frozen=True)
class PublishStopped(Command):
    """A publishing (WHIP) session ended; ignored unless it is the current one of its source."""

    session_id: str


@dataclass(frozen=True)
class BroadcastStarted(Command):
    """Deprecated: the chair's PublishStarted, kept until web/meeting.py moves over."""

    session_id: str
    role: str
    video_codec: str | None
    audio_codec: str | None


@dataclass(frozen=True)
class BroadcastStopped(Command):
    """Deprecated: PublishStopped, kept until web/meeting.py moves over."""

    session_id: str


@dataclass(frozen=True)
class BroadcastCodecsChanged(Command):
    """A current publishing session's tracks changed (the chair's or a hall's): the
    bridge sets them up one at a time, in the order the publisher offered them (OBS and
    FFmpeg offer audio first)."""

    session_id: str
    video_codec: str | None
    audio_codec: str | None


@dataclass(frozen=True)
class ScreenReported(Command):
    """A hall page said what its TV rendered and how its link looks."""

    conn_id: str
    report: LinkReport


@dataclass(frozen=True)
class RenditionChanged(Command):
    """A watching session now gets another rendition of the chair's camera."""

    session_id: str
    rendition: str  # one of rooms.room.RENDITIONS


@dataclass(frozen=True)
class Tick(Command):
    """Time passed: lets a TV that stopped reporting, or stopped moving, be judged."""


# -- the meeting and the floor: sent by a page socket, checked against its role ------------


@dataclass(frozen=True)
class OpenMeeting(Command):
    conn_id: str
    title: str = ""
    agenda: str = ""  # several lines; often carried over from the schedule


@dataclass(frozen=True)
class CloseMeeting(Command):
    conn_id: str


@dataclass(frozen=True)
class RaiseHand(Command):
    """Raise a hand for `hall_id`; None means the sender's own hall."""

    conn_id: str
    hall_id: str | None = None
    name: str = ""
    topic: str = ""


@dataclass(frozen=True)
class WithdrawHand(Command):
    conn_id: str
    entry_id: str


@dataclass(frozen=True)
class GrantFloor(Command):
    """Give the floor to a queued entry; whoever holds it now loses it ("next")."""

    conn_id: str
    entry_id: str


@dataclass(frozen=True)
class EndFloor(Command):
    conn_id: str


@dataclass(frozen=True)
class MoveEntry(Command):
    """Put the entry at 0-based `position` in the queue."""

    conn_id: str
    entry_id: str
    position: int


@dataclass(frozen=True)
class MuteHall(Command):
    conn_id: str
    hall_id: str
    muted: bool


@dataclass(frozen=True)
class ExtendFloor(Command):
    conn_id: str
    seconds: int = 60


@dataclass(frozen=True)
class EditEntry(Command):
    """New name and topic of a queued entry or of the floor's; None keeps the old one."""

    conn_id: str
    entry_id: str
    name: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class AnswerConsent(Command):
    """The hall holding the floor agrees, or not, to have its turn recorded."""

    conn_id: str
    consent: bool


# -- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRecording(Command):
    """Start recording the meeting; web/ makes `recording_id` (the room has no randomness)."""

    conn_id: str
    recording_id: str


@dataclass(frozen=True)
class StopRecording(Command):
    conn_id: str


@dataclass(frozen=True)
class RecordingFailed(Command):
    """From web/, no page: the recorder of `recording_id` stopped by itself (`reason`:
    "disk-full", "error", or "interrupted" when a restart finds it was running)."""

    recording_id: str
    reason: str


# -- the minutes: the secretary's notes and each question's status (rooms/minutes.py) ------


@dataclass(frozen=True)
class AddNote(Command):
    """The secretary (or the chair) writes a line into the minutes."""

    conn_id: str
    text: str


@dataclass(frozen=True)
class SetQuestionStatus(Command):
    """A question of this meeting is answered, needs follow-up or was forwarded;
    `answer` says how (one of rooms.minutes.STATUSES)."""

    conn_id: str
    entry_id: str
    status: str
    answer: str = ""
