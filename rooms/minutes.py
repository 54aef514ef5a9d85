"""The secretary's part of the live meeting: notes, each question's status and answer, and
the halls' link quality summed up at the close. Room hooks it into `handle`; like the
floor it changes only by applying events, so a replayed log rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rooms.entry import clean_text
from rooms.errors import BadValue, IllegalMove, UnknownEntry
from rooms.events import (
    Event,
    HallsPresent,
    LinkQuality,
    MeetingClosed,
    MeetingOpened,
    NoteAdded,
    QuestionStatusSet,
)
from rooms.history import MeetingHistory
from rooms.screen import LinkSample

# The wire names of a question's status, and how the commune's papers say them.
OPEN = "open"
STATUSES: Mapping[str, str] = {
    OPEN: "Chưa trả lời",
    "answered": "Đã trả lời",
    "follow-up": "Cần theo dõi",
    "forwarded": "Chuyển cấp trên",
}
NOTE_LIMIT = 2000
ANSWER_LIMIT = 2000
# As the chair console judges a link (web/static/chair-grid.js): loss or round trip at
# or above these make it "fair", then "poor".
FAIR_LOSS, FAIR_RTT_MS = 0.02, 150.0
POOR_LOSS, POOR_RTT_MS = 0.05, 400.0


class Minutes:
    """Mutable inside the room only; `history` is the open meeting's record so far."""

    def __init__(self) -> None:
        self.history = MeetingHistory()
        self._open = False
        self._notes_made = 0

    # -- decisions: check, then say what happens ---------------------------------------

    def add_note(self, text: str, by: str, at: float) -> list[Event]:
        self._meeting_open()
        cleaned = clean_text(text)
        if not cleaned:
            raise BadValue("text", "the note is empty")
        _bounded(cleaned, NOTE_LIMIT, "text")
        return [NoteAdded(f"n{self._notes_made + 1}", cleaned, by, at=at)]

    def set_status(
        self, entry_id: str, status: str, answer: str, by: str, at: float
    ) -> list[Event]:
        self._meeting_open()
        if status not in STATUSES:
            known = ", ".join(STATUSES)
            raise BadValue("status", f"status {status[:40]!r} is not one of {known}")
        question = self.history.question(entry_id)
        if question is None:
            raise UnknownEntry(f"no question {entry_id[:40]!r} had the floor in this meeting")
        cleaned = _bounded(clean_text(answer), ANSWER_LIMIT, "answer")
        if (question.status, question.answer) == (status, cleaned):
            return []
        return [QuestionStatusSet(entry_id, status, cleaned, by, at=at)]

    def present_at_open(self, pages: tuple[tuple[str, str], ...], at: float) -> list[Event]:
        return [HallsPresent(pages, at=at)] if pages else []

    def link_quality(
        self, halls: Iterable[tuple[str, Iterable[LinkSample]]], at: float
    ) -> list[Event]:
        """One LinkQuality per hall that reported during the open meeting, for its close."""
        since = self.history.opened_at
        if not self._open or since is None:
            return []
        return [
            summary
            for hall_id, samples in halls
            if (summary := summarize(hall_id, [s for s in samples if s.at >= since], at))
        ]

    # -- the only way the state changes ------------------------------------------------

    def apply(self, event: Event) -> None:
        match event:
            case MeetingOpened():
                self.history = MeetingHistory()
                self._open, self._notes_made = True, 0
            case MeetingClosed():
                self._open = False
            case NoteAdded():
                self._notes_made = max(self._notes_made, _number_of(event.note_id))
        self.history.apply(event)

    def to_wire(self) -> dict[str, Any]:
        """The `minutes` part of a state message, for roles that keep the minutes."""
        history = self.history
        return {
            "notes": [
                {"id": n.note_id, "text": n.text, "by": n.by, "at": n.at} for n in history.notes
            ],
            "questions": [
                {
                    "entry": q.entry_id,
                    "hall": q.hall_id,
                    "name": q.name,
                    "topic": q.topic,
                    "granted_at": q.granted_at,
                    "ended_at": q.ended_at,
                    "consent": q.consent,
                    "cut": q.cut,
                    "status": q.status,
                    "answer": q.answer,
                }
                for q in history.questions
            ],
        }

    def _meeting_open(self) -> None:
        if not self._open:
            raise IllegalMove("no meeting is open")


def summarize(hall_id: str, samples: list[LinkSample], at: float) -> LinkQuality | None:
    """The figures of one hall's reports; None when it sent none."""
    if not samples:
        return None
    reports = [s.report for s in samples]
    loss = sum(r.loss for r in reports) / len(reports)
    rtts = [r.rtt_ms for r in reports if r.rtt_ms is not None]
    rtt = sum(rtts) / len(rtts) if rtts else None
    return LinkQuality(
        hall_id,
        len(reports),
        round(sum(r.fps for r in reports) / len(reports), 1),
        round(loss, 4),
        round(max(r.loss for r in reports), 4),
        None if rtt is None else round(rtt, 1),
        rating(loss, rtt),
        at=at,
    )


def rating(loss: float, rtt_ms: float | None) -> str:
    rtt = rtt_ms if rtt_ms is not None else 0.0
    if loss >= POOR_LOSS or rtt >= POOR_RTT_MS:
        return "poor"
    if loss >= FAIR_LOSS or rtt >= FAIR_RTT_MS:
        return "fair"
    return "good"


def _bounded(text: str, limit: int, field: str) -> str:
    if len(text) > limit:
        raise BadValue(field, f"{field} is {len(text)} characters long; at most {limit} fit")
    return text


def _number_of(note_id: str) -> int:
    digits = note_id[1:]
    return int(digits) if digits.isdigit() else 0
