"""The question register: every citizen question of every meeting, followed until it is
answered. SQLite tables in `<data_dir>/meetings.sqlite` beside the event log (WAL lets
both connections write), so it survives restarts and stays editable after a meeting
closed; every change is kept with who made it and when.

The live meeting feeds it its events (`follow`); the register page edits it (`update`).
Every call of RegisterBook blocks on disk: from asyncio use Register, which runs them
one at a time, in order, on its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from rooms import EntryEdited, Event, FloorGranted, MeetingOpened, QuestionStatusSet
from rooms.entry import clean_name, clean_text, clean_topic
from rooms.errors import BadValue
from rooms.minutes import ANSWER_LIMIT, STATUSES
from rooms.register import DuePolicy

from .accesslog import private_file
from .eventlog import FILE_NAME, AsyncEventLog
from .files import make_private_dir

logger = logging.getLogger(__name__)

LIST_LIMIT = 5000  # questions per read: years of a commune's meetings
EDITABLE = ("name", "topic", "status", "answer")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS register_meetings (
    meeting_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    opened_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS register_questions (
    meeting_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    hall_id TEXT NOT NULL,
    hall_name TEXT NOT NULL,
    name TEXT NOT NULL,
    topic TEXT NOT NULL,
    granted_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    answer TEXT NOT NULL DEFAULT '',
    due TEXT NOT NULL,
    changed_at REAL,
    changed_by TEXT,
    PRIMARY KEY (meeting_id, entry_id)
);
CREATE TABLE IF NOT EXISTS register_changes (
    id INTEGER PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    at REAL NOT NULL,
    by TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    new TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS register_changes_of ON register_changes (meeting_id, entry_id);
"""
_KEPT = (MeetingOpened, FloorGranted, EntryEdited, QuestionStatusSet)
# EntryEdited names no sender: a live edit is the chair's or the secretary's, on a page.
LIVE_EDIT = "meeting"


@dataclass(frozen=True)
class RegisterRow:
    meeting_id: str
    meeting_title: str
    entry_id: str
    hall_id: str
    hall_name: str
    name: str
    topic: str
    granted_at: float
    status: str
    answer: str
    due: date
    changed_at: float | None
    changed_by: str | None


@dataclass(frozen=True)
class Change:
    at: float
    by: str
    field: str
    old: str | None
    new: str


