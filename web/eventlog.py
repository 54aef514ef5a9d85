"""The meetings' append-only event log: SQLite in WAL mode at `<data_dir>/meetings.sqlite`,
so a restarted bridge can replay the open meeting and the minutes can be written later.

Every call blocks on disk: from asyncio, use AsyncEventLog, which runs them one at a
time, in order, on its own thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rooms import Event, MeetingClosed, MeetingOpened, WireError, event_from_wire, event_to_wire
from rooms.wire import is_persisted

from .files import make_private_dir

logger = logging.getLogger(__name__)

FILE_NAME = "meetings.sqlite"
READ_LIMIT = 1000  # events per read: a page of the log, never the whole of it at once
# A four-hour meeting logs a few thousand events (viewer counts are throttled); a log
# this long is damaged or abused, and replaying it would stall the start.
REPLAY_LIMIT = 200_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    opened_at REAL NOT NULL,
    closed_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    meeting_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS events_are_never_changed BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_are_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event: its place in its meeting's log and the event itself."""

    seq: int
    event: Event


class EventLog:
    """One SQLite connection, used by one thread at a time (AsyncEventLog's)."""

    def __init__(self, data_dir: Path) -> None:
        make_private_dir(data_dir)
        self.path = data_dir / FILE_NAME
        # Created owner-only before SQLite opens it: the log holds names people gave.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        # isolation_level=None: no implicit transactions; append() opens its own.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before append() returns, so a power cut loses
        # nothing appended; WAL keeps that to one fsync per append.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._next_seq: dict[str, int] = {}
        self._closed = False

    def close(self) -> None:
        """Fold the WAL back into the database file and close; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()

    def append(self, meeting_id: str, events: Sequence[Event]) -> int:
        """Add the persisted ones of `events` to `meeting_id`'s log, in one transaction;
        how many were added. Events the log does not keep (presence, screens) are skipped."""
        kept = [e for e in events if is_persisted(e)]
        if not kept:
            return 0
        seq = self._next_seq.get(meeting_id)
        if seq is None:
            row = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE meeting_id = ?", (meeting_id,)
            ).fetchone()
            seq = int(row[0])
        rows = []
        for offset, event in enumerate(kept):
            wire = event_to_wire(event)
            body = json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
            rows.append((meeting_id, seq + offset, event.at, wire["type"], body))
        closed = next((e.at for e in kept if isinstance(e, MeetingClosed)), None)
        opened = next((e.at for e in kept if isinstance(e, MeetingOpened)), kept[0].at)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO meetings (id, opened_at) VALUES (?, ?)", (meeting_id, opened)
            )
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
            if closed is not None:
                self._db.execute(
                    "UPDATE meetings SET closed_at = ? WHERE id = ?", (closed, meeting_id)
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._next_seq[meeting_id] = seq + len(rows)
        return len(rows)

    def events(self, meeting_id: str, after: int = 0, limit: int = READ_LIMIT) -> list[LoggedEvent]:
        """Up to `limit` (at most READ_LIMIT) events of `meeting_id` after `seq`, in order.
        A stored event this version cannot read (a newer type) is skipped and logged."""
        rows = self._db.execute(
            "SELECT seq, body FROM events WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (meeting_id, after, max(0, min(limit, READ_LIMIT))),
        ).fetchall()
        read = []
        for seq, body in rows:
            try:
                read.append(LoggedEvent(seq, event_from_wire(json.loads(body))))
            except (WireError, ValueError) as exc:
                logger.warning("event log: %s #%d skipped: %s", meeting_id, seq, exc)
        return read

    def all_events(self, meeting_id: str) -> list[Event]:
        """Every readable event of `meeting_id`, oldest first, read a page at a time."""
        events: list[Event] = []
        after = 0
        while page := self.events(meeting_id, after):
            events += [logged.event for logged in page]
            after = page[-1].seq
        return events

    def meetings(self, limit: int = 100) -> list[tuple[str, float, float | None]]:
        """(id, opened_at, closed_at) of the newest `limit` meetings, newest first."""
        rows = self._db.execute(
            "SELECT id, opened_at, closed_at FROM meetings ORDER BY opened_at DESC, rowid DESC"
            " LIMIT ?",
            (max(0, min(limit, READ_LIMIT)),),
        ).fetchall()
        return [(str(i), float(o), None if c is None else float(c)) for i, o, c in rows]

    def open_meeting(self) -> tuple[str, list[Event]] | None:
        """The newest meeting, with all its events for Room.replay, unless it was closed.
        (An older meeting left open was abandoned: a newer one began after it.)"""
        newest = self.meetings(limit=1)
        if not newest or newest[0][2] is not None:
            return None
        meeting_id = newest[0][0]
        events: list[Event] = []
        after = 0
        while len(events) < REPLAY_LIMIT:
            page = self.events(meeting_id, after)
            if not page:
                break
            events += [logged.event for logged in page]
            after = page[-1].seq
        else:
            logger.warning(
                "event log: %s has over %d events; replaying the first", meeting_id, REPLAY_LIMIT
            )
        return meeting_id, events


T = TypeVar("T")


class AsyncEventLog:
    """EventLog for asyncio: every call runs on one worker thread, in the order made, so
    appends never reorder and the event loop never waits on the disk."""

    def __init__(self, log: EventLog, executor: ThreadPoolExecutor) -> None:
        self._log = log
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path) -> AsyncEventLog:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventlog")
        log = await asyncio.get_running_loop().run_in_executor(executor, EventLog, data_dir)
        return cls(log, executor)

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def append(self, meeting_id: str, events: Sequence[Event]) -> int:
        events = tuple(events)  # the caller's list may change while the thread writes
        return await self._run(lambda: self._log.append(meeting_id, events))

    async def events(
        self, meeting_id: str, after: int = 0, limit: int = READ_LIMIT
    ) -> list[LoggedEvent]:
        return await self._run(lambda: self._log.events(meeting_id, after, limit))

    async def all_events(self, meeting_id: str) -> list[Event]:
        return await self._run(lambda: self._log.all_events(meeting_id))

    async def open_meeting(self) -> tuple[str, list[Event]] | None:
        return await self._run(self._log.open_meeting)

    async def meetings(self, limit: int = 100) -> list[tuple[str, float, float | None]]:
        return await self._run(lambda: self._log.meetings(limit))

    async def close(self) -> None:
        """Finish every pending append, then close; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._run(self._log.close)
        self._executor.shutdown(wait=True)
