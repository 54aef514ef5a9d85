"""The room's streams: the chair's broadcast and the halls' cameras, who takes over whom,
and their codecs. Pure and synchronous, like the room."""

from __future__ import annotations

import pytest

from rooms import (
    Broadcast,
    BroadcastCodecsChanged,
    BroadcastStarted,
    BroadcastStateChanged,
    BroadcastStopped,
    NotPermitted,
    PublishStarted,
    PublishStopped,
    UnknownHall,
)
from rooms.events import MeetingOpened, StreamEnded, StreamLive, StreamSuperseded
from tests.room_builders import T0, broadcast_events, chair, new_room

# -- the broadcast: the chair's stream -----------------------------------------------------


def test_broadcast_is_off_air_at_start() -> None:
    assert new_room().broadcast == Broadcast(
        live=False, video_codec=None, audio_codec=None, since=None, session=None
    )


def test_chair_starting_broadcast_goes_live_and_opens_a_meeting() -> None:
    room = new_room()
    events = room.handle(chair("p1", "VP8", "opus"), at=T0)
    assert events == [
        MeetingOpened("m-20251128-170000", "", at=T0),
        StreamLive("chair", "p1", None, at=T0),
        BroadcastStateChanged(True, "p1", "VP8", "opus", False, at=T0),
    ]
    assert room.broadcast == Broadcast(
        live=True, video_codec="VP8", audio_codec="opus", since=T0, session="p1"
    )
    assert room.stream_live("chair")


def test_the_old_broadcast_commands_still_drive_the_chair_stream() -> None:
    room = new_room()
    room.handle(BroadcastStarted("p1", "chair", "VP8", "opus"), at=T0)
    assert room.broadcast.session == "p1"
    events = room.handle(BroadcastStopped("p1"), at=T0 + 1)
    assert broadcast_events(events) == [
        BroadcastStateChanged(False, None, None, None, False, at=T0 + 1)
    ]


def test_new_publish_while_live_replaces_the_previous_session() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    events = room.handle(chair("p2", "H264", "opus"), at=T0 + 40)
    assert events == [
        StreamLive("chair", "p2", "p1", at=T0 + 40),
        BroadcastStateChanged(True, "p2", "H264", "opus", True, at=T0 + 40),
    ]
    assert room.broadcast.session == "p2"
    assert room.broadcast.video_codec == "H264"
    assert room.broadcast.since == T0


def test_an_older_offer_that_connects_late_is_superseded() -> None:
    room = new_room()
    room.handle(chair("p2", "VP8", "opus", offered_at=T0 + 5), at=T0 + 6)
    events = room.handle(chair("p1", "VP8", "opus", offered_at=T0), at=T0 + 7)
    assert events == [StreamSuperseded("chair", "p1", at=T0 + 7)]
    assert room.broadcast.session == "p2"
    assert room.handle(PublishStopped("p1"), at=T0 + 8) == []
    assert room.broadcast.live


def test_replaced_publisher_stopping_does_not_end_broadcast() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    room.handle(chair("p2", "VP8", "opus"), at=T0 + 1)
    assert room.handle(PublishStopped("p1"), at=T0 + 2) == []
    assert room.broadcast.live
    assert room.broadcast.session == "p2"


def test_current_publisher_stopping_ends_broadcast() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    events = room.handle(PublishStopped("p1"), at=T0 + 600)
    assert events == [
        StreamEnded("chair", "p1", at=T0 + 600),
        BroadcastStateChanged(False, None, None, None, False, at=T0 + 600),
    ]
    assert room.broadcast == Broadcast()
    assert room.meeting is not None  # the meeting outlives a dropped camera


def test_broadcast_stopped_while_off_air_is_ignored() -> None:
    room = new_room()
    assert room.handle(PublishStopped("p1"), at=T0) == []
    assert room.snapshot() == new_room().snapshot(now=T0)


def test_publish_after_stop_is_a_fresh_broadcast() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    room.handle(PublishStopped("p1"), at=T0 + 1)
    events = room.handle(chair("p2", "VP8", None), at=T0 + 2)
    assert events == [
        StreamLive("chair", "p2", None, at=T0 + 2),
        BroadcastStateChanged(True, "p2", "VP8", None, False, at=T0 + 2),
    ]
    assert room.broadcast.since == T0 + 2


# -- a hall's own stream --------------------------------------------------------------------


