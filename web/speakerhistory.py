"""Which loudspeaker clusters carried each meeting, from when to when: a table of its own in
`<data_dir>/meetings.sqlite`, beside the event log (WAL lets both connections write).

Every call blocks on disk: from asyncio use AsyncSpeakerHistory, which runs them one at
a time, in order, on its own thread.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .eventlog import FILE_NAME
from .files import make_private_dir
from .speakerwatch import Span

_SCHEMA = """
CREATE TABLE IF NOT EXISTS speaker_spans (
    meeting_id TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    end_reason TEXT,
    PRIMARY KEY (meeting_id, speaker_id, started_at)
) WITHOUT ROWID;
"""
READ_LIMIT = 1000


class SpeakerHistory:
    """One SQLite connection, used by one thread at a time (AsyncSpeakerHistory's)."""

    def __init__(self, data_dir: Path) -> None:
        make_private_dir(data_dir)
        self.path = data_dir / FILE_NAME
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=5000")  # the event log writes to the same file
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._closed = False

    def interrupted(self, at: float) -> int:
        """End the spans a stopped bridge left open at `at` (its restart); how many."""
        cursor = self._db.execute(
            "UPDATE speaker_spans SET ended_at = ?, end_reason = 'restart' WHERE ended_at IS NULL",
            (at,),
        )
        return cursor.rowcount

    def write(self, spans: Sequence[Span]) -> None:
        """Store new spans and the ends of stored ones, in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO speaker_spans VALUES (?, ?, ?, ?, NULL) ON CONFLICT "
                "(meeting_id, speaker_id, started_at) DO UPDATE SET ended_at = excluded.ended_at",
                [(s.meeting_id, s.speaker_id, s.started_at, s.ended_at) for s in spans],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def spans(self, meeting_id: str) -> list[Span]:
        rows = self._db.execute(
            "SELECT meeting_id, speaker_id, started_at, ended_at FROM speaker_spans "
            "WHERE meeting_id = ? ORDER BY started_at, speaker_id LIMIT ?",
            (meeting_id, READ_LIMIT),
        ).fetchall()
        return [
            Span(str(m), str(s), float(a), None if e is None else float(e)) for m, s, a, e in rows
        ]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._db.close()


T = TypeVar("T")


class AsyncSpeakerHistory:
    """SpeakerHistory on its own worker thread, so the event loop never waits on the disk."""

    def __init__(self, history: SpeakerHistory, executor: ThreadPoolExecutor) -> None:
        self._history = history
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path) -> AsyncSpeakerHistory:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speakerhistory")
        history = await asyncio.get_running_loop().run_in_executor(
            executor, SpeakerHistory, data_dir
        )
        return cls(history, executor)

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def interrupted(self, at: float) -> int:
        return await self._run(lambda: self._history.interrupted(at))

    async def write(self, spans: Sequence[Span]) -> None:
        spans = tuple(spans)
        await self._run(lambda: self._history.write(spans))

    async def spans(self, meeting_id: str) -> list[Span]:
        return await self._run(lambda: self._history.spans(meeting_id))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._history.close)
        self._executor.shutdown(wait=True)
