"""The meetings' event log in SQLite: append-only, private, and whole after a kill -9."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rooms import (
    CloseMeeting,
    Event,
    HallStateChanged,
    HandRaised,
    MeetingOpened,
    Room,
    is_persisted,
)
from tests.floor_builders import LoggedRoom, busy_round, durable, floor_room
from tests.room_builders import HALLS, T0
from web.eventlog import FILE_NAME, READ_LIMIT, AsyncEventLog, EventLog

ROOT = Path(__file__).resolve().parent.parent


def logged(room: LoggedRoom, log: EventLog) -> None:
    """Append what `room` emitted, as web/ does after each command."""
    meeting = room.log_meeting(room.events)
    assert meeting is not None
    log.append(meeting, room.events)


def test_appended_events_read_back_equal_in_order(tmp_path: Path) -> None:
    room = floor_room()
    log = EventLog(tmp_path)
    logged(room, log)
    read = log.events("m-20251128-170000")
    assert [r.seq for r in read] == list(range(1, len(read) + 1))
    assert [r.event for r in read] == [e for e in room.events if is_persisted(e)]
    assert not any(isinstance(r.event, HallStateChanged) for r in read)  # presence is not kept


def test_the_log_file_is_private_to_the_bridge(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "data")
    log.append("m1", [MeetingOpened("m1", "", at=T0)])
    for path in (tmp_path / "data" / FILE_NAME, tmp_path / "data" / f"{FILE_NAME}-wal"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert log._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_stored_events_can_be_neither_changed_nor_deleted(tmp_path: Path) -> None:
    EventLog(tmp_path).append("m1", [MeetingOpened("m1", "", at=T0)])
    db = sqlite3.connect(tmp_path / FILE_NAME)
    for sql in ("UPDATE events SET body = '{}'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)


def test_a_reopened_log_continues_each_meetings_numbering(tmp_path: Path) -> None:
    first = EventLog(tmp_path)
    first.append("m1", [MeetingOpened("m1", "", at=T0)])
    first.close()
    first.close()  # idempotent
    again = EventLog(tmp_path)
    raised = HandRaised(floor_room().queue[0], "hall", at=T0 + 1)
    assert again.append("m1", [raised, HallStateChanged("thon-1", "a", "b", at=T0)]) == 1
    assert [r.seq for r in again.events("m1")] == [1, 2]


def test_reads_come_in_bounded_pages(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    entry = floor_room().queue[0]
    log.append("m1", [HandRaised(entry, "hall", at=T0 + n) for n in range(READ_LIMIT + 5)])
    assert len(log.events("m1", limit=10**9)) == READ_LIMIT
    rest = log.events("m1", after=READ_LIMIT)
    assert [r.seq for r in rest] == list(range(READ_LIMIT + 1, READ_LIMIT + 6))


def test_an_event_of_a_type_this_version_does_not_know_is_skipped(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append("m1", [MeetingOpened("m1", "", at=T0)])
    log._db.execute(
        "INSERT INTO events VALUES ('m1', 2, ?, 'vote-cast', '{\"type\":\"vote-cast\"}')", (T0,)
    )
    assert [type(r.event) for r in log.events("m1")] == [MeetingOpened]


def test_the_open_meeting_is_the_newest_one_unless_it_was_closed(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    assert log.open_meeting() is None
    room = floor_room()
    logged(room, log)
    found = log.open_meeting()
    assert found is not None and found[0] == "m-20251128-170000"
    room.events.clear()
    room.handle(CloseMeeting("chair"), at=T0 + 20)
    logged(room, log)
    assert log.open_meeting() is None
    assert log.meetings() == [("m-20251128-170000", T0, T0 + 20)]


def test_replaying_the_open_meeting_gives_the_same_room(tmp_path: Path) -> None:
    room = floor_room()
    log = EventLog(tmp_path)
    logged(room, log)
    log.close()
    found = EventLog(tmp_path).open_meeting()
    assert found is not None
    fresh = Room("Xã Trực Khang", HALLS)
    fresh.replay(found[1])
    assert durable(fresh) == durable(room)
    assert fresh.routing() == room.routing()


# -- kill -9 ------------------------------------------------------------------------------

# A bridge stand-in: plays floor_room's meeting, appending after every command as web/
# does, then goes on with busy rounds, printing each round's number once its append
# returned. SIGKILL lands at some moment between or inside appends.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.floor_builders import busy_round, floor_room
    from web.eventlog import EventLog

    log = EventLog(Path(sys.argv[1]))
    room = floor_room()
    log.append(room.log_meeting(room.events), room.events)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        events = busy_round(room, n)
        log.append(room.log_meeting(events), events)
        print(n, flush=True)
    """
)


def test_a_kill_9_right_after_appends_loses_none_of_them(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        acknowledged = 0
        while acknowledged < 40:
            acknowledged = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Rounds acknowledged between our reading and the kill landing count too.
    acknowledged = max([acknowledged, *map(int, child.stdout.read().split())])
    found = EventLog(tmp_path).open_meeting()
    assert found is not None
    names = [e.entry.name for e in found[1] if isinstance(e, HandRaised)]
    assert [f"Người {n}" for n in range(1, acknowledged + 1)] == names[3 : 3 + acknowledged]
    # Replayed, the log is the meeting as it stood after the last whole append: the
    # acknowledged one, or the next if it committed before the kill but was not printed.
    fresh = Room("Xã Trực Khang", HALLS)
    fresh.replay(found[1])
    expected = floor_room()
    for n in range(1, acknowledged + 1):
        busy_round(expected, n)
    if durable(fresh) != durable(expected):
        busy_round(expected, acknowledged + 1)
    assert durable(fresh) == durable(expected)
    assert fresh.floor is not None and fresh.floor.entry.id == "e2"


# -- asyncio -------------------------------------------------------------------------------


async def test_async_appends_keep_their_order_and_leave_the_loop_free(tmp_path: Path) -> None:
    log = await AsyncEventLog.open(tmp_path)
    entry = floor_room().queue[0]
    batches: list[list[Event]] = [[MeetingOpened("m1", "", at=T0)]]
    batches += [[HandRaised(entry, "hall", at=T0 + n)] for n in range(1, 50)]
    counts = await asyncio.gather(*(log.append("m1", batch) for batch in batches))
    assert counts == [1] * 50
    read = await log.events("m1", limit=100)
    assert [r.event.at for r in read] == [T0 + n for n in range(50)]
    found = await log.open_meeting()
    assert found is not None and len(found[1]) == 50
    await log.close()
    await log.close()  # idempotent
