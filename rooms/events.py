"""What happened in the room: frozen dataclasses, each stamped with the `at` of its command."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.entry import Entry


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. `at` is keyword-only so it comes last in every constructor."""

    at: float


@dataclass(frozen=True)
class ParticipantJoined(Event):
    conn_id: str
    role: str
    hall_id: str | None


@dataclass(frozen=True)
class ParticipantLeft(Event):
    conn_id: str
    role: str
    hall_id: str | None


@dataclass(frozen=True)
class HallStateChanged(Event):
    """Only emitted when the hall's derived presence really changes."""

    hall_id: str
    old: str
    new: str


@dataclass(frozen=True)
class BroadcastStateChanged(Event):
    """The broadcast as it is after the change; `replaced` when a new publisher took over."""

    live: bool
    session_id: str | None
    video_codec: str | None
    audio_codec: str | None
    replaced: bool


@dataclass(frozen=True)
class ScreenChanged(Event):
    """What a hall's TV shows changed: `picture` and `sound` as rooms/screen.py names them."""

    hall_id: str
    picture: str
    sound: str


@dataclass(frozen=True)
class RenditionSwitched(Event):
    """A hall's TV now gets the chair's camera in `rendition` ("full" or "light")."""

    hall_id: str
    rendition: str


# -- the meeting, the queue and the floor (persisted: see rooms/wire.py) ----------------


@dataclass(frozen=True)
class MeetingOpened(Event):
    meeting_id: str
    title: str
    agenda: str = ""  # added later: older logs lack it (rooms/wire.py fills the default)


@dataclass(frozen=True)
class MeetingClosed(Event):
    """The meeting ended; its queue, floor and mutes go with it."""

    meeting_id: str


@dataclass(frozen=True)
class ViewerCount(Event):
    """How many crowd pages (the public board) are open; they are not logged one by one."""

    count: int


@dataclass(frozen=True)
class HandRaised(Event):
    """`entry` joined the end of the queue; `by` is the role that raised it."""

    entry: Entry
    by: str


@dataclass(frozen=True)
class HandWithdrawn(Event):
    entry_id: str
    hall_id: str
    by: str


@dataclass(frozen=True)
class FloorGranted(Event):
    """`entry` left the queue and holds the floor for `limit` seconds from `at`."""

    entry: Entry
    limit: int
    by: str


@dataclass(frozen=True)
class FloorEnded(Event):
    """`reason`: "ended" (someone ended it), "next" (the next entry was granted),
    "hall-dropped" (its stream was gone for FLOOR_GRACE), "meeting-closed"."""

    entry_id: str
    hall_id: str
    by: str  # the role that ended it, or "room" when the room ended it by itself
    reason: str


@dataclass(frozen=True)
class HallMuted(Event):
    hall_id: str
    muted: bool


@dataclass(frozen=True)
class FloorExtended(Event):
    """The floor's limit grew by `seconds` to `limit` (counted from the grant)."""

    entry_id: str
    seconds: int
    limit: int


@dataclass(frozen=True)
class EntryEdited(Event):
    """The entry's name and topic as they are now (both, even if one did not change)."""

    entry_id: str
    name: str
    topic: str


@dataclass(frozen=True)
class EntryMoved(Event):
    """The entry now stands at 0-based `position` in the queue."""

    entry_id: str
    position: int


@dataclass(frozen=True)
class ConsentGiven(Event):
    entry_id: str
    consent: bool


@dataclass(frozen=True)
class FloorTimeWarning(Event):
    """WARN_BEFORE seconds or less are left; sent once per limit."""

    entry_id: str
    remaining: float


@dataclass(frozen=True)
class FloorOvertime(Event):
    """The limit passed. The floor goes on: the chair decides when it ends."""

    entry_id: str


# -- streams -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamLive(Event):
    """`session_id` now carries `source` ("chair", "hall:<id>"); `replaced` is the
    session it took over from, which web/ closes."""

    source: str
    session_id: str
    replaced: str | None


@dataclass(frozen=True)
class StreamSuperseded(Event):
    """`session_id` arrived after a newer offer for `source` had gone live: web/ closes it."""

    source: str
    session_id: str


@dataclass(frozen=True)
class StreamEnded(Event):
    source: str
    session_id: str


# -- recording (persisted) ------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingStarted(Event):
    """Recording `recording_id` (its folder's name) began; `by` is the role that started it."""

    recording_id: str
    by: str


# -- the minutes (persisted: see rooms/wire.py) ---------------------------------------------


@dataclass(frozen=True)
class NoteAdded(Event):
    """A line of the secretary's notes; `note_id` counts "n1", "n2"… in each meeting."""

    note_id: str
    text: str
    by: str


@dataclass(frozen=True)
class RecordingStopped(Event):
    """`reason`: "stopped" (the chair), "meeting-closed", "disk-full", "error" (the recorder
    could not write), "interrupted" (the bridge died while it ran; found at restart)."""

    recording_id: str
    reason: str


@dataclass(frozen=True)
class QuestionStatusSet(Event):
    """A question's status (rooms.minutes.STATUSES) and the answer, as they are now."""

    entry_id: str
    status: str
    answer: str
    by: str


@dataclass(frozen=True)
class LinkQuality(Event):
    """How one hall's TV received the meeting, summed up from its reports when the
    meeting closed: for the minutes, which outlive the room's in-memory history."""

    hall_id: str
    reports: int
    fps: float  # mean frames per second shown
    loss: float  # mean packet loss, 0..1
    loss_max: float
    rtt_ms: float | None  # mean round trip; None when no report knew it
    rating: str  # "good", "fair" or "poor", as the chair console judges a link


@dataclass(frozen=True)
class HallsPresent(Event):
    """The hall pages already open when the meeting opened: their ParticipantJoined came
    before the meeting's log began, and the minutes must count them present from the start."""

    pages: tuple[tuple[str, str], ...]  # (conn_id, hall_id)
