"""The room as a pure state machine: the broadcast, refusals, the log and the wire snapshot."""

from __future__ import annotations

import json

import pytest

from rooms import (
    Broadcast,
    BroadcastCodecsChanged,
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
    Room,
    RoomError,
    UnknownConnection,
    UnknownHall,
    UnknownRole,
)
from rooms.commands import Command
from tests.room_builders import T0, new_room, state_of

NO_REPORT = {"picture": "unknown", "sound": "unknown", "link": None}

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


def test_a_second_track_of_the_same_session_adds_its_codec() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", None), at=T0)
    events = room.handle(BroadcastCodecsChanged("p1", "VP8", "opus"), at=T0 + 0.01)
    assert events == [BroadcastStateChanged(True, "p1", "VP8", "opus", False, at=T0 + 0.01)]
    assert room.broadcast == Broadcast(
        live=True, video_codec="VP8", audio_codec="opus", since=T0, session="p1"
    )


def test_an_audio_first_publisher_is_recorded_with_its_video_codec() -> None:
    room = new_room()
    room.handle(BroadcastStarted("obs", "chair", None, "opus"), at=T0)
    room.handle(BroadcastCodecsChanged("obs", "H264", "opus"), at=T0 + 0.01)
    assert (room.broadcast.video_codec, room.broadcast.audio_codec) == ("H264", "opus")
    assert room.snapshot()["broadcast"]["video_codec"] == "H264"


def test_codecs_of_a_session_that_is_no_longer_the_broadcast_are_ignored() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    room.handle(BroadcastStarted("p2", "chair", "H264", None), at=T0 + 5)
    assert room.handle(BroadcastCodecsChanged("p1", "VP8", None), at=T0 + 6) == []
    assert room.broadcast.video_codec == "H264"
    assert room.handle(BroadcastCodecsChanged("p2", "H264", "opus"), at=T0 + 6)
    assert room.broadcast.audio_codec == "opus"


def test_unchanged_codecs_change_nothing() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    assert room.handle(BroadcastCodecsChanged("p1", "VP8", "opus"), at=T0 + 1) == []
    assert room.handle(BroadcastCodecsChanged("p9", "H264", "opus"), at=T0 + 1) == []
    assert len(room.log) == 1


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
    }
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_snapshot_off_air() -> None:
    assert new_room().snapshot()["broadcast"] == {
        "live": False,
        "video_codec": None,
        "audio_codec": None,
        "since": None,
    }