class RegisterBook:
    """One SQLite connection, used by one thread at a time (Register's)."""

    def __init__(self, data_dir: Path, halls: Mapping[str, str], policy: DuePolicy) -> None:
        make_private_dir(data_dir)
        private_file(data_dir / FILE_NAME)
        self._halls = dict(halls)
        self._policy = policy
        self._db = sqlite3.connect(
            data_dir / FILE_NAME, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")  # the event log writes the same file
        self._db.executescript(_SCHEMA)
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()

    # -- fed by the live meeting ---------------------------------------------------------

    def follow(self, meeting_id: str, events: Sequence[Event]) -> None:
        """Take what the register keeps from one command's events, in one transaction."""
        with self._transaction():
            for event in events:
                self._follow(meeting_id, event)

    def knows_meeting(self, meeting_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM register_meetings WHERE meeting_id = ?", (meeting_id,)
        ).fetchone()
        return row is not None

    def _follow(self, meeting_id: str, event: Event) -> None:
        match event:
            case MeetingOpened():
                self._db.execute(
                    "INSERT OR IGNORE INTO register_meetings VALUES (?, ?, ?)",
                    (meeting_id, event.title, event.at),
                )
            case FloorGranted():
                e = event.entry
                added = self._db.execute(
                    "INSERT OR IGNORE INTO register_questions (meeting_id, entry_id, hall_id,"
                    " hall_name, name, topic, granted_at, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        meeting_id,
                        e.id,
                        e.hall_id,
                        self._halls.get(e.hall_id, e.hall_id),
                        e.name,
                        e.topic,
                        event.at,
                        self._policy.due(event.at).isoformat(),
                    ),
                ).rowcount
                if added:
                    self._log(meeting_id, e.id, event.at, event.by, "granted", None, e.name)
            case EntryEdited():
                changes = {"name": event.name, "topic": event.topic}
                self._change(meeting_id, event.entry_id, changes, LIVE_EDIT, event.at)
            case QuestionStatusSet():
                changes = {"status": event.status, "answer": event.answer}
                self._change(meeting_id, event.entry_id, changes, event.by, event.at)

    # -- edited on the register page -----------------------------------------------------

    def update(
        self, meeting_id: str, entry_id: str, changes: Mapping[str, str], by: str, at: float
    ) -> RegisterRow | None:
        """Clean and check `changes` (name, topic, status, answer), apply them, log each
        field that really changed; the row as it is now, None for an unknown question.
        BadValue names a field that cannot be taken."""
        cleaned = clean_changes(changes)
        with self._transaction():
            if self._row(meeting_id, entry_id) is None:
                return None
            self._change(meeting_id, entry_id, cleaned, by, at)
        return self._row(meeting_id, entry_id)

    def _change(
        self, meeting_id: str, entry_id: str, changes: Mapping[str, str], by: str, at: float
    ) -> None:
        row = self._row(meeting_id, entry_id)
        if row is None:
            return  # an edit of an entry that never had the floor: not a question yet
        for field, new in changes.items():
            old = getattr(row, field)
            if old == new:
                continue
            # `field` is one of EDITABLE (clean_changes) or a key named here, never input.
            self._db.execute(
                f"UPDATE register_questions SET {field} = ?, changed_at = ?, changed_by = ?"
                " WHERE meeting_id = ? AND entry_id = ?",
                (new, at, by, meeting_id, entry_id),
            )
            self._log(meeting_id, entry_id, at, by, field, old, new)

    def _log(
        self,
        meeting_id: str,
        entry_id: str,
        at: float,
        by: str,
        field: str,
        old: str | None,
        new: str,
    ) -> None:
        self._db.execute(
            "INSERT INTO register_changes (meeting_id, entry_id, at, by, field, old, new)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (meeting_id, entry_id, at, by, field, old, new),
        )

    # -- read ----------------------------------------------------------------------------

    def questions(
        self, meeting_id: str | None = None, status: str | None = None
    ) -> list[RegisterRow]:
        """Newest first; only `meeting_id`'s, or only those with `status`, when given."""
        where, args = [], []
        if meeting_id is not None:
            where.append("q.meeting_id = ?")
            args.append(meeting_id)
        if status is not None:
            where.append("q.status = ?")
            args.append(status)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY q.granted_at DESC, q.entry_id DESC LIMIT ?"
        return [_row(r) for r in self._db.execute(sql, (*args, LIST_LIMIT)).fetchall()]

    def changes(self, meeting_id: str, entry_id: str) -> list[Change]:
        rows = self._db.execute(
            "SELECT at, by, field, old, new FROM register_changes"
            " WHERE meeting_id = ? AND entry_id = ? ORDER BY id",
            (meeting_id, entry_id),
        ).fetchall()
        return [Change(*r) for r in rows]

    def titles(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT meeting_id, title FROM register_meetings"))

    def _row(self, meeting_id: str, entry_id: str) -> RegisterRow | None:
        found = self._db.execute(
            _SELECT + " WHERE q.meeting_id = ? AND q.entry_id = ?", (meeting_id, entry_id)
        ).fetchone()
        return None if found is None else _row(found)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


_SELECT = (
    "SELECT q.meeting_id, COALESCE(m.title, ''), q.entry_id, q.hall_id, q.hall_name, q.name,"
    " q.topic, q.granted_at, q.status, q.answer, q.due, q.changed_at, q.changed_by"
    " FROM register_questions q LEFT JOIN register_meetings m ON m.meeting_id = q.meeting_id"
)


def _row(r: tuple[Any, ...]) -> RegisterRow:
    return RegisterRow(*r[:10], date.fromisoformat(r[10]), r[11], r[12])  # type: ignore[arg-type,call-arg]


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def clean_changes(changes: Mapping[str, str]) -> dict[str, str]:
    """The edit as the register keeps it; BadValue for an unknown field or value."""
    cleaned: dict[str, str] = {}
    for field, value in changes.items():
        if field not in EDITABLE:
            raise BadValue(field, f"{field[:40]!r} cannot be edited; only {', '.join(EDITABLE)}")
        if not isinstance(value, str):
            raise BadValue(field, f"{field} must be text")
        if field == "name":
            cleaned[field] = clean_name(value)
        elif field == "topic":
            cleaned[field] = clean_topic(value)
        elif field == "status":
            if value not in STATUSES:
                raise BadValue(field, f"status {value[:40]!r} is not one of {', '.join(STATUSES)}")
            cleaned[field] = value
        else:
            answer = clean_text(value)
            if len(answer) > ANSWER_LIMIT:
                raise BadValue(
                    field, f"the answer is {len(answer)} characters; at most {ANSWER_LIMIT}"
                )
            cleaned[field] = answer
    return cleaned


T = TypeVar("T")


class Register:
    """RegisterBook for asyncio: one worker thread, calls run in the order made."""

    def __init__(self, book: RegisterBook, executor: ThreadPoolExecutor, policy: DuePolicy) -> None:
        self._book = book
        self._executor = executor
        self.policy = policy
        self._writes: set[asyncio.Future[None]] = set()
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path, halls: Mapping[str, str], policy: DuePolicy) -> Register:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="register")
        loop = asyncio.get_running_loop()
        book = await loop.run_in_executor(executor, RegisterBook, data_dir, halls, policy)
        return cls(book, executor, policy)

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def follow(self, meeting_id: str, events: Sequence[Event]) -> None:
        """The live meeting's hook: queue the write and return at once."""
        events = tuple(e for e in events if isinstance(e, _KEPT))
        if self._closed or not events:
            return  # most commands (reports, viewer counts) concern the register not at all
        write = asyncio.get_running_loop().run_in_executor(
            self._executor, self._book.follow, meeting_id, events
        )
        self._writes.add(write)
        write.add_done_callback(self._written)

    def _written(self, write: asyncio.Future[None]) -> None:
        self._writes.discard(write)
        if not write.cancelled() and write.exception() is not None:
            logger.error("the question register could not be written: %s", write.exception())

    async def catch_up(self, log: AsyncEventLog, meeting_ids: Sequence[str]) -> int:
        """Fill in meetings of the event log the register never saw (held before it
        existed); how many. Meetings it knows are left alone: their edits are newer."""
        added = 0
        for meeting_id in meeting_ids:
            if await self._run(partial(self._book.knows_meeting, meeting_id)):
                continue
            events = await log.all_events(meeting_id)
            await self._run(partial(self._book.follow, meeting_id, events))
            added += 1
        return added

    async def update(
        self, meeting_id: str, entry_id: str, changes: Mapping[str, str], by: str, at: float
    ) -> RegisterRow | None:
        return await self._run(lambda: self._book.update(meeting_id, entry_id, changes, by, at))

    async def questions(
        self, meeting_id: str | None = None, status: str | None = None
    ) -> list[RegisterRow]:
        return await self._run(lambda: self._book.questions(meeting_id, status))

    async def changes(self, meeting_id: str, entry_id: str) -> list[Change]:
        return await self._run(lambda: self._book.changes(meeting_id, entry_id))

    async def titles(self) -> dict[str, str]:
        return await self._run(self._book.titles)

    async def close(self) -> None:
        """Finish every queued write, then close; idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self._run(self._book.close)
        self._executor.shutdown(wait=True)
