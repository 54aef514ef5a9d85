from rooms.entry import Entry
from rooms.events import (
    ConsentGiven,
    EntryEdited,
    FloorEnded,
    FloorGranted,
    MeetingClosed,
    MeetingOpened,
    ParticipantJoined,
    ParticipantLeft,
    StreamEnded,
    StreamLive,
)
from rooms.history import MeetingHistory


def _entry(entry_id: str, hall: str) -> Entry:
    return Entry(entry_id, hall, "Người dân", "", raised_at=5.0)


def test_history_follows_each_question_from_grant_to_end_with_consent_and_edits() -> None:
    history = MeetingHistory.from_events(
        [
            MeetingOpened("m1", "Họp dân", at=0.0),
            FloorGranted(_entry("e1", "thon-3"), 180, "chair", at=10.0),
            ConsentGiven("e1", True, at=12.0),
            EntryEdited("e1", "Bà Lan", "Đường mới", at=20.0),
            FloorEnded("e1", "thon-3", "chair", "next", at=70.0),
            FloorGranted(_entry("e2", "thon-5"), 180, "chair", at=70.0),
            FloorEnded("e2", "thon-5", "room", "hall-dropped", at=95.0),
            MeetingClosed("m1", at=100.0),
        ]
    )
    first, second = history.questions
    assert (first.name, first.topic, first.granted_at, first.ended_at) == (
        "Bà Lan",
        "Đường mới",
        10.0,
        70.0,
    )
    assert first.recordable and not first.cut
    assert second.cut and not second.recordable  # never answered the consent question
    assert (history.title, history.opened_at, history.closed_at) == ("Họp dân", 0.0, 100.0)


def test_a_hall_is_present_from_its_first_page_to_its_last() -> None:
    history = MeetingHistory.from_events(
        [
            MeetingOpened("m1", "", at=0.0),
            ParticipantJoined("a", "hall", "thon-1", at=1.0),
            ParticipantJoined("b", "hall", "thon-1", at=2.0),
            ParticipantLeft("a", "hall", "thon-1", at=3.0),
            ParticipantLeft("b", "hall", "thon-1", at=4.0),
            ParticipantJoined("c", "hall", "thon-1", at=5.0),
            MeetingClosed("m1", at=9.0),
        ]
    )
    assert [(p.joined_at, p.left_at) for p in history.presence] == [(1.0, 4.0), (5.0, 9.0)]


def test_the_shared_screen_is_known_from_its_stream_and_ends_with_the_meeting() -> None:
    history = MeetingHistory.from_events(
        [
            MeetingOpened("m1", "Tập huấn", at=0.0),
            StreamLive("chair", "c1", None, at=1.0),
            StreamLive("slides", "s1", None, at=10.0),
            StreamLive("slides", "s2", "s1", at=15.0),  # the chair picked another window
            StreamEnded("slides", "s2", at=40.0),
            StreamEnded("hall:thon-1", "h1", at=45.0),  # not the slides: changes nothing
            StreamLive("slides", "s3", None, at=60.0),
            MeetingClosed("m1", at=90.0),
        ]
    )
    assert history.slides == [(10.0, 40.0), (60.0, 90.0)]
    assert [history.slides_at(t) for t in (5.0, 10.0, 39.9, 40.0, 75.0, 90.0)] == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]
