"""The floor over time: the speaking limit, a hall whose stream drops, a restart, the crowd."""

from __future__ import annotations

import pytest

from rooms import (
    FLOOR_GRACE,
    AnswerConsent,
    Connect,
    Disconnect,
    ExtendFloor,
    FloorEnded,
    FloorExtended,
    FloorOvertime,
    FloorTimeWarning,
    GrantFloor,
    MoveEntry,
    MuteHall,
    PublishStarted,
    PublishStopped,
    RaiseHand,
    StreamEnded,
    Tick,
    ViewerCount,
)
from tests.floor_builders import durable, floor_room, meeting_room, of_type
from tests.room_builders import T0

GRANTED = T0 + 4  # when floor_room gave Thôn 2 the floor (limit 180 s)


def test_the_speaker_is_warned_once_at_thirty_seconds_left() -> None:
    room = floor_room()
    assert room.handle(Tick(), at=GRANTED + 149) == []
    assert room.handle(Tick(), at=GRANTED + 150) == [FloorTimeWarning("e2", 30.0, at=GRANTED + 150)]
    assert room.handle(Tick(), at=GRANTED + 151) == []


def test_at_zero_the_floor_goes_overtime_once_and_does_not_end() -> None:
    room = floor_room()
    room.handle(Tick(), at=GRANTED + 150)
    assert room.handle(Tick(), at=GRANTED + 180) == [FloorOvertime("e2", at=GRANTED + 180)]
    assert room.handle(Tick(), at=GRANTED + 900) == []
    assert room.floor is not None and room.floor.entry.id == "e2"


def test_a_late_first_tick_sends_the_warning_and_the_overtime_together() -> None:
    events = floor_room().handle(Tick(), at=GRANTED + 200)
    assert events == [
        FloorTimeWarning("e2", 0.0, at=GRANTED + 200),
        FloorOvertime("e2", at=GRANTED + 200),
    ]


def test_extending_moves_the_deadline_and_warns_again_when_it_nears() -> None:
    room = floor_room()
    room.handle(Tick(), at=GRANTED + 185)  # warned and overtime
    events = room.handle(ExtendFloor("chair", 60), at=GRANTED + 186)
    assert events == [FloorExtended("e2", 60, 240, at=GRANTED + 186)]
    assert room.snapshot()["floor"]["deadline"] == GRANTED + 240
    assert room.handle(Tick(), at=GRANTED + 200) == []
    assert of_type(room.handle(Tick(), at=GRANTED + 210), FloorTimeWarning)
    assert of_type(room.handle(Tick(), at=GRANTED + 240), FloorOvertime)


def test_a_speaking_limit_of_the_rooms_own_is_given_with_each_grant() -> None:
    room = meeting_room(speaking_limit=60)
    room.handle(RaiseHand("thon-1"), at=T0 + 1)
    room.handle(GrantFloor("chair", "e1"), at=T0 + 2)
    assert room.snapshot()["floor"]["limit"] == 60
    assert of_type(room.handle(Tick(), at=T0 + 32), FloorTimeWarning)


# -- the floor hall's stream ------------------------------------------------------------


def test_a_hall_whose_stream_stays_gone_loses_the_floor_and_the_log_says_why() -> None:
    room = floor_room()
    events = room.handle(PublishStopped("pub-thon-2"), at=T0 + 10)
    assert events == [StreamEnded("hall:thon-2", "pub-thon-2", at=T0 + 10)]
    assert room.snapshot()["floor"]["live"] is False
    assert room.handle(Tick(), at=T0 + 10 + FLOOR_GRACE - 0.5) == []
    events = room.handle(Tick(), at=T0 + 10 + FLOOR_GRACE)
    assert events == [FloorEnded("e2", "thon-2", "room", "hall-dropped", at=T0 + 10 + FLOOR_GRACE)]
    assert room.floor is None
    assert room.routing().floor_hall is None


def test_a_hall_that_comes_back_within_the_grace_keeps_the_floor() -> None:
    room = floor_room()
    room.handle(PublishStopped("pub-thon-2"), at=T0 + 10)
    room.handle(PublishStarted("again", "hall", "thon-2", "VP8", "opus"), at=T0 + 15)
    assert room.handle(Tick(), at=T0 + 10 + 3 * FLOOR_GRACE) == []
    assert room.snapshot()["floor"]["live"] is True


