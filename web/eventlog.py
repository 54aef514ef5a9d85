"""(temporary stand-in until the rooms helper's store lands) SQLite append-only event log."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rooms import Event, event_from_wire, event_to_wire


class AsyncEventLog:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._path = data_dir / "meetings.sqlite"
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="eventlog")
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self._path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events (meeting TEXT, seq INTEGER PRIMARY KEY, "
                "at REAL, type TEXT, body TEXT)"
            )
        return self._db

    def _append(self, meeting_id: str, wires: list[dict[str, object]]) -> None:
        db = self._conn()
        with db:
            db.executemany(
                "INSERT INTO events (meeting, at, type, body) VALUES (?, ?, ?, ?)",
                [(meeting_id, w["at"], w["type"], json.dumps(w)) for w in wires],
            )

    def append(self, meeting_id: str, events: list[Event]) -> None:
        if events:
            wires = [event_to_wire(e) for e in events]
            self._executor.submit(self._append, meeting_id, wires)

    def _open(self) -> tuple[str | None, list[Event]]:
        db = self._conn()
        row = db.execute("SELECT meeting FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None, []
        rows = db.execute("SELECT body FROM events WHERE meeting = ? ORDER BY seq", row).fetchall()
        events = [event_from_wire(json.loads(body)) for (body,) in rows]
        if any(type(e).__name__ == "MeetingClosed" for e in events):
            return None, []
        return row[0], events

    async def open_meeting(self) -> tuple[str | None, list[Event]]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._db is not None:
            self._db.close()
