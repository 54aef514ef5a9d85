"""The room as a pure state machine: refusals, event order, the wire snapshot. Streams and
the broadcast are in tests/test_room_streams.py."""

from __future__ import annotations

import json

import pytest

from rooms import (
    Connect,
    Disconnect,
    DuplicateConnection,
    HallStateChanged,
    MediaStarted,
    MediaStopped,
    NotPermitted,
    PublishStarted,
    PublishStopped,
    Room,
    RoomError,
    UnknownConnection,
    UnknownHall,
    UnknownRole,
)
from rooms.commands import Command
from tests.room_builders import T0, chair, new_room, state_of

NO_REPORT = {"picture": "unknown", "sound": "unknown", "link": None}

# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "secretary"])
def test_only_a_role_with_publish_can_start_a_stream(role: str) -> None:
    with pytest.raises(NotPermitted):
        new_room().handle(PublishStarted("p1", role, None, "VP8", "opus"), at=T0)


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
        PublishStarted("p1", "mayor", None, "VP8", "opus"),
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
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    with pytest.raises(DuplicateConnection):
        room.handle(chair("p1", "H264", "opus"), at=T0 + 1)
    with pytest.raises(DuplicateConnection):  # one session carries one source
        room.handle(PublishStarted("p1", "hall", "thon-1", "VP8", "opus"), at=T0 + 1)
    assert room.broadcast.video_codec == "VP8"


def test_every_room_error_is_a_room_error() -> None:
    for error in (UnknownRole, UnknownHall, NotPermitted, UnknownConnection, DuplicateConnection):
        assert issubclass(error, RoomError)


def test_illegal_command_changes_nothing() -> None:
    room = new_room()
    room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    before = (room.hall_states(), room.broadcast, room.snapshot())
    illegal: list[Command] = [
        Connect("c1", "hall", "thon-2"),
        Connect("c2", "hall", "thon-9"),
        Connect("c2", "hall", None),
        Connect("c2", "mayor", None),
        Disconnect("c9"),
        MediaStarted("s1", "hall", "thon-2"),
        MediaStarted("s2", "viewer", "thon-2"),
        MediaStopped("s9"),
        PublishStarted("p2", "secretary", None, "H264", "opus"),
        chair("p1", "H264", "opus"),
    ]
    for command in illegal:
        with pytest.raises(RoomError):
            room.handle(command, at=T0 + 1)
    assert (room.hall_states(), room.broadcast, room.snapshot()) == before
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


# -- events and the wire -------------------------------------------------------------------


def test_events_come_in_the_order_things_happened() -> None:
    room = new_room()
    emitted = []
    emitted += room.handle(Connect("c1", "hall", "thon-1"), at=T0)
    emitted += room.handle(chair("p1", "VP8", "opus"), at=T0 + 1)
    emitted += room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 2)
    emitted += room.handle(MediaStopped("s1"), at=T0 + 3)
    emitted += room.handle(Disconnect("c1"), at=T0 + 4)
    emitted += room.handle(PublishStopped("p1"), at=T0 + 5)
    assert [type(e).__name__ for e in emitted] == [
        "ParticipantJoined",
        "HallStateChanged",
        "MeetingOpened",
        "HallsPresent",
        "StreamLive",
        "BroadcastStateChanged",
        "HallStateChanged",
        "HallStateChanged",
        "ParticipantLeft",
        "HallStateChanged",
        "StreamEnded",
        "BroadcastStateChanged",
    ]
    assert [e.at for e in emitted] == sorted(e.at for e in emitted)


def test_events_cannot_be_changed_from_outside() -> None:
    room = new_room()
    (event,) = room.handle(Connect("c1", "chair", None), at=T0)
    with pytest.raises(AttributeError):
        event.at = 0.0  # type: ignore[misc]


def test_snapshot_shape() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0 + 1)
    room.handle(Connect("c2", "hall", "thon-2"), at=T0 + 1)
    snapshot = room.snapshot()
    assert snapshot == {
        "broadcast": {"live": True, "video_codec": "VP8", "audio_codec": "opus", "since": T0},
        "halls": [
            {
                "id": "thon-1",
                "name": "Thôn 1",
                "state": "watching",
                "screen": NO_REPORT,
                "rendition": "full",
            },
            {
                "id": "thon-2",
                "name": "Thôn 2",
                "state": "connected",
                "screen": NO_REPORT,
                "rendition": None,
            },
            {
                "id": "thon-3",
                "name": "Thôn 3",
                "state": "offline",
                "screen": NO_REPORT,
                "rendition": None,
            },
        ],
        "meeting": {"id": "m-20251128-170000", "title": "", "opened_at": T0, "agenda": ""},
        "queue": [],
        "floor": None,
        "muted": [],
        "slides": False,
        "now": T0 + 1,
        "recording": None,
        "recording_stopped": None,
    }
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert room.snapshot(now=T0 + 7)["now"] == T0 + 7


def test_snapshot_off_air() -> None:
    assert new_room().snapshot()["broadcast"] == {
        "live": False,
        "video_codec": None,
        "audio_codec": None,
        "since": None,
    }
