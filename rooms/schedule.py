"""The meetings planned ahead: what a valid scheduled meeting is, and which one comes next.

Pure, like the rest of rooms/: the caller passes `at=` and stores the meetings. Titles
are cleaned like a queue entry's; an agenda keeps its lines, cleaned one by one.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from rooms.entry import clean_text, clean_title
from rooms.errors import BadValue, UnknownScheduled

AGENDA_LIMIT = 2000
# A meeting still "comes next" this long after its start, so the chair who is a little
# late is still offered it; after that it is past and no longer shown.
GRACE = 2 * 3600.0
# The chair console offers to start it from this long before its start.
LEAD = 15 * 60.0
# A plan is made for the coming months; a date years away is a typo.
HORIZON = 2 * 366 * 86400.0
# Moving a meeting a little into the past (editing it at its start) is fine; further is not.
PAST_SLACK = 5 * 60.0
MAX_BLANK_LINES = 1


def clean_lines(text: str, limit: int, field: str) -> str:
    """Several lines of text: each one cleaned like a title, blank runs made one, bounded."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines: list[str] = []
    blanks = 0
    for raw in text.split("\n"):
        line = clean_text(raw)
        blanks = blanks + 1 if not line else 0
        if blanks <= MAX_BLANK_LINES:
            lines.append(line)
    cleaned = "\n".join(lines).strip("\n")
    if len(cleaned) > limit:
        raise BadValue(field, f"{field} is {len(cleaned)} characters long; at most {limit} fit")
    return cleaned


def clean_agenda(agenda: str) -> str:
    return clean_lines(agenda, AGENDA_LIMIT, "agenda")


def check_start(starts_at: float, at: float) -> float:
    """A start time that can be planned at `at`: a real number, not past, not years away."""
    if not isinstance(starts_at, int | float) or isinstance(starts_at, bool):
        raise BadValue("starts_at", "the start must be a time (seconds since 1970)")
    if not math.isfinite(starts_at):
        raise BadValue("starts_at", "the start must be a finite time")
    if starts_at < at - PAST_SLACK:
        raise BadValue("starts_at", "the start is in the past")
    if starts_at > at + HORIZON:
        raise BadValue("starts_at", "the start is more than two years away")
    return float(starts_at)


@dataclass(frozen=True)
class ScheduledMeeting:
    """One planned meeting. `opened_as` is the id of the meeting that held it, once held."""

    id: str
    title: str
    starts_at: float
    agenda: str = ""
    opened_as: str | None = None

    def due(self, at: float) -> bool:
        """Whether the chair console offers to start it now."""
        return self.starts_at - LEAD <= at < self.starts_at + GRACE

    def to_wire(self, at: float | None = None) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "starts_at": self.starts_at,
            "agenda": self.agenda,
            "opened_as": self.opened_as,
        }
        if at is not None:
            wire["due"] = self.due(at)
        return wire


def make_scheduled(
    meeting_id: str, title: str, starts_at: float, agenda: str, at: float
) -> ScheduledMeeting:
    """A valid ScheduledMeeting, or BadValue naming the field and the reason."""
    title = clean_title(title)
    if not title:
        raise BadValue("title", "a scheduled meeting needs a title")
    return ScheduledMeeting(meeting_id, title, check_start(starts_at, at), clean_agenda(agenda))


class Schedule:
    """Every planned meeting, by id. Each change checks first, then changes, or raises."""

    def __init__(self, meetings: Iterable[ScheduledMeeting] = ()) -> None:
        self._meetings = {m.id: m for m in meetings}

    def __len__(self) -> int:
        return len(self._meetings)

    def get(self, meeting_id: str) -> ScheduledMeeting:
        try:
            return self._meetings[meeting_id]
        except KeyError:
            raise UnknownScheduled(f"no scheduled meeting {meeting_id[:40]!r}") from None

    def all(self) -> list[ScheduledMeeting]:
        """Every meeting, held or not, soonest first."""
        return sorted(self._meetings.values(), key=lambda m: (m.starts_at, m.id))

    def add(self, meeting: ScheduledMeeting) -> ScheduledMeeting:
        if meeting.id in self._meetings:
            raise BadValue("id", f"scheduled meeting {meeting.id!r} exists already")
        self._meetings[meeting.id] = meeting
        return meeting

    def edit(
        self,
        meeting_id: str,
        at: float,
        *,
        title: str | None = None,
        starts_at: float | None = None,
        agenda: str | None = None,
    ) -> ScheduledMeeting:
        """New values for the fields given (None keeps one); a held meeting is history."""
        old = self.get(meeting_id)
        if old.opened_as is not None:
            raise BadValue("id", "this meeting was already held; it can no longer change")
        new = make_scheduled(
            old.id,
            old.title if title is None else title,
            old.starts_at if starts_at is None else starts_at,
            old.agenda if agenda is None else agenda,
            # An unchanged start that slipped into the past stays acceptable.
            at if starts_at is not None else min(at, old.starts_at),
        )
        self._meetings[meeting_id] = new
        return new

    def remove(self, meeting_id: str) -> ScheduledMeeting:
        meeting = self.get(meeting_id)
        del self._meetings[meeting_id]
        return meeting

    def upcoming(self, at: float) -> list[ScheduledMeeting]:
        """Meetings not held yet and not long past, soonest first."""
        return [m for m in self.all() if m.opened_as is None and at < m.starts_at + GRACE]

    def next_meeting(self, at: float) -> ScheduledMeeting | None:
        """The meeting the hall TVs announce between meetings."""
        upcoming = self.upcoming(at)
        return upcoming[0] if upcoming else None

    def due(self, at: float) -> ScheduledMeeting | None:
        """The meeting the chair console offers to start at `at`, if any."""
        nearest = self.next_meeting(at)
        return nearest if nearest is not None and nearest.due(at) else None

    def held(self, opened_as: str, at: float) -> ScheduledMeeting | None:
        """A meeting was opened at `at`: the one due then counts as held by it."""
        meeting = self.due(at)
        if meeting is None:
            return None
        held = replace(meeting, opened_as=opened_as)
        self._meetings[meeting.id] = held
        return held
