"""The secretary's notes, each question's status and the halls' link quality, in the room."""

from __future__ import annotations

import json

import pytest

from rooms import (
    AddNote,
    BadValue,
    CloseMeeting,
    Connect,
    Disconnect,
    EndFloor,
    HallsPresent,
    IllegalMove,
    LinkQuality,
    LinkReport,
    MeetingOpened,
    NoteAdded,
    NotPermitted,
    QuestionStatusSet,
    ScreenReported,
    SetQuestionStatus,
    UnknownEntry,
    event_from_wire,
    event_to_wire,
    is_persisted,
)
from rooms.history import MeetingHistory
from rooms.minutes import NOTE_LIMIT, rating
from tests.floor_builders import floor_room, meeting_room
from tests.room_builders import T0


def test_the_secretary_adds_a_note_cleaned_to_one_line_and_numbered() -> None:
    room = meeting_room()
    events = room.handle(AddNote("secretary", "  Thôn 2\nhỏi về\x07 đường  "), at=T0 + 5)
    assert events == [NoteAdded("n1", "Thôn 2 hỏi về đường", "secretary", at=T0 + 5)]
    second = room.handle(AddNote("chair", "<script>x</script>"), at=T0 + 6)
    assert second == [NoteAdded("n2", "<script>x</script>", "chair", at=T0 + 6)]
    assert [n["id"] for n in room.snapshot_for("secretary", None)["minutes"]["notes"]] == [
        "n1",
        "n2",
    ]


def test_an_empty_or_overlong_note_is_refused_naming_the_field() -> None:
    room = meeting_room()
    with pytest.raises(BadValue, match="empty") as empty:
        room.handle(AddNote("secretary", " \n\t\u200b "), at=T0 + 5)
    assert empty.value.field == "text"
    with pytest.raises(BadValue, match="at most 2000"):
        room.handle(AddNote("secretary", "x" * (NOTE_LIMIT + 1)), at=T0 + 5)


def test_halls_and_viewers_may_not_keep_the_minutes() -> None:
    room = floor_room()
    for conn_id in ("thon-1", "viewer"):
        with pytest.raises(NotPermitted):
            room.handle(AddNote(conn_id, "hello"), at=T0 + 5)
        with pytest.raises(NotPermitted):
            room.handle(SetQuestionStatus(conn_id, "e2", "answered"), at=T0 + 5)
    assert "minutes" not in room.snapshot_for("hall", "thon-1")
    assert "minutes" not in room.snapshot_for("viewer", None)


def test_a_question_that_had_the_floor_gets_a_status_and_an_answer() -> None:
    room = floor_room()  # e2 holds the floor
    events = room.handle(
        SetQuestionStatus("secretary", "e2", "follow-up", " Xã sẽ\nkiểm tra "), at=T0 + 9
    )
    assert events == [
        QuestionStatusSet("e2", "follow-up", "Xã sẽ kiểm tra", "secretary", at=T0 + 9)
    ]
    # The same status and answer again change nothing, and log nothing.
    assert (
        room.handle(SetQuestionStatus("chair", "e2", "follow-up", "Xã sẽ kiểm tra"), T0 + 10) == []
    )
    question = room.snapshot_for("secretary", None)["minutes"]["questions"][0]
    assert (question["entry"], question["status"], question["answer"]) == (
        "e2",
        "follow-up",
        "Xã sẽ kiểm tra",
    )


def test_a_status_names_its_reason_when_refused() -> None:
    room = floor_room()
    with pytest.raises(BadValue, match="not one of") as bad:
        room.handle(SetQuestionStatus("secretary", "e2", "done"), at=T0 + 9)
    assert bad.value.field == "status"
    # e1 is still in the queue: it has not been asked yet.
    with pytest.raises(UnknownEntry, match="had the floor"):
        room.handle(SetQuestionStatus("secretary", "e1", "answered"), at=T0 + 9)
    with pytest.raises(BadValue, match="answer"):
        room.handle(SetQuestionStatus("secretary", "e2", "answered", "x" * 2001), at=T0 + 9)


