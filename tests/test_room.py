"""The room as a pure state machine, driven synchronously: no I/O, no clock, no mocks."""

from __future__ import annotations

import json

import pytest

from rooms import (
    Broadcast,
    BroadcastStarted,
    BroadcastStateChanged,
    BroadcastStopped,
    Connect,
    Disconnect,
    DuplicateConnection,
    HallStateChanged,
    MediaStarted,
    MediaStopped,
    NotPermitted,
    ParticipantJoined,
    ParticipantLeft,
    Room,
    RoomError,
    UnknownConnection,
    UnknownHall,
    UnknownRole,
    permissions_for,
)
from rooms.commands import Command

T0 = 1764349200.0
HALLS = [("thon-1", "Thôn 1"), ("thon-2", "Thôn 2"), ("thon-3", "Thôn 3")]


def new_room() -> Room:
    return Room("Xã Trực Khang", HALLS)


def state_of(room: Room, hall_id: str) -> str:
    return {h: state for h, _, state in room.hall_states()}[hall_id]


# -- permissions -----------------------------------------------------------------------


def test_each_role_has_exactly_its_permissions() -> None:
    assert permissions_for("chair") == {"publish", "watch", "see_halls"}
    assert permissions_for("secretary") == {"watch", "see_halls"}
    assert permissions_for("viewer") == {"watch"}
    assert permissions_for("hall") == {"watch"}


def test_unknown_role_has_no_permissions() -> None:
    with pytest.raises(UnknownRole):
        permissions_for("mayor")


# -- hall presence -----------------------------------------------------------------------


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
    assert room.handle(Connect("v1", "viewer", None), at=T0) == [
        ParticipantJoined("v1", "viewer", None, at=T0)
    ]
    assert room.handle(MediaStarted("s1", "viewer", None), at=T0 + 1) == []
    assert room.handle(MediaStopped("s1"), at=T0 + 2) == []
    assert room.handle(Disconnect("v1"), at=T0 + 3) == [
        ParticipantLeft("v1", "viewer", None, at=T0 + 3)
    ]
    assert {state for _, _, state in room.hall_states()} == {"offline"}


# -- the broadcast -----------------------------------------------------------------------


def test_broadcast_is_off_air_at_start() -> None:
    assert new_room().broadcast == Broadcast(
        live=False, video_codec=None, audio_codec=None, since=None, session=None
    )


def test_chair_starting_broadcast_goes_live() -> None:
    room = new_room()
    events = room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    assert events == [BroadcastStateChanged(True, "p1", "VP8", "opus", False, at=T0)]
    assert room.broadcast == Broadcast(
        live=True, video_codec="VP8", audio_codec="opus", since=T0, session="p1"
    )


def test_new_publish_while_live_replaces_the_previous_session() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    events = room.handle(BroadcastStarted("p2", "chair", "H264", "opus"), at=T0 + 40)
    assert events == [BroadcastStateChanged(True, "p2", "H264", "opus", True, at=T0 + 40)]
    assert room.broadcast.session == "p2"
    assert room.broadcast.video_codec == "H264"
    assert room.broadcast.since == T0


def test_replaced_publisher_stopping_does_not_end_broadcast() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    room.handle(BroadcastStarted("p2", "chair", "VP8", "opus"), at=T0 + 1)
    assert room.handle(BroadcastStopped("p1"), at=T0 + 2) == []
    assert room.broadcast.live
    assert room.broadcast.session == "p2"


def test_current_publisher_stopping_ends_broadcast() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    events = room.handle(BroadcastStopped("p1"), at=T0 + 600)
    assert events == [BroadcastStateChanged(False, None, None, None, False, at=T0 + 600)]
    assert room.broadcast == Broadcast()


def test_broadcast_stopped_while_off_air_is_ignored() -> None:
    room = new_room()
    assert room.handle(BroadcastStopped("p1"), at=T0) == []
    assert room.log == ()


def test_publish_after_stop_is_a_fresh_broadcast() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    room.handle(BroadcastStopped("p1"), at=T0 + 1)
    events = room.handle(BroadcastStarted("p2", "chair", "VP8", None), at=T0 + 2)
    assert events == [BroadcastStateChanged(True, "p2", "VP8", None, False, at=T0 + 2)]
    assert room.broadcast.since == T0 + 2


# -- refusals -----------------------------------------------------------------------------


def test_viewer_cannot_start_broadcast() -> None:
    with pytest.raises(NotPermitted):
        new_room().handle(BroadcastStarted("p1", "viewer", "VP8", "opus"), at=T0)


@pytest.mark.parametrize("role", ["secretary", "hall"])
def test_only_a_role_with_publish_can_start_broadcast(role: str) -> None:
    with pytest.raises(NotPermitted):
        new_room().handle(BroadcastStarted("p1", role, "VP8", "opus"), at=T0)


def test_hall_role_must_name_its_hall() -> None:
    room = new_room()
    with pytest.raises(NotPermitted):
        room.handle(Connect("c1", "hall", None), at=T0)
    with pytest.raises(NotPermitted):
        room.handle(MediaStarted("s1", "hall", None), at=T0)


def test_hall_role_naming_a_hall_outside_the_room_is_refused() -> None:
    room = new_room()
    with pytest.raises(UnknownHall):
        room.handle(Connect("c1", "hall", "thon-9"), at=T0)
    with pytest.raises(NotPermitted):  # UnknownHall is a NotPermitted
        room.handle(MediaStarted("s1", "hall", "thon-9"), at=T0)


