"""One SQLite connection to `<data_dir>/meetings.sqlite` for a store that keeps its own
tables there (the schedule, the announcements), run on a thread of its own.

WAL lets several connections share the file with the event log; every call runs on the
store's single worker thread, in the order made, so the event loop never waits on disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .eventlog import FILE_NAME
from .files import make_private_dir

T = TypeVar("T")


class TableStore:
    """An asyncio face on one connection; `run(fn)` calls `fn(connection)` on its thread."""

    def __init__(self, db: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._db = db
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path, schema: str, name: str) -> TableStore:
        """Connect, in WAL mode, and create the caller's tables when missing."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

        def connect() -> sqlite3.Connection:
            make_private_dir(data_dir)
            path = data_dir / FILE_NAME
            # Owner-only before SQLite creates it, as the event log does.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=5000")  # the event log may be mid-commit
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(schema)
            return db

        db = await asyncio.get_running_loop().run_in_executor(executor, connect)
        return cls(db, executor)

    async def run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: call(self._db)
        )

    async def close(self) -> None:
        """Finish pending calls, then close; idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)