def test_notes_and_statuses_need_an_open_meeting() -> None:
    room = floor_room()
    room.handle(CloseMeeting("chair"), at=T0 + 20)
    with pytest.raises(IllegalMove, match="no meeting"):
        room.handle(AddNote("secretary", "late"), at=T0 + 21)
    with pytest.raises(IllegalMove):
        room.handle(SetQuestionStatus("secretary", "e2", "answered"), at=T0 + 21)


def test_notes_statuses_and_numbering_survive_a_restart() -> None:
    room = floor_room()
    room.handle(AddNote("secretary", "một"), at=T0 + 5)
    room.handle(SetQuestionStatus("secretary", "e2", "answered", "Đã sửa"), at=T0 + 6)
    fresh = room.restarted()
    fresh.handle(Connect("secretary", "secretary"), at=T0 + 7)
    minutes = fresh.snapshot_for("secretary", None)["minutes"]
    assert [n["text"] for n in minutes["notes"]] == ["một"]
    assert minutes["questions"][0]["status"] == "answered"
    assert fresh.handle(AddNote("secretary", "hai"), at=T0 + 7)[0] == NoteAdded(
        "n2", "hai", "secretary", at=T0 + 7
    )


def test_closing_the_meeting_sums_up_each_reporting_halls_link() -> None:
    room = floor_room()
    for n, (loss, rtt) in enumerate([(0.0, 40.0), (0.1, 60.0)]):
        report = LinkReport("live", 25 * n, 25.0, 1280, 720, 0.1, loss, 5.0, rtt, 1500.0)
        room.handle(ScreenReported("thon-1", report), at=T0 + 10 + 2 * n)
    room.handle(EndFloor("chair"), at=T0 + 15)
    events = room.handle(CloseMeeting("chair"), at=T0 + 20)
    links = [e for e in events if isinstance(e, LinkQuality)]
    assert links == [LinkQuality("thon-1", 2, 25.0, 0.05, 0.1, 50.0, "poor", at=T0 + 20)]
    history = MeetingHistory.from_events(room.events)
    assert history.links["thon-1"].rating == "poor"
    assert history.closed_at == T0 + 20


def test_a_link_is_rated_as_the_chair_console_rates_it() -> None:
    assert rating(0.0, 20.0) == "good"
    assert rating(0.0, None) == "good"
    assert rating(0.03, 20.0) == "fair"
    assert rating(0.0, 200.0) == "fair"
    assert rating(0.0, 500.0) == "poor"


def test_history_carries_notes_and_each_questions_status() -> None:
    room = floor_room()
    room.handle(AddNote("secretary", "Ghi chú"), at=T0 + 5)
    room.handle(SetQuestionStatus("chair", "e2", "forwarded", "Gửi huyện"), at=T0 + 6)
    history = MeetingHistory.from_events(room.events)
    assert [(n.note_id, n.text, n.by, n.at) for n in history.notes] == [
        ("n1", "Ghi chú", "secretary", T0 + 5)
    ]
    question = history.question("e2")
    assert question is not None
    assert (question.status, question.answer) == ("forwarded", "Gửi huyện")


def test_halls_already_connected_when_the_meeting_opens_count_as_present_from_the_start() -> None:
    room = meeting_room()  # every page connected before the chair opened the meeting
    opened = [e for e in room.events if isinstance(e, HallsPresent)]
    assert opened == [
        HallsPresent((("thon-1", "thon-1"), ("thon-2", "thon-2"), ("thon-3", "thon-3")), at=T0)
    ]
    room.handle(Disconnect("thon-2"), at=T0 + 30)
    room.handle(CloseMeeting("chair"), at=T0 + 60)
    # Read back through the wire, as the minutes read the log.
    logged = [
        event_from_wire(json.loads(json.dumps(event_to_wire(e))))
        for e in room.events
        if is_persisted(e)
    ]
    opening = logged.index(next(e for e in logged if isinstance(e, MeetingOpened)))
    history = MeetingHistory.from_events(logged[opening:])
    assert [(p.hall_id, p.joined_at, p.left_at) for p in history.presence] == [
        ("thon-1", T0, T0 + 60),
        ("thon-2", T0, T0 + 30),
        ("thon-3", T0, T0 + 60),
    ]