def test_a_hall_publishes_its_own_camera_without_touching_the_broadcast() -> None:
    room = new_room()
    events = room.handle(PublishStarted("h1", "hall", "thon-1", "VP8", "opus"), at=T0)
    assert events == [StreamLive("hall:thon-1", "h1", None, at=T0)]
    assert room.broadcast == Broadcast()
    assert room.meeting is None  # only the chair going live opens a meeting
    assert room.stream_live("hall:thon-1")


def test_a_hall_publishing_twice_keeps_the_newer_stream() -> None:
    room = new_room()
    room.handle(PublishStarted("h1", "hall", "thon-1", "VP8", "opus", T0), at=T0)
    events = room.handle(PublishStarted("h2", "hall", "thon-1", "VP8", "opus", T0 + 1), at=T0 + 2)
    assert events == [StreamLive("hall:thon-1", "h2", "h1", at=T0 + 2)]
    assert room.handle(PublishStopped("h1"), at=T0 + 3) == []
    assert room.stream_live("hall:thon-1")
    assert room.handle(PublishStopped("h2"), at=T0 + 4) == [
        StreamEnded("hall:thon-1", "h2", at=T0 + 4)
    ]


def test_a_hall_may_publish_only_as_itself() -> None:
    room = new_room()
    with pytest.raises(NotPermitted):
        room.handle(PublishStarted("h1", "hall", None, "VP8", "opus"), at=T0)
    with pytest.raises(NotPermitted):
        room.handle(PublishStarted("h1", "chair", "thon-1", "VP8", "opus"), at=T0)
    with pytest.raises(UnknownHall):
        room.handle(PublishStarted("h1", "hall", "thon-9", "VP8", "opus"), at=T0)


def test_streams_of_different_sources_live_side_by_side() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    room.handle(PublishStarted("h1", "hall", "thon-1", "VP8", "opus"), at=T0)
    room.handle(PublishStarted("h2", "hall", "thon-2", "VP8", "opus"), at=T0)
    room.handle(PublishStopped("h1"), at=T0 + 1)
    assert room.broadcast.live
    assert (room.stream_live("hall:thon-1"), room.stream_live("hall:thon-2")) == (False, True)


# -- codecs --------------------------------------------------------------------------------


def test_a_second_track_of_the_same_session_adds_its_codec() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", None), at=T0)
    events = room.handle(BroadcastCodecsChanged("p1", "VP8", "opus"), at=T0 + 0.01)
    assert events == [BroadcastStateChanged(True, "p1", "VP8", "opus", False, at=T0 + 0.01)]
    assert room.broadcast == Broadcast(
        live=True, video_codec="VP8", audio_codec="opus", since=T0, session="p1"
    )


def test_an_audio_first_publisher_is_recorded_with_its_video_codec() -> None:
    room = new_room()
    room.handle(chair("obs", None, "opus"), at=T0)
    room.handle(BroadcastCodecsChanged("obs", "H264", "opus"), at=T0 + 0.01)
    assert (room.broadcast.video_codec, room.broadcast.audio_codec) == ("H264", "opus")
    assert room.snapshot()["broadcast"]["video_codec"] == "H264"


def test_codecs_of_a_session_that_is_no_longer_the_broadcast_are_ignored() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    room.handle(chair("p2", "H264", None), at=T0 + 5)
    assert room.handle(BroadcastCodecsChanged("p1", "VP8", None), at=T0 + 6) == []
    assert room.broadcast.video_codec == "H264"
    assert room.handle(BroadcastCodecsChanged("p2", "H264", "opus"), at=T0 + 6)
    assert room.broadcast.audio_codec == "opus"


def test_unchanged_codecs_change_nothing() -> None:
    room = new_room()
    room.handle(chair("p1", "VP8", "opus"), at=T0)
    assert room.handle(BroadcastCodecsChanged("p1", "VP8", "opus"), at=T0 + 1) == []
    assert room.handle(BroadcastCodecsChanged("p9", "H264", "opus"), at=T0 + 1) == []


def test_a_hall_streams_codec_change_is_not_a_broadcast_change() -> None:
    room = new_room()
    room.handle(PublishStarted("h1", "hall", "thon-1", None, "opus"), at=T0)
    assert room.handle(BroadcastCodecsChanged("h1", "VP8", "opus"), at=T0 + 1) == []
    assert room.broadcast == Broadcast()
