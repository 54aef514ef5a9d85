"""Who looked at, exported, downloaded or deleted the record, and when: an append-only
table in `<data_dir>/meetings.sqlite`, so it survives restarts. Recordings hold
citizens' faces and voices (personal data under Law 91/2025), so every use is kept.

`add` never blocks and may be called from any thread (the retention purge runs on
its own); the writes happen one at a time, in order, on the log's own thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .eventlog import FILE_NAME
from .files import make_private_dir

READ_LIMIT = 1000
TARGET_LIMIT = 300  # a target is a path or an id; a longer one is cut, not refused

# What was done. "denied": a key without the permission, or a path trick, asked for it.
VIEW, EXPORT, DOWNLOAD, DELETE, DENIED, EDIT = (
    "view",
    "export",
    "download",
    "delete",
    "denied",
    "edit",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS access_log_is_never_changed BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
"""


@dataclass(frozen=True)
class Access:
    at: float
    role: str
    action: str
    target: str

    def to_wire(self) -> dict[str, object]:
        return {"at": self.at, "role": self.role, "action": self.action, "target": self.target}


class AccessLog:
    """The access log; open it with `await AccessLog.open(data_dir)`."""

    def __init__(self, db: sqlite3.Connection, executor: concurrent.futures.ThreadPoolExecutor):
        self._db = db
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path) -> AccessLog:
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="access")
        db = await asyncio.get_running_loop().run_in_executor(executor, _connect, data_dir)
        return cls(db, executor)

    def add(
        self, who_role: str, action: str, target: str, at: float
    ) -> concurrent.futures.Future[None]:
        """Queue one line; await `asyncio.wrap_future(...)` of the result to wait for it."""
        return self._executor.submit(self._add, who_role, action, target[:TARGET_LIMIT], at)

    def _add(self, role: str, action: str, target: str, at: float) -> None:
        self._db.execute(
            "INSERT INTO access_log (at, role, action, target) VALUES (?, ?, ?, ?)",
            (at, role, action, target),
        )

    async def entries(self, limit: int = 200) -> list[Access]:
        """The newest `limit` lines, newest first."""
        count = max(0, min(limit, READ_LIMIT))
        rows = await asyncio.get_running_loop().run_in_executor(
            self._executor,
            lambda: self._db.execute(
                "SELECT at, role, action, target FROM access_log ORDER BY id DESC LIMIT ?",
                (count,),
            ).fetchall(),
        )
        return [Access(*row) for row in rows]

    async def close(self) -> None:
        """Write what is queued, then close; idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)


def private_file(path: Path) -> None:
    """Create `path` owner-only if it is not there yet: it holds names people gave."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def _connect(data_dir: Path) -> sqlite3.Connection:
    make_private_dir(data_dir)
    private_file(data_dir / FILE_NAME)
    # Autocommit: each line is its own transaction, on disk when it is written.
    db = sqlite3.connect(data_dir / FILE_NAME, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(_SCHEMA)
    return db