def test_non_hall_role_cannot_act_for_a_hall() -> None:
    room = new_room()
    with pytest.raises(NotPermitted):
        room.handle(Connect("c1", "viewer", "thon-1"), at=T0)
    with pytest.raises(NotPermitted):
        room.handle(MediaStarted("s1", "chair", "thon-1"), at=T0)
    assert state_of(room, "thon-1") == "offline"


@pytest.mark.parametrize(
    "command",
    [
        Connect("c1", "mayor", None),
        MediaStarted("s1", "mayor", None),
        BroadcastStarted("p1", "mayor", "VP8", "opus"),
    ],
)
def test_unknown_role_is_refused(command: Command) -> None:
    with pytest.raises(UnknownRole):
        new_room().handle(command, at=T0)


def test_disconnecting_an_unknown_connection_is_refused() -> None:
    room = new_room()
    with pytest.raises(UnknownConnection):
        room.handle(Disconnect("nobody"), at=T0)
    room.handle(Connect("c1", "viewer", None), at=T0)
    room.handle(Disconnect("c1"), at=T0 + 1)
    with pytest.raises(UnknownConnection):
        room.handle(Disconnect("c1"), at=T0 + 2)


def test_stopping_an_unknown_media_session_is_refused() -> None:
    with pytest.raises(UnknownConnection):
        new_room().handle(MediaStopped("nobody"), at=T0)


def test_reusing_an_open_connection_id_is_refused() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    with pytest.raises(DuplicateConnection):
        room.handle(Connect("c1", "viewer", None), at=T0 + 1)


def test_reusing_a_live_media_session_id_is_refused() -> None:
    room = new_room()
    room.handle(MediaStarted("s1", "viewer", None), at=T0)
    with pytest.raises(DuplicateConnection):
        room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 1)


def test_publishing_the_current_session_again_is_refused() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    with pytest.raises(DuplicateConnection):
        room.handle(BroadcastStarted("p1", "chair", "H264", "opus"), at=T0 + 1)
    assert room.broadcast.video_codec == "VP8"


def test_every_room_error_is_a_room_error() -> None:
    for error in (UnknownRole, UnknownHall, NotPermitted, UnknownConnection, DuplicateConnection):
        assert issubclass(error, RoomError)


def test_illegal_command_changes_nothing() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    before = (room.hall_states(), room.broadcast, room.log, room.snapshot())
    illegal: list[Command] = [
        Connect("c1", "hall", "thon-2"),
        Connect("c2", "hall", "thon-9"),
        Connect("c2", "hall", None),
        Connect("c2", "mayor", None),
        Disconnect("c9"),
        MediaStarted("s1", "hall", "thon-2"),
        MediaStarted("s2", "viewer", "thon-2"),
        MediaStopped("s9"),
        BroadcastStarted("p2", "secretary", "H264", "opus"),
        BroadcastStarted("p1", "chair", "H264", "opus"),
    ]
    for command in illegal:
        with pytest.raises(RoomError):
            room.handle(command, at=T0 + 1)
    assert (room.hall_states(), room.broadcast, room.log, room.snapshot()) == before
    # The refused ids were never recorded, so they are still free to use.
    assert room.handle(Connect("c2", "hall", "thon-2"), at=T0 + 2)[0].at == T0 + 2
    assert room.handle(MediaStopped("s1"), at=T0 + 3) == [
        HallStateChanged("thon-1", "watching", "connected", at=T0 + 3)
    ]


def test_non_command_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        new_room().handle("connect", at=T0)  # type: ignore[arg-type]


def test_duplicate_hall_ids_are_a_config_bug() -> None:
    with pytest.raises(ValueError):
        Room("Xã Trực Khang", [("thon-1", "Thôn 1"), ("thon-1", "Thôn Một")])


# -- the log and the wire -----------------------------------------------------------------


def test_log_records_every_event_in_order() -> None:
    room = new_room()
    emitted = []
    emitted += room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    emitted += room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0 + 1)
    emitted += room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 2)
    emitted += room.handle(MediaStopped("s1"), at=T0 + 3)
    emitted += room.handle(Disconnect("c1"), at=T0 + 4)
    emitted += room.handle(BroadcastStopped("p1"), at=T0 + 5)
    assert room.log == tuple(emitted)
    assert [type(e).__name__ for e in room.log] == [
        "ParticipantJoined",
        "HallStateChanged",
        "BroadcastStateChanged",
        "HallStateChanged",
        "HallStateChanged",
        "ParticipantLeft",
        "HallStateChanged",
        "BroadcastStateChanged",
    ]
    assert [e.at for e in room.log] == sorted(e.at for e in room.log)


def test_log_cannot_be_changed_from_outside() -> None:
    room = new_room()
    room.handle(Connect("c1", "viewer", None), at=T0)
    log = room.log
    assert isinstance(log, tuple)
    with pytest.raises(AttributeError):
        log[0].at = 0.0  # type: ignore[misc]


def test_snapshot_shape() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 1)
    room.handle(Connect("c2", "hall", "thon-2"), at=T0 + 1)
    snapshot = room.snapshot()
    assert snapshot == {
        "broadcast": {"live": True, "video_codec": "VP8", "audio_codec": "opus", "since": T0},
        "halls": [
            {"id": "thon-1", "name": "Thôn 1", "state": "watching"},
            {"id": "thon-2", "name": "Thôn 2", "state": "connected"},
            {"id": "thon-3", "name": "Thôn 3", "state": "offline"},
        ],
    }
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_snapshot_off_air() -> None:
    assert new_room().snapshot()["broadcast"] == {
        "live": False,
        "video_codec": None,
        "audio_codec": None,
        "since": None,
    }
