"""What each hall TV really shows: the room's verdict on its reports, and its link history."""

from __future__ import annotations

import pytest

from rooms import (
    BroadcastStarted,
    BroadcastStopped,
    Connect,
    Disconnect,
    LinkReport,
    MediaStarted,
    NotPermitted,
    ScreenChanged,
    ScreenReported,
    Tick,
    UnknownConnection,
)
from rooms.room import Room
from rooms.screen import HISTORY_LIMIT
from tests.room_builders import T0, new_room


def report(frames: int, *, level: float = 0.2, shown: str = "live") -> LinkReport:
    return LinkReport(
        shown=shown,
        frames=frames,
        fps=30.0,
        width=1280,
        height=720,
        audio_level=level,
        loss=0.01,
        jitter_ms=4.0,
        rtt_ms=12.0,
        bitrate_kbps=1900.0,
    )


def watching_hall(codecs: tuple[str | None, str | None] = ("VP8", "opus")) -> Room:
    """Thôn 1 watching a live broadcast since T0, its page reporting as c1."""
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    room.handle(BroadcastStarted("p1", "chair", *codecs), at=T0)
    return room


def verdict(room: Room, hall_id: str = "thon-1") -> tuple[str, str]:
    seen, _ = room.screen(hall_id)
    return seen.picture, seen.sound


def test_a_hall_that_never_reported_is_unknown_not_frozen() -> None:
    room = watching_hall()
    room.handle(Tick(), at=T0 + 60)
    assert verdict(room) == ("unknown", "unknown")


def test_frames_that_move_and_sound_that_is_heard_make_a_moving_audible_tv() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(0)), at=T0 + 1)
    events = room.handle(ScreenReported("c1", report(60)), at=T0 + 3)
    assert events == [ScreenChanged("thon-1", "moving", "audible", at=T0 + 3)]
    assert room.snapshot()["halls"][0]["screen"]["picture"] == "moving"


def test_a_picture_that_stops_for_more_than_5_s_is_frozen() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(0)), at=T0 + 1)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 3)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 5)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 7)
    assert verdict(room)[0] == "moving"  # still within 5 s of the last new frame
    events = room.handle(Tick(), at=T0 + 8.5)
    assert events == [ScreenChanged("thon-1", "frozen", "audible", at=T0 + 8.5)]
    room.handle(ScreenReported("c1", report(90)), at=T0 + 9)
    assert verdict(room)[0] == "moving"


def test_a_page_that_stops_reporting_is_judged_frozen_by_the_clock_alone() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(0)), at=T0 + 1)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 3)
    events = room.handle(Tick(), at=T0 + 10)
    assert events == [ScreenChanged("thon-1", "frozen", "silent", at=T0 + 10)]


def test_a_hall_hearing_nothing_for_more_than_5_s_is_silent() -> None:
    room = watching_hall()
    for n in range(5):
        room.handle(ScreenReported("c1", report(n * 60, level=0.0)), at=T0 + 1 + 2 * n)
    assert verdict(room) == ("moving", "silent")


def test_a_new_broadcast_is_starting_until_frames_move_and_never_counts_old_frames() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(0)), at=T0 + 1)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 3)
    room.handle(BroadcastStopped("p1"), at=T0 + 4)
    assert verdict(room) == ("off-air", "off-air")
    room.handle(BroadcastStarted("p2", "chair", "VP8", "opus"), at=T0 + 4.5)
    assert verdict(room) == ("starting", "starting")
    room.handle(ScreenReported("c1", report(60)), at=T0 + 5)
    room.handle(Tick(), at=T0 + 9)
    assert verdict(room) == ("starting", "audible")
    room.handle(Tick(), at=T0 + 10)
    assert verdict(room) == ("frozen", "audible")


def test_a_sound_only_broadcast_judges_only_the_sound() -> None:
    room = watching_hall(codecs=(None, "opus"))
    for n in range(10):  # no frames at all: there is no picture to freeze
        room.handle(ScreenReported("c1", report(0, shown="audio")), at=T0 + 1 + 2 * n)
    assert verdict(room) == ("none", "audible")


def test_a_reloaded_page_is_compared_only_with_itself() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(5000)), at=T0 + 1)
    room.handle(Connect("c2", "hall", "thon-1"), at=T0 + 2)
    room.handle(ScreenReported("c2", report(0)), at=T0 + 2)
    room.handle(ScreenReported("c2", report(50)), at=T0 + 4)
    assert verdict(room)[0] == "moving"


def test_the_reporting_page_closing_makes_the_tv_unknown() -> None:
    room = watching_hall()
    room.handle(ScreenReported("c1", report(0)), at=T0 + 1)
    room.handle(ScreenReported("c1", report(60)), at=T0 + 3)
    events = room.handle(Disconnect("c1"), at=T0 + 4)
    assert ScreenChanged("thon-1", "unknown", "unknown", at=T0 + 4) in events


def test_only_a_hall_page_may_report() -> None:
    room = new_room()
    room.handle(Connect("v1", "viewer"), at=T0)
    room.handle(Connect("ch", "chair"), at=T0)
    for page in ("v1", "ch"):
        with pytest.raises(NotPermitted):
            room.handle(ScreenReported(page, report(1)), at=T0 + 1)
    with pytest.raises(UnknownConnection):
        room.handle(ScreenReported("nobody", report(1)), at=T0 + 1)
    assert room.link_history("thon-1") == ()


def test_each_halls_link_history_is_kept_in_order_and_bounded() -> None:
    room = watching_hall()
    room.handle(Connect("c2", "hall", "thon-2"), at=T0)
    for n in range(HISTORY_LIMIT + 10):
        room.handle(ScreenReported("c1", report(n)), at=T0 + 2 * n)
    room.handle(ScreenReported("c2", report(7)), at=T0 + 1)
    history = room.link_history("thon-1")
    assert len(history) == HISTORY_LIMIT
    assert history[0].report.frames == 10 and history[-1].report.frames == HISTORY_LIMIT + 9
    assert [s.at for s in history] == sorted(s.at for s in history)
    assert [s.report.frames for s in room.link_history("thon-2")] == [7]


def test_verdict_changes_are_events_but_plain_reports_are_not() -> None:
    room = watching_hall()
    events = []
    for n in range(10):
        events += room.handle(ScreenReported("c1", report(n * 60)), at=T0 + 1 + 2 * n)
    assert events == [
        ScreenChanged("thon-1", "starting", "audible", at=T0 + 1),
        ScreenChanged("thon-1", "moving", "audible", at=T0 + 3),
    ]
