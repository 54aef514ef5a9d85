"""Recording in the room: who may start and stop it, the refusals that say why, and how
a closed meeting, a failed recorder and a replayed log leave it."""

from __future__ import annotations

import pytest

from rooms import (
    BadValue,
    CloseMeeting,
    Connect,
    IllegalMove,
    NotPermitted,
    OpenMeeting,
    Room,
    event_from_wire,
    event_to_wire,
)
from rooms.commands import RecordingFailed, StartRecording, StopRecording
from rooms.events import MeetingClosed, RecordingStarted, RecordingStopped
from rooms.history import MeetingHistory, RecordingSpan
from rooms.recording import AUTO
from tests.room_builders import T0, new_room


def open_room() -> Room:
    room = new_room()
    room.handle(Connect("c", "chair"), at=T0)
    room.handle(Connect("h1", "hall", "thon-1"), at=T0)
    room.handle(Connect("s", "secretary"), at=T0)
    room.handle(OpenMeeting("c", "Họp dân"), at=T0)
    return room


def test_chair_starts_and_stops_recording_and_every_page_sees_it() -> None:
    room = open_room()
    events = room.handle(StartRecording("c", "r1"), at=T0 + 5)
    assert events == [RecordingStarted("r1", "chair", at=T0 + 5)]
    assert room.snapshot()["recording"] == {"id": "r1", "since": T0 + 5}
    assert room.snapshot_for("viewer", None)["recording"] == {"id": "r1", "since": T0 + 5}
    events = room.handle(StopRecording("c"), at=T0 + 9)
    assert events == [RecordingStopped("r1", "stopped", at=T0 + 9)]
    assert room.snapshot()["recording"] is None


def test_only_a_role_with_the_record_permission_may_start_or_stop() -> None:
    room = open_room()
    for conn in ("h1", "s"):
        with pytest.raises(NotPermitted, match="may not record"):
            room.handle(StartRecording(conn, "r1"), at=T0 + 1)
    room.handle(StartRecording("c", "r1"), at=T0 + 2)
    with pytest.raises(NotPermitted):
        room.handle(StopRecording("h1"), at=T0 + 3)
    assert room.recording.running is not None


def test_starting_twice_is_refused_naming_the_running_recording() -> None:
    room = open_room()
    room.handle(StartRecording("c", "r1"), at=T0 + 1)
    with pytest.raises(IllegalMove, match=r"already recording \(r1\)"):
        room.handle(StartRecording("c", "r2"), at=T0 + 2)


def test_recording_needs_an_open_meeting() -> None:
    room = new_room()
    room.handle(Connect("c", "chair"), at=T0)
    with pytest.raises(IllegalMove, match="no meeting is open"):
        room.handle(StartRecording("c", "r1"), at=T0 + 1)


def test_stopping_when_nothing_is_recorded_is_refused() -> None:
    with pytest.raises(IllegalMove, match="nothing is being recorded"):
        open_room().handle(StopRecording("c"), at=T0 + 1)


def test_a_recording_id_that_is_no_safe_folder_name_is_refused() -> None:
    room = open_room()
    for bad in ("../etc", "", "a/b", "x" * 65):
        with pytest.raises(BadValue):
            room.handle(StartRecording("c", bad), at=T0 + 1)
    assert room.recording.running is None


def test_closing_the_meeting_stops_its_recording_first() -> None:
    room = open_room()
    room.handle(StartRecording("c", "r1"), at=T0 + 1)
    events = room.handle(CloseMeeting("c"), at=T0 + 60)
    assert events[-2:] == [
        RecordingStopped("r1", "meeting-closed", at=T0 + 60),
        MeetingClosed(room.log_meeting(events) or "", at=T0 + 60),
    ]
    assert room.recording.running is None


def test_a_failed_recorder_stops_its_recording_with_the_reason() -> None:
    room = open_room()
    room.handle(StartRecording("c", "r1"), at=T0 + 1)
    with pytest.raises(IllegalMove):  # a report about an older recording changes nothing
        room.handle(RecordingFailed("r0", "disk-full"), at=T0 + 2)
    with pytest.raises(BadValue):
        room.handle(RecordingFailed("r1", "bored"), at=T0 + 2)
    events = room.handle(RecordingFailed("r1", "disk-full"), at=T0 + 3)
    assert events == [RecordingStopped("r1", "disk-full", at=T0 + 3)]
    room.handle(StartRecording("c", "r2"), at=T0 + 4)  # the chair may try again
    assert room.recording.running is not None


def test_replaying_the_log_brings_back_a_running_recording() -> None:
    room = new_room()
    room.handle(Connect("c", "chair"), at=T0)
    logged = room.handle(OpenMeeting("c", "Họp dân"), at=T0)
    logged += room.handle(StartRecording("c", "r1"), at=T0 + 1)
    fresh = new_room()
    fresh.replay(logged)
    assert fresh.snapshot()["recording"] == {"id": "r1", "since": T0 + 1}


def test_recording_events_survive_the_log_wire() -> None:
    for event in (
        RecordingStarted("r1", "chair", at=T0),
        RecordingStopped("r1", "disk-full", at=T0 + 1),
    ):
        wire = event_to_wire(event)
        assert wire["type"] in ("recording-started", "recording-stopped")
        assert event_from_wire(wire) == event


def test_history_lists_each_recording_span_with_why_it_stopped() -> None:
    history = MeetingHistory.from_events(
        [
            RecordingStarted("r1", "chair", at=T0),
            RecordingStopped("r1", "stopped", at=T0 + 30),
            RecordingStarted("r2", "chair", at=T0 + 40),
        ]
    )
    assert history.recordings == [
        RecordingSpan("r1", T0, T0 + 30, "stopped"),
        RecordingSpan("r2", T0 + 40),
    ]


def test_the_config_may_start_a_recording_without_a_page() -> None:
    room = open_room()
    events = room.handle(StartRecording(AUTO, "r1"), at=T0 + 1)
    assert events == [RecordingStarted("r1", "auto", at=T0 + 1)]


def test_the_snapshot_says_why_the_last_recording_stopped_until_the_next_starts() -> None:
    room = open_room()
    room.handle(StartRecording("c", "r1"), at=T0 + 1)
    room.handle(RecordingFailed("r1", "disk-full"), at=T0 + 2)
    assert room.snapshot()["recording_stopped"] == {"id": "r1", "reason": "disk-full", "at": T0 + 2}
    room.handle(StartRecording("c", "r2"), at=T0 + 3)
    assert room.snapshot()["recording_stopped"] is None
