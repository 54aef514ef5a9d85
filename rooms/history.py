"""What one meeting left behind, read from its logged events: the read model that the
minutes, the clips, the composite export and the question register are all built from.

Pure: it only folds events (oldest first); the log stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from rooms.events import (
    ConsentGiven,
    EntryEdited,
    Event,
    FloorEnded,
    FloorGranted,
    HallsPresent,
    LinkQuality,
    MeetingClosed,
    MeetingOpened,
    NoteAdded,
    ParticipantJoined,
    ParticipantLeft,
    QuestionStatusSet,
    RecordingStarted,
    RecordingStopped,
    StreamEnded,
    StreamLive,
)
from rooms.routing import SLIDES

CUT_REASONS = frozenset({"hall-dropped"})  # the hall went away mid-question


@dataclass(frozen=True)
class Question:
    """One floor grant: a citizen's question, from the grant to the end of the floor."""

    entry_id: str
    hall_id: str
    name: str
    topic: str
    raised_at: float
    granted_at: float
    ended_at: float | None = None  # None while the floor is still held
    end_reason: str | None = None  # FloorEnded.reason
    consent: bool | None = None  # None: the hall never answered, which counts as no
    status: str = "open"  # rooms.minutes.STATUSES
    answer: str = ""

    @property
    def cut(self) -> bool:
        return self.end_reason in CUT_REASONS

    @property
    def recordable(self) -> bool:
        """A clip is kept only when the hall said yes."""
        return self.consent is True


@dataclass(frozen=True)
class Presence:
    """One stretch during which a hall had its page open."""

    hall_id: str
    joined_at: float
    left_at: float | None = None


@dataclass(frozen=True)
class RecordingSpan:
    """One recording of the meeting (its folder under data_dir/recordings/<meeting_id>/)."""

    recording_id: str
    started_at: float
    stopped_at: float | None = None  # None: still running, or the log ends before its stop
    reason: str | None = None  # RecordingStopped.reason


@dataclass(frozen=True)
class Note:
    """One line of the secretary's notes."""

    note_id: str
    text: str
    by: str
    at: float


@dataclass
class MeetingHistory:
    meeting_id: str = ""
    title: str = ""
    agenda: str = ""
    opened_at: float | None = None
    closed_at: float | None = None
    questions: list[Question] = field(default_factory=list)
    presence: list[Presence] = field(default_factory=list)
    recordings: list[RecordingSpan] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    links: dict[str, LinkQuality] = field(default_factory=dict)  # hall id → its summary
    # When the chair's screen was shared: (from, until), until None while it still is.
    slides: list[tuple[float, float | None]] = field(default_factory=list)
    _pages: dict[str, set[str]] = field(default_factory=dict, repr=False)  # hall → conn ids

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> MeetingHistory:
        history = cls()
        for event in events:
            history.apply(event)
        return history

    def question(self, entry_id: str) -> Question | None:
        return next((q for q in self.questions if q.entry_id == entry_id), None)

    def slides_at(self, wall: float) -> bool:
        """Whether the chair's screen was being shared at `wall`."""
        return any(
            since <= wall and (until is None or wall < until) for since, until in self.slides
        )

    def apply(self, event: Event) -> None:
        match event:
            case MeetingOpened():
                self.meeting_id, self.title, self.opened_at = (
                    event.meeting_id,
                    event.title,
                    event.at,
                )
                self.agenda = event.agenda
            case MeetingClosed():
                self.closed_at = event.at
                for hall_id in list(self._pages):
                    self._left(hall_id, event.at)
                self._slides_end(event.at)
            case StreamLive(source=source) if source == SLIDES:
                if not self.slides or self.slides[-1][1] is not None:  # not a replaced session
                    self.slides.append((event.at, None))
            case StreamEnded(source=source) if source == SLIDES:
                self._slides_end(event.at)
            case FloorGranted():
                e = event.entry
                self.questions.append(
                    Question(
                        e.id, e.hall_id, e.name, e.topic, e.raised_at, event.at, consent=e.consent
                    )
                )
            case FloorEnded():
                self._change(event.entry_id, ended_at=event.at, end_reason=event.reason)
            case ConsentGiven():
                self._change(event.entry_id, consent=event.consent)
            case EntryEdited():
                self._change(event.entry_id, name=event.name, topic=event.topic)
            case RecordingStarted():
                self.recordings.append(RecordingSpan(event.recording_id, event.at))
            case RecordingStopped():
                for index, span in enumerate(self.recordings):
                    if span.recording_id == event.recording_id and span.stopped_at is None:
                        self.recordings[index] = replace(
                            span, stopped_at=event.at, reason=event.reason
                        )
            case QuestionStatusSet():
                self._change(event.entry_id, status=event.status, answer=event.answer)
            case NoteAdded():
                self.notes.append(Note(event.note_id, event.text, event.by, event.at))
            case LinkQuality():
                self.links[event.hall_id] = event
            case ParticipantJoined() if event.hall_id is not None and event.role == "hall":
                self._joined(event.conn_id, event.hall_id, event.at)
            case HallsPresent():
                for conn_id, hall_id in event.pages:
                    self._joined(conn_id, hall_id, event.at)
            case ParticipantLeft() if event.hall_id is not None and event.role == "hall":
                pages = self._pages.get(event.hall_id, set())
                pages.discard(event.conn_id)
                if not pages:
                    self._left(event.hall_id, event.at)

    def _change(self, entry_id: str, **changes: object) -> None:
        for index, question in enumerate(self.questions):
            if question.entry_id == entry_id:
                self.questions[index] = replace(question, **changes)  # type: ignore[arg-type]

    def _slides_end(self, at: float) -> None:
        if self.slides and self.slides[-1][1] is None:
            self.slides[-1] = (self.slides[-1][0], at)

    def _joined(self, conn_id: str, hall_id: str, at: float) -> None:
        pages = self._pages.setdefault(hall_id, set())
        if not pages:
            self.presence.append(Presence(hall_id, at))
        pages.add(conn_id)

    def _left(self, hall_id: str, at: float) -> None:
        self._pages.pop(hall_id, None)
        for index in range(len(self.presence) - 1, -1, -1):
            span = self.presence[index]
            if span.hall_id == hall_id and span.left_at is None:
                self.presence[index] = replace(span, left_at=at)
                return
