"""The stored shape of every persisted event: pinned, since old meetings must stay readable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rooms import (
    BroadcastStateChanged,
    ConsentGiven,
    Entry,
    EntryEdited,
    EntryMoved,
    Event,
    FloorEnded,
    FloorExtended,
    FloorGranted,
    FloorOvertime,
    FloorTimeWarning,
    HallMuted,
    HallsPresent,
    HallStateChanged,
    HandRaised,
    HandWithdrawn,
    LinkQuality,
    MeetingClosed,
    MeetingOpened,
    NoteAdded,
    ParticipantJoined,
    ParticipantLeft,
    QuestionStatusSet,
    ScreenChanged,
    StreamEnded,
    StreamLive,
    StreamSuperseded,
    ViewerCount,
    WireError,
    event_from_wire,
    event_to_wire,
    is_persisted,
)
from rooms.events import RecordingStarted, RecordingStopped
from rooms.wire import PERSISTED

AT = 1764400100.0
ENTRY = Entry("e3", "thon-2", "Người dân", "Đường mới", raised_at=AT)
ENTRY_WIRE = {
    "id": "e3",
    "hall": "thon-2",
    "name": "Người dân",
    "topic": "Đường mới",
    "raised_at": AT,
    "consent": None,
}

SHAPES: list[tuple[Event, dict[str, Any]]] = [
    (
        MeetingOpened("m-1", "Họp", "1. Đường\n2. Trường", at=AT),
        {"meeting_id": "m-1", "title": "Họp", "agenda": "1. Đường\n2. Trường"},
    ),
    (MeetingClosed("m-1", at=AT), {"meeting_id": "m-1"}),
    (
        ParticipantJoined("c1", "hall", "thon-2", at=AT),
        {"conn_id": "c1", "role": "hall", "hall_id": "thon-2"},
    ),
    (
        ParticipantLeft("c1", "chair", None, at=AT),
        {"conn_id": "c1", "role": "chair", "hall_id": None},
    ),
    (ViewerCount(12, at=AT), {"count": 12}),
    (HandRaised(ENTRY, "hall", at=AT), {"entry": ENTRY_WIRE, "by": "hall"}),
    (
        HandWithdrawn("e3", "thon-2", "chair", at=AT),
        {"entry_id": "e3", "hall_id": "thon-2", "by": "chair"},
    ),
    (FloorGranted(ENTRY, 180, "chair", at=AT), {"entry": ENTRY_WIRE, "limit": 180, "by": "chair"}),
    (
        FloorEnded("e3", "thon-2", "room", "hall-dropped", at=AT),
        {"entry_id": "e3", "hall_id": "thon-2", "by": "room", "reason": "hall-dropped"},
    ),
    (HallMuted("thon-4", True, at=AT), {"hall_id": "thon-4", "muted": True}),
    (FloorExtended("e3", 60, 240, at=AT), {"entry_id": "e3", "seconds": 60, "limit": 240}),
    (EntryEdited("e3", "Bà Lan", "", at=AT), {"entry_id": "e3", "name": "Bà Lan", "topic": ""}),
    (EntryMoved("e3", 0, at=AT), {"entry_id": "e3", "position": 0}),
    (ConsentGiven("e3", False, at=AT), {"entry_id": "e3", "consent": False}),
    (FloorTimeWarning("e3", 30.0, at=AT), {"entry_id": "e3", "remaining": 30.0}),
    (FloorOvertime("e3", at=AT), {"entry_id": "e3"}),
    (
        StreamLive("hall:thon-2", "s2", "s1", at=AT),
        {"source": "hall:thon-2", "session_id": "s2", "replaced": "s1"},
    ),
    (StreamEnded("chair", "s1", at=AT), {"source": "chair", "session_id": "s1"}),
    (RecordingStarted("r1", "chair", at=AT), {"recording_id": "r1", "by": "chair"}),
    (RecordingStopped("r1", "disk-full", at=AT), {"recording_id": "r1", "reason": "disk-full"}),
    (
        NoteAdded("n1", "<b>x</b>", "secretary", at=AT),
        {"note_id": "n1", "text": "<b>x</b>", "by": "secretary"},
    ),
    (
        QuestionStatusSet("e3", "forwarded", "Gửi huyện", "chair", at=AT),
        {"entry_id": "e3", "status": "forwarded", "answer": "Gửi huyện", "by": "chair"},
    ),
    (
        LinkQuality("thon-2", 30, 24.5, 0.01, 0.05, None, "good", at=AT),
        {
            "hall_id": "thon-2",
            "reports": 30,
            "fps": 24.5,
            "loss": 0.01,
            "loss_max": 0.05,
            "rtt_ms": None,
            "rating": "good",
        },
    ),
    (HallsPresent((("c1", "thon-2"),), at=AT), {"pages": [["c1", "thon-2"]]}),
]


@pytest.mark.parametrize(("event", "fields"), SHAPES, ids=[type(e).__name__ for e, _ in SHAPES])
def test_each_persisted_event_has_its_pinned_wire_shape(
    event: Event, fields: dict[str, Any]
) -> None:
    wire = event_to_wire(event)
    assert wire == {"type": wire["type"], "at": AT, **fields}
    assert PERSISTED[wire["type"]] is type(event)
    assert event_from_wire(json.loads(json.dumps(wire))) == event


def test_every_persisted_type_is_pinned_here() -> None:
    assert {type(e) for e, _ in SHAPES} == set(PERSISTED.values())
    assert list(PERSISTED) == [
        "meeting-opened",
        "meeting-closed",
        "participant-joined",
        "participant-left",
        "viewer-count",
        "hand-raised",
        "hand-withdrawn",
        "floor-granted",
        "floor-ended",
        "hall-muted",
        "floor-extended",
        "entry-edited",
        "entry-moved",
        "consent-given",
        "floor-time-warning",
        "floor-overtime",
        "stream-live",
        "stream-ended",
        "recording-started",
        "recording-stopped",
        "note-added",
        "question-status-set",
        "link-quality",
        "halls-present",
    ]


@pytest.mark.parametrize(
    "event",
    [
        HallStateChanged("thon-1", "offline", "connected", at=AT),
        ScreenChanged("thon-1", "moving", "audible", at=AT),
        BroadcastStateChanged(True, "p1", "VP8", "opus", False, at=AT),
        StreamSuperseded("chair", "p0", at=AT),
    ],
)
def test_presence_screens_and_superseded_offers_are_not_kept(event: Event) -> None:
    assert not is_persisted(event)
    with pytest.raises(TypeError):
        event_to_wire(event)


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "vote-cast", "at": AT},
        {"at": AT},
        {"type": "floor-ended", "at": AT, "entry_id": "e3"},
        {"type": "hand-raised", "at": AT, "entry": {"id": "e3"}, "by": "hall"},
    ],
)
def test_what_is_not_a_stored_event_is_a_wire_error(wire: dict[str, Any]) -> None:
    with pytest.raises(WireError):
        event_from_wire(wire)


def test_fields_a_newer_version_added_are_ignored() -> None:
    wire = event_to_wire(HallMuted("thon-4", True, at=AT)) | {"why": "noise"}
    assert event_from_wire(wire) == HallMuted("thon-4", True, at=AT)


def test_a_meeting_opened_before_agendas_existed_reads_back_with_an_empty_agenda() -> None:
    old = {"type": "meeting-opened", "at": AT, "meeting_id": "m-1", "title": "Họp"}
    assert event_from_wire(old) == MeetingOpened("m-1", "Họp", "", at=AT)


def test_a_field_without_a_default_must_still_be_there() -> None:
    with pytest.raises(WireError):
        event_from_wire({"type": "meeting-opened", "at": AT, "title": "Họp"})
