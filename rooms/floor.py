"""The meeting's durable state: the meeting itself, the raised-hand queue, the floor and
the mutes. It changes only by applying events, so replaying a meeting's logged events
into a fresh Floor rebuilds it exactly.

Each decision method checks a move against the state and returns the events it makes,
touching nothing; Room then applies them. Who may make a move is the Room's business
(permissions); whether the move makes sense now is decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from rooms.entry import Entry, clean_name, clean_title, clean_topic
from rooms.errors import BadValue, IllegalMove, NotPermitted, UnknownEntry
from rooms.events import (
    ConsentGiven,
    EntryEdited,
    EntryMoved,
    Event,
    FloorEnded,
    FloorExtended,
    FloorGranted,
    FloorOvertime,
    FloorTimeWarning,
    HallMuted,
    HandRaised,
    HandWithdrawn,
    MeetingClosed,
    MeetingOpened,
)
from rooms.schedule import clean_agenda
from rooms.turn import Turn

SPEAKING_LIMIT = 180  # seconds, the default of three minutes
WARN_BEFORE = 30.0  # seconds left when the speaker is warned
MAX_EXTENSION = 600  # one "+N" may add at most ten minutes
MAX_LIMIT = 4 * 3600  # no turn is planned longer than the longest meeting
MAX_HANDS_PER_HALL = 5  # a hall may queue several questions, not flood the queue
# How many past entries are remembered to say why a stale id is refused
# ("withdrawn", "already had the floor"); older ones are just unknown.
GONE_MEMORY = 1000

WITHDRAWN = "was withdrawn"
HAD_THE_FLOOR = "already had the floor"


@dataclass(frozen=True)
class Meeting:
    id: str
    title: str
    opened_at: float
    agenda: str = ""


class Floor:
    """Mutable inside the room only; the outside reads the properties."""

    def __init__(self, speaking_limit: int = SPEAKING_LIMIT) -> None:
        if not 0 < speaking_limit <= MAX_LIMIT:
            raise ValueError(f"speaking limit {speaking_limit} s is not in 1…{MAX_LIMIT}")
        self.speaking_limit = speaking_limit
        self.meeting: Meeting | None = None
        self.turn: Turn | None = None
        self._queue: list[Entry] = []
        self._muted: set[str] = set()
        self._gone: dict[str, str] = {}  # entry id -> why it is no longer in the queue
        self._entries_made = 0
        self._last_meeting_id: str | None = None

    @property
    def queue(self) -> tuple[Entry, ...]:
        return tuple(self._queue)

    @property
    def muted(self) -> frozenset[str]:
        return frozenset(self._muted)

    # -- decisions: check, then say what happens; nothing here changes the state --------

    def open(self, title: str, at: float, agenda: str = "") -> list[Event]:
        if self.meeting is not None:
            raise IllegalMove(f"meeting {self.meeting.id} is already open")
        title, agenda = clean_title(title), clean_agenda(agenda)
        return [MeetingOpened(self._new_meeting_id(at), title, agenda, at=at)]

    def close(self, by: str, at: float) -> list[Event]:
        meeting = self._open_meeting()
        events = self.end(by, "meeting-closed", at) if self.turn is not None else []
        return events + [MeetingClosed(meeting.id, at=at)]

    def raise_hand(self, hall_id: str, name: str, topic: str, by: str, at: float) -> list[Event]:
        self._open_meeting()
        name, topic = clean_name(name), clean_topic(topic)
        if sum(1 for e in self._queue if e.hall_id == hall_id) >= MAX_HANDS_PER_HALL:
            raise IllegalMove(f"hall {hall_id!r} already has {MAX_HANDS_PER_HALL} hands raised")
        entry = Entry(f"e{self._entries_made + 1}", hall_id, name, topic, raised_at=at)
        return [HandRaised(entry, by, at=at)]

    def withdraw(self, entry_id: str, only_hall: str | None, by: str, at: float) -> list[Event]:
        """`only_hall`: the sender may withdraw that hall's entries only (None: any)."""
        self._open_meeting()
        entry = self._queued(entry_id)
        if only_hall is not None and entry.hall_id != only_hall:
            raise NotPermitted(
                f"entry {entry_id} is hall {entry.hall_id!r}'s; a hall withdraws only its own"
            )
        return [HandWithdrawn(entry.id, entry.hall_id, by, at=at)]

    def grant(self, entry_id: str, by: str, at: float) -> list[Event]:
        self._open_meeting()
        entry = self._queued(entry_id)
        # One floor at a time: the next grant ends the current turn first.
        events = self.end(by, "next", at) if self.turn is not None else []
        return events + [FloorGranted(entry, self.speaking_limit, by, at=at)]

    def end(self, by: str, reason: str, at: float) -> list[Event]:
        turn = self._turn()
        return [FloorEnded(turn.entry.id, turn.hall_id, by, reason, at=at)]

    def move(self, entry_id: str, position: int, at: float) -> list[Event]:
        self._open_meeting()
        entry = self._queued(entry_id)
        if not 0 <= position < len(self._queue):
            raise BadValue(
                "position", f"position {position} is outside the queue (0…{len(self._queue) - 1})"
            )
        if self._queue.index(entry) == position:
            return []
        return [EntryMoved(entry_id, position, at=at)]

    def mute(self, hall_id: str, muted: bool, at: float) -> list[Event]:
        self._open_meeting()
        if (hall_id in self._muted) == muted:
            return []
        return [HallMuted(hall_id, muted, at=at)]

    def extend(self, seconds: int, at: float) -> list[Event]:
        turn = self._turn()
        if not 0 < seconds <= MAX_EXTENSION:
            raise BadValue("seconds", f"an extension is 1…{MAX_EXTENSION} seconds, not {seconds}")
        limit = turn.limit + seconds
        if limit > MAX_LIMIT:
            raise BadValue("seconds", f"the turn would last {limit} s; at most {MAX_LIMIT} s")
        return [FloorExtended(turn.entry.id, seconds, limit, at=at)]

    def edit(self, entry_id: str, name: str | None, topic: str | None, at: float) -> list[Event]:
        self._open_meeting()
        if self.turn is not None and self.turn.entry.id == entry_id:
            entry = self.turn.entry
        else:
            entry = self._queued(entry_id)
        new_name = clean_name(name) if name is not None else entry.name
        new_topic = clean_topic(topic) if topic is not None else entry.topic
        if (new_name, new_topic) == (entry.name, entry.topic):
            return []
        return [EntryEdited(entry_id, new_name, new_topic, at=at)]

    def consent(self, hall_id: str, consent: bool, at: float) -> list[Event]:
        turn = self._turn()
        if turn.hall_id != hall_id:
            raise NotPermitted(
                f"hall {turn.hall_id!r} holds the floor; only it answers the consent question"
            )
        if turn.entry.consent == consent:
            return []
        return [ConsentGiven(turn.entry.id, consent, at=at)]

    def timers(self, at: float) -> list[Event]:
        """The speaking limit's two moments, each once per limit. The floor never ends here."""
        turn = self.turn
        if turn is None:
            return []
        events: list[Event] = []
        left = turn.deadline - at
        if not turn.warned and left <= WARN_BEFORE:
            events.append(FloorTimeWarning(turn.entry.id, max(left, 0.0), at=at))
        if not turn.overtime and left <= 0:
            events.append(FloorOvertime(turn.entry.id, at=at))
        return events

    # -- the only way the state changes ------------------------------------------------

    def apply(self, event: Event) -> None:
        """Make `event` true. Events that are not about the floor are ignored, and an
        event about an entry that is not there (a log cut short) changes nothing."""
        match event:
            case MeetingOpened():
                self._reset()
                self.meeting = Meeting(event.meeting_id, event.title, event.at, event.agenda)
                self._last_meeting_id = event.meeting_id
            case MeetingClosed():
                self._reset()
            case HandRaised():
                self._queue.append(event.entry)
                self._entries_made = max(self._entries_made, _number_of(event.entry.id))
            case HandWithdrawn():
                if self._take(event.entry_id) is not None:
                    self._forget(event.entry_id, WITHDRAWN)
            case FloorGranted():
                self._take(event.entry.id)
                self.turn = Turn(event.entry, event.at, event.limit)
            case FloorEnded():
                if self.turn is not None and self.turn.entry.id == event.entry_id:
                    self._forget(event.entry_id, HAD_THE_FLOOR)
                    self.turn = None
            case HallMuted():
                (self._muted.add if event.muted else self._muted.discard)(event.hall_id)
            case FloorExtended():
                if self.turn is not None:
                    # A longer limit gets its own warning and overtime when they come.
                    left = self.turn.granted_at + event.limit - event.at
                    self.turn = replace(
                        self.turn,
                        limit=event.limit,
                        warned=self.turn.warned and left <= WARN_BEFORE,
                        overtime=self.turn.overtime and left <= 0,
                    )
            case EntryEdited():
                name, topic = event.name, event.topic
                self._update(event.entry_id, lambda e: replace(e, name=name, topic=topic))
            case EntryMoved():
                entry = self._take(event.entry_id)
                if entry is not None:
                    self._queue.insert(event.position, entry)
            case ConsentGiven():
                consent = event.consent
                self._update(event.entry_id, lambda e: replace(e, consent=consent))
            case FloorTimeWarning():
                if self.turn is not None:
                    self.turn = replace(self.turn, warned=True)
            case FloorOvertime():
                if self.turn is not None:
                    self.turn = replace(self.turn, overtime=True)

    # -- helpers -----------------------------------------------------------------------

    def _open_meeting(self) -> Meeting:
        if self.meeting is None:
            raise IllegalMove("no meeting is open")
        return self.meeting

    def _turn(self) -> Turn:
        if self.turn is None:
            raise IllegalMove("nobody holds the floor")
        return self.turn

    def _queued(self, entry_id: str) -> Entry:
        """The queued entry `entry_id`, or the error that says why it is not queued."""
        entry = next((e for e in self._queue if e.id == entry_id), None)
        if entry is not None:
            return entry
        if self.turn is not None and self.turn.entry.id == entry_id:
            raise IllegalMove(f"entry {entry_id} holds the floor now")
        why = self._gone.get(entry_id)
        if why is not None:
            raise IllegalMove(f"entry {entry_id} {why}")
        raise UnknownEntry(f"no entry {entry_id[:40]!r} in this meeting")

    def _take(self, entry_id: str) -> Entry | None:
        for i, entry in enumerate(self._queue):
            if entry.id == entry_id:
                return self._queue.pop(i)
        return None

    def _update(self, entry_id: str, change: Callable[[Entry], Entry]) -> None:
        if self.turn is not None and self.turn.entry.id == entry_id:
            self.turn = replace(self.turn, entry=change(self.turn.entry))
            return
        for i, entry in enumerate(self._queue):
            if entry.id == entry_id:
                self._queue[i] = change(entry)

    def _forget(self, entry_id: str, why: str) -> None:
        self._gone[entry_id] = why
        if len(self._gone) > GONE_MEMORY:
            del self._gone[next(iter(self._gone))]

    def _reset(self) -> None:
        self.meeting = None
        self.turn = None
        self._queue.clear()
        self._muted.clear()
        self._gone.clear()
        self._entries_made = 0

    def _new_meeting_id(self, at: float) -> str:
        base = f"m-{datetime.fromtimestamp(at, UTC):%Y%m%d-%H%M%S}"
        meeting_id, n = base, 1
        while meeting_id == self._last_meeting_id:
            n += 1
            meeting_id = f"{base}-{n}"
        return meeting_id


def _number_of(entry_id: str) -> int:
    digits = entry_id[1:]
    return int(digits) if digits.isdigit() else 0