def test_a_replaced_hall_stream_is_not_a_drop() -> None:
    room = floor_room()
    room.handle(PublishStarted("tv-2", "hall", "thon-2", "VP8", "opus"), at=T0 + 10)
    room.handle(PublishStopped("pub-thon-2"), at=T0 + 11)
    assert room.handle(Tick(), at=T0 + 60) == []
    assert room.floor is not None


def test_the_grace_of_a_new_turn_does_not_inherit_the_last_ones() -> None:
    room = floor_room()
    room.handle(PublishStopped("pub-thon-1"), at=T0 + 5)  # Thôn 1 is off, not on the floor
    room.handle(Tick(), at=T0 + 30)
    room.handle(GrantFloor("chair", "e1"), at=T0 + 31)
    assert room.handle(Tick(), at=T0 + 31 + FLOOR_GRACE - 1) == []
    assert of_type(room.handle(Tick(), at=T0 + 31 + FLOOR_GRACE), FloorEnded)


# -- a restart ---------------------------------------------------------------------------


def test_after_a_restart_the_queue_and_the_floor_are_as_before() -> None:
    room = floor_room()
    room.handle(RaiseHand("thon-3", None, "Bà Năm"), at=T0 + 5)
    room.handle(ExtendFloor("chair", 30), at=T0 + 6)
    room.handle(MoveEntry("chair", "e4", 0), at=T0 + 7)
    room.handle(MuteHall("chair", "thon-2", True), at=T0 + 8)
    room.handle(AnswerConsent("thon-2", True), at=T0 + 9)
    room.handle(Tick(), at=GRANTED + 190)  # warned and overtime
    fresh = room.restarted()
    assert durable(fresh) == durable(room)
    assert fresh.routing() == room.routing()
    assert fresh.snapshot()["floor"]["live"] is False  # no stream survives a restart
    # The restarted room goes on as the old one would: no warning again, e5 next.
    for r in (room, fresh):
        r.handle(Connect("h3", "hall", "thon-3"), at=GRANTED + 191)
    assert fresh.handle(RaiseHand("h3"), at=GRANTED + 192) == room.handle(
        RaiseHand("h3"), at=GRANTED + 192
    )
    assert fresh.queue[-1].id == "e5"


def test_after_a_restart_the_floor_hall_gets_the_grace_from_the_first_command() -> None:
    fresh = floor_room().restarted()
    assert fresh.handle(Tick(), at=T0 + 50) == []
    assert fresh.handle(Tick(), at=T0 + 50 + FLOOR_GRACE - 1) == []
    events = fresh.handle(Tick(), at=T0 + 50 + FLOOR_GRACE)
    assert [e.reason for e in of_type(events, FloorEnded)] == ["hall-dropped"]


def test_a_hall_that_republishes_after_a_restart_keeps_the_floor() -> None:
    fresh = floor_room().restarted()
    fresh.handle(Tick(), at=T0 + 50)
    fresh.handle(PublishStarted("new", "hall", "thon-2", "VP8", "opus"), at=T0 + 53)
    assert fresh.handle(Tick(), at=T0 + 100) == []
    assert fresh.snapshot()["floor"]["live"] is True


def test_replay_only_into_a_fresh_room() -> None:
    room = floor_room()
    with pytest.raises(RuntimeError):
        room.replay(room.events)


# -- the crowd -----------------------------------------------------------------------------


def test_viewers_are_counted_at_most_every_ten_seconds_and_never_named() -> None:
    room = meeting_room()  # one viewer already, counted at T0
    events = []
    for n in range(5):
        events += room.handle(Connect(f"v{n}", "viewer", None), at=T0 + 1 + n)
    assert of_type(events, ViewerCount) == []
    assert room.handle(Tick(), at=T0 + 10) == [ViewerCount(6, at=T0 + 10)]
    room.handle(Disconnect("v0"), at=T0 + 11)
    room.handle(Connect("v0", "viewer", None), at=T0 + 12)
    assert room.handle(Tick(), at=T0 + 30) == []  # back to 6: nothing to say
