"""The meeting schedule at the edge: its SQLite table, the HTTP endpoints the chair and the
secretary plan meetings with, and the next meeting in every page's state.

rooms/schedule.py decides what a valid plan is and which meeting comes next; this module
keeps the plans on disk and in memory, and tells the pages when the answer changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
from aiohttp import web

from rooms import Event, MeetingOpened
from rooms.permissions import SCHEDULE
from rooms.schedule import Schedule, ScheduledMeeting, make_scheduled

from .errors import BadRequest, Forbidden
from .keys import KEYRING, MEETING, SETTINGS
from .meeting import Meeting
from .tablestore import TableStore

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scheduled_meetings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    starts_at REAL NOT NULL,
    agenda TEXT NOT NULL,
    opened_as TEXT,
    updated_at REAL NOT NULL
);
"""
# How often the pages' "next meeting" is looked at again: it changes with time alone
# (the chair is offered a meeting 15 minutes before it), not only with edits.
WATCH_EVERY = 5.0
UPCOMING_SHOWN = 20  # the panel lists this many; the board shows fewer

Title = Annotated[str, msgspec.Meta(max_length=1000)]
Agenda = Annotated[str, msgspec.Meta(max_length=8000)]  # rooms/schedule.py allows 2000
Time = Annotated[float, msgspec.Meta(ge=0, le=2**40)]


class NewMeeting(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    starts_at: Time
    agenda: Agenda = ""


class MeetingChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title | None = None
    starts_at: Time | None = None
    agenda: Agenda | None = None


def _row(m: ScheduledMeeting, at: float) -> tuple[Any, ...]:
    return (m.id, m.title, m.starts_at, m.agenda, m.opened_as, at)


class ScheduleBook:
    """The planned meetings: a pure Schedule in memory, written through to its table."""

    def __init__(self, store: TableStore, schedule: Schedule) -> None:
        self.store = store
        self.schedule = schedule
        self._meeting: Meeting | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._shown: tuple[str | None, bool] = (None, False)
        self._writes: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one change at a time: memory and disk stay alike

    @classmethod
    async def open(cls, data_dir: Path) -> ScheduleBook:
        store = await TableStore.open(data_dir, _SCHEMA, "schedule")

        def load(db: sqlite3.Connection) -> list[ScheduledMeeting]:
            rows = db.execute(
                "SELECT id, title, starts_at, agenda, opened_as FROM scheduled_meetings"
            ).fetchall()
            return [ScheduledMeeting(str(i), str(t), float(s), str(a), o) for i, t, s, a, o in rows]

        return cls(store, Schedule(await store.run(load)))

    # --- what the pages see -------------------------------------------------

    def attach(self, meeting: Meeting) -> None:
        """Put the next meeting into every page's state, and hear meetings being opened."""
        self._meeting = meeting
        meeting.state_parts["next_meeting"] = self.next_meeting_wire
        meeting.watchers.append(self._heard)
        self._shown = self._signature(time.time())
        self._watcher = asyncio.ensure_future(self._watch())

    def next_meeting_wire(self, at: float) -> dict[str, Any] | None:
        nearest = self.schedule.next_meeting(at)
        return None if nearest is None else nearest.to_wire(at)

    def _signature(self, at: float) -> tuple[str | None, bool]:
        nearest = self.schedule.next_meeting(at)
        return (None, False) if nearest is None else (nearest.id, nearest.due(at))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            self._refresh()

    def _refresh(self) -> None:
        """Tell the pages when the next meeting, or whether it is due, has changed."""
        shown = self._signature(time.time())
        if shown != self._shown and self._meeting is not None:
            self._shown = shown
            self._meeting.broadcast_state()

    def _heard(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, MeetingOpened):
                held = self.schedule.held(event.meeting_id, event.at)
                if held is not None:
                    logger.info("scheduled meeting %s held as %s", held.id, event.meeting_id)
                    task = asyncio.ensure_future(self._put(held))
                    self._writes.add(task)
                    task.add_done_callback(self._writes.discard)

    # --- changes --------------------------------------------------------------

    async def _put(self, meeting: ScheduledMeeting) -> None:
        row = _row(meeting, time.time())
        await self.store.run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO scheduled_meetings VALUES (?, ?, ?, ?, ?, ?)", row
            )
        )

    async def create(self, new: NewMeeting, at: float) -> ScheduledMeeting:
        async with self._lock:
            meeting = make_scheduled(
                "s-" + secrets.token_hex(5), new.title, new.starts_at, new.agenda, at
            )
            await self._put(meeting)
            self.schedule.add(meeting)
        self._refresh()
        return meeting

    async def edit(self, meeting_id: str, change: MeetingChange, at: float) -> ScheduledMeeting:
        async with self._lock:
            old = self.schedule.get(meeting_id)
            new = self.schedule.edit(
                meeting_id,
                at,
                title=change.title,
                starts_at=change.starts_at,
                agenda=change.agenda,
            )
            try:
                await self._put(new)
            except BaseException:
                self.schedule.remove(meeting_id)
                self.schedule.add(old)
                raise
        self._refresh()
        return new

    async def remove(self, meeting_id: str) -> None:
        async with self._lock:
            self.schedule.get(meeting_id)
            await self.store.run(
                lambda db: db.execute("DELETE FROM scheduled_meetings WHERE id = ?", (meeting_id,))
            )
            self.schedule.remove(meeting_id)
        self._refresh()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.store.close()


SCHEDULE_BOOK = web.AppKey("schedule_book", ScheduleBook)


# --- HTTP (docs/protocol.md, "Meeting schedule") ------------------------------------


def _planner(request: web.Request) -> ScheduleBook:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(SCHEDULE):
        raise Forbidden("only the chair and the secretary plan meetings")
    return request.app[SCHEDULE_BOOK]


async def _body(request: web.Request, kind: type[Any]) -> Any:
    if request.content_type != "application/json":
        raise BadRequest("send the meeting as application/json", code="bad-content-type")
    try:
        return msgspec.json.decode(await request.read(), type=kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"the meeting is not understood: {exc}", code="bad-field") from None
    except msgspec.DecodeError:
        raise BadRequest("the body is not valid JSON", code="bad-json") from None


async def list_meetings(request: web.Request) -> web.Response:
    book = _planner(request)
    at = time.time()
    upcoming = book.schedule.upcoming(at)[:UPCOMING_SHOWN]
    return web.json_response({"meetings": [m.to_wire(at) for m in upcoming], "now": at})


async def create_meeting(request: web.Request) -> web.Response:
    book = _planner(request)
    new = await _body(request, NewMeeting)
    at = time.time()
    meeting = await book.create(new, at)
    return web.json_response(meeting.to_wire(at), status=201)


async def edit_meeting(request: web.Request) -> web.Response:
    book = _planner(request)
    change = await _body(request, MeetingChange)
    at = time.time()
    meeting = await book.edit(request.match_info["id"], change, at)
    return web.json_response(meeting.to_wire(at))


async def remove_meeting(request: web.Request) -> web.Response:
    book = _planner(request)
    await book.remove(request.match_info["id"])
    return web.Response(status=204)


async def schedule_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After the meeting exists (its cleanup_ctx comes first), before it closes."""
    book = await ScheduleBook.open(app[SETTINGS].data_dir)
    book.attach(app[MEETING])
    app[SCHEDULE_BOOK] = book
    yield
    await book.close()


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(schedule_lifecycle)
    app.router.add_get("/schedule", list_meetings)
    app.router.add_post("/schedule", create_meeting)
    app.router.add_patch("/schedule/{id}", edit_meeting)
    app.router.add_delete("/schedule/{id}", remove_meeting)
