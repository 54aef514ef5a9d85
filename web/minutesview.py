"""One meeting's minutes as the bridge serves them: its logged history, with the
register's later edits (names, topics, statuses and answers made after the close)
laid over it, and what the config and the live room add."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from media.export import MinutesWriter
from media.minutes import MinutesContext, MinutesDocument, write_minutes
from media.names import clip_name
from rooms.events import Event, LinkQuality
from rooms.history import MeetingHistory
from rooms.minutes import summarize
from rooms.register import DuePolicy

from .config import Settings
from .errors import NotFound
from .meeting import Meeting
from .register import Register, RegisterBook, RegisterRow

# Meeting ids are made by rooms/floor.py ("m-20261129-021500"); anything else in a path
# is a trick or a typo, and is answered 404 before it reaches the disk.
MEETING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def check_meeting_id(meeting_id: str) -> str:
    if not MEETING_ID.match(meeting_id):
        raise NotFound("there is no such meeting")
    return meeting_id


async def meeting_minutes(
    meeting: Meeting, register: Register, settings: Settings, meeting_id: str
) -> MinutesDocument:
    """NotFound for a meeting the log does not hold."""
    events = await meeting.log.all_events(check_meeting_id(meeting_id))
    if not events:
        raise NotFound(f"there is no meeting {meeting_id!r}")
    history, context = await _prepared(meeting, register, settings, meeting_id, events)
    clips = await asyncio.get_running_loop().run_in_executor(
        None, expected_clips, settings.data_dir, history, context.halls
    )
    return MinutesDocument.build(history, context, clips)


async def minutes_writer(
    meeting: Meeting, register: Register, settings: Settings, events: Sequence[Event]
) -> MinutesWriter:
    """What an export calls to write the minutes, once it knows the clips it made."""
    meeting_id = MeetingHistory.from_events(events).meeting_id
    history, context = await _prepared(meeting, register, settings, meeting_id, events)
    return partial(write_minutes, history, context)


async def _prepared(
    meeting: Meeting,
    register: Register,
    settings: Settings,
    meeting_id: str,
    events: Sequence[Event],
) -> tuple[MeetingHistory, MinutesContext]:
    history = overlay(MeetingHistory.from_events(events), await register.questions(meeting_id))
    return history, minutes_context(settings, live_links(meeting, history))


def minutes_context(settings: Settings, links: dict[str, LinkQuality]) -> MinutesContext:
    return MinutesContext(
        commune=settings.commune,
        chair_name=settings.records.chair_name,
        secretary_name=settings.records.secretary_name,
        halls={h.id: h.name for h in settings.halls},
        links=links,
    )


def offline_minutes_writer(settings: Settings, events: Sequence[Event]) -> MinutesWriter:
    """The minutes' writer for `commune-bridge export`, which runs without the bridge: the
    register read straight from its table, the links as the log summed them up."""
    history = MeetingHistory.from_events(events)
    halls = {h.id: h.name for h in settings.halls}
    book = RegisterBook(settings.data_dir, halls, DuePolicy(settings.records.due_days))
    try:
        history = overlay(history, book.questions(history.meeting_id))
    finally:
        book.close()
    return partial(write_minutes, history, minutes_context(settings, {}))


def overlay(history: MeetingHistory, rows: list[RegisterRow]) -> MeetingHistory:
    """The register is the truth on names, topics, statuses and answers: it keeps edits
    made after the meeting closed, which the meeting's log cannot."""
    by_entry = {row.entry_id: row for row in rows}
    history.questions = [
        replace(q, name=r.name, topic=r.topic, status=r.status, answer=r.answer)
        if (r := by_entry.get(q.entry_id)) is not None
        else q
        for q in history.questions
    ]
    return history


def live_links(meeting: Meeting, history: MeetingHistory) -> dict[str, LinkQuality]:
    """While the meeting is still open its summaries are not logged yet: sum up the
    live room's reports instead."""
    live = meeting.room.meeting
    if live is None or live.id != history.meeting_id or history.opened_at is None:
        return {}
    now = time.time()
    links: dict[str, LinkQuality] = {}
    for hall_id, _, _ in meeting.room.hall_states():
        samples = [s for s in meeting.room.link_history(hall_id) if s.at >= history.opened_at]
        summary = summarize(hall_id, samples, now)
        if summary is not None:
            links[hall_id] = summary
    return links


def expected_clips(
    data_dir: Path, history: MeetingHistory, halls: Mapping[str, str]
) -> dict[str, str | None]:
    """The clip each consenting question gets from an export, when the meeting was
    recorded at all; the export passes the clips it really made instead."""
    recorded = (data_dir / "recordings" / history.meeting_id).is_dir()
    return {
        q.entry_id: clip_name(q.granted_at, halls.get(q.hall_id, q.hall_id), q.name, q.topic)
        if recorded and q.recordable
        else None
        for q in history.questions
    }
