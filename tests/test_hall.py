"""A hall's presence (offline, connected, watching, lost) as its pages and streams come and go."""

from __future__ import annotations

from rooms import (
    Connect,
    Disconnect,
    HallStateChanged,
    MediaStarted,
    MediaStopped,
    ParticipantJoined,
    ParticipantLeft,
    ViewerCount,
)
from tests.room_builders import T0, new_room, state_of


def test_every_hall_starts_offline_in_config_order() -> None:
    assert new_room().hall_states() == [
        ("thon-1", "Thôn 1", "offline"),
        ("thon-2", "Thôn 2", "offline"),
        ("thon-3", "Thôn 3", "offline"),
    ]


def test_hall_page_connecting_makes_hall_connected() -> None:
    room = new_room()
    events = room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    assert events == [
        ParticipantJoined("c1", "hall", "thon-1", at=T0),
        HallStateChanged("thon-1", "offline", "connected", at=T0),
    ]
    assert state_of(room, "thon-1") == "connected"
    assert state_of(room, "thon-2") == "offline"


def test_hall_becomes_lost_when_its_last_connection_drops() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    events = room.handle(Disconnect("c1"), at=T0 + 5)
    assert events == [
        ParticipantLeft("c1", "hall", "thon-1", at=T0 + 5),
        HallStateChanged("thon-1", "connected", "lost", at=T0 + 5),
    ]
    assert state_of(room, "thon-1") == "lost"


def test_old_socket_closing_after_reload_keeps_hall_connected() -> None:
    room = new_room()
    room.handle(Connect("old", "hall", "thon-1"), at=T0)
    reload = room.handle(Connect("new", "hall", "thon-1"), at=T0 + 1)
    timeout = room.handle(Disconnect("old"), at=T0 + 30)
    assert reload == [ParticipantJoined("new", "hall", "thon-1", at=T0 + 1)]
    assert timeout == [ParticipantLeft("old", "hall", "thon-1", at=T0 + 30)]
    assert state_of(room, "thon-1") == "connected"


def test_lost_hall_coming_back_is_connected_again() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(Disconnect("c1"), at=T0 + 1)
    events = room.handle(Connect("c2", "hall", "thon-1"), at=T0 + 60)
    assert events[-1] == HallStateChanged("thon-1", "lost", "connected", at=T0 + 60)


def test_hall_media_starting_makes_hall_watching() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    events = room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 2)
    assert events == [HallStateChanged("thon-1", "connected", "watching", at=T0 + 2)]


def test_watching_hall_falls_back_to_connected_when_media_stops() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 2)
    events = room.handle(MediaStopped("s1"), at=T0 + 9)
    assert events == [HallStateChanged("thon-1", "watching", "connected", at=T0 + 9)]


def test_watching_hall_stays_watching_while_its_page_reconnects() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 2)
    events = room.handle(Disconnect("c1"), at=T0 + 3)
    assert events == [ParticipantLeft("c1", "hall", "thon-1", at=T0 + 3)]
    assert state_of(room, "thon-1") == "watching"


def test_hall_with_a_second_media_session_stays_watching_when_the_first_stops() -> None:
    room = new_room()
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    assert room.handle(MediaStarted("s2", "hall", "thon-1"), at=T0 + 1) == []
    assert room.handle(MediaStopped("s1"), at=T0 + 2) == []
    assert state_of(room, "thon-1") == "watching"


def test_hall_watching_without_a_page_becomes_lost_when_media_stops() -> None:
    room = new_room()
    first = room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    last = room.handle(MediaStopped("s1"), at=T0 + 1)
    assert first == [HallStateChanged("thon-1", "offline", "watching", at=T0)]
    assert last == [HallStateChanged("thon-1", "watching", "lost", at=T0 + 1)]


def test_viewer_connecting_and_watching_changes_no_hall() -> None:
    room = new_room()
    # A viewer is one of a crowd: counted, not named (rooms/permissions.py counted_only).
    assert room.handle(Connect("v1", "viewer", None), at=T0) == [ViewerCount(1, at=T0)]
    assert room.handle(MediaStarted("s1", "viewer", None), at=T0 + 1) == []
    assert room.handle(MediaStopped("s1"), at=T0 + 2) == []
    assert room.handle(Disconnect("v1"), at=T0 + 13) == [ViewerCount(0, at=T0 + 13)]
    assert {state for _, _, state in room.hall_states()} == {"offline"}
