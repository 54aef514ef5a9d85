"""Scheduled meetings, pure: what a valid one is, which one comes next, and the agenda's
way into the meeting's log and its history."""

from __future__ import annotations

import pytest

from rooms import CloseMeeting, OpenMeeting
from rooms.errors import BadValue, UnknownScheduled
from rooms.events import MeetingOpened
from rooms.history import MeetingHistory
from rooms.schedule import (
    AGENDA_LIMIT,
    GRACE,
    LEAD,
    Schedule,
    ScheduledMeeting,
    clean_agenda,
    make_scheduled,
)
from rooms.wire import event_from_wire, event_to_wire
from tests.floor_builders import meeting_room, of_type
from tests.room_builders import T0

HOUR = 3600.0


def planned(meeting_id: str, hours_ahead: float, title: str = "Họp dân") -> ScheduledMeeting:
    return make_scheduled(meeting_id, title, T0 + hours_ahead * HOUR, "", at=T0)


def test_a_scheduled_meeting_keeps_a_clean_title_and_agenda_lines() -> None:
    meeting = make_scheduled(
        "s1", "  Họp\tdân  <b>quý IV</b> ", T0 + HOUR, "1. Đường\r\n\n\n\n2.\u202e Trường\x07", T0
    )
    assert meeting.title == "Họp dân <b>quý IV</b>"  # text, never markup: kept as typed
    assert meeting.agenda == "1. Đường\n\n2. Trường"
    assert meeting.opened_as is None


@pytest.mark.parametrize(
    ("title", "starts_at", "agenda", "field", "reason"),
    [
        ("", T0 + HOUR, "", "title", "needs a title"),
        ("\x00 \u200b", T0 + HOUR, "", "title", "needs a title"),
        ("t" * 121, T0 + HOUR, "", "title", "at most 120"),
        ("Họp", T0 - HOUR, "", "starts_at", "in the past"),
        ("Họp", T0 + 3 * 366 * 86400, "", "starts_at", "two years"),
        ("Họp", float("nan"), "", "starts_at", "finite"),
        ("Họp", float("inf"), "", "starts_at", "finite"),
        ("Họp", T0 + HOUR, "a" * (AGENDA_LIMIT + 1), "agenda", f"at most {AGENDA_LIMIT}"),
    ],
)
def test_a_bad_scheduled_meeting_is_refused_naming_the_field_and_the_reason(
    title: str, starts_at: float, agenda: str, field: str, reason: str
) -> None:
    with pytest.raises(BadValue) as refused:
        make_scheduled("s1", title, starts_at, agenda, at=T0)
    assert refused.value.field == field
    assert reason in str(refused.value)


def test_an_agenda_of_exactly_the_limit_fits() -> None:
    assert len(clean_agenda("a" * AGENDA_LIMIT)) == AGENDA_LIMIT


def test_the_next_meeting_is_the_soonest_one_not_held_and_not_long_past() -> None:
    schedule = Schedule([planned("late", 48), planned("soon", 2), planned("mid", 24)])
    assert [m.id for m in schedule.upcoming(T0)] == ["soon", "mid", "late"]
    assert schedule.next_meeting(T0) == schedule.get("soon")
    # A little after its start it is still next (the chair may be late) ...
    assert schedule.next_meeting(T0 + 2 * HOUR + GRACE - 1) == schedule.get("soon")
    # ... and once that grace is over, the following one is.
    assert schedule.next_meeting(T0 + 2 * HOUR + GRACE) == schedule.get("mid")
    assert Schedule().next_meeting(T0) is None


def test_the_chair_is_offered_the_meeting_only_around_its_start() -> None:
    schedule = Schedule([planned("s1", 1)])
    start = T0 + HOUR
    assert schedule.due(start - LEAD - 1) is None
    assert schedule.due(start - LEAD) == schedule.get("s1")
    assert schedule.due(start + GRACE - 1) == schedule.get("s1")
    assert schedule.due(start + GRACE) is None


def test_a_meeting_opened_while_one_is_due_holds_it_and_the_next_one_comes_up() -> None:
    schedule = Schedule([planned("s1", 1), planned("s2", 30)])
    assert schedule.held("m-early", T0) is None  # nothing is due yet: nothing is held
    held = schedule.held("m-20251128-180000", T0 + HOUR)
    assert held is not None and held.opened_as == "m-20251128-180000"
    assert schedule.next_meeting(T0 + HOUR) == schedule.get("s2")
    with pytest.raises(BadValue):
        schedule.edit("s1", T0 + HOUR, title="Đổi tên")  # held: it is history now


def test_editing_changes_only_the_fields_given_and_checks_them_again() -> None:
    schedule = Schedule([make_scheduled("s1", "Họp", T0 + HOUR, "1. Đường", T0)])
    edited = schedule.edit("s1", T0, title="Họp dân quý IV")
    assert (edited.title, edited.starts_at, edited.agenda) == (
        "Họp dân quý IV",
        T0 + HOUR,
        "1. Đường",
    )
    with pytest.raises(BadValue) as refused:
        schedule.edit("s1", T0, starts_at=T0 - HOUR)
    assert refused.value.field == "starts_at"
    assert schedule.get("s1") == edited  # a refused edit changes nothing
    # A meeting whose start passed can still get its agenda fixed, at its start.
    late = schedule.edit("s1", T0 + HOUR + 600, agenda="1. Đường\n2. Điện")
    assert late.agenda == "1. Đường\n2. Điện"


def test_an_unknown_or_removed_meeting_is_refused() -> None:
    schedule = Schedule([planned("s1", 1)])
    assert schedule.remove("s1").id == "s1"
    with pytest.raises(UnknownScheduled):
        schedule.remove("s1")
    with pytest.raises(UnknownScheduled):
        schedule.edit("s1", T0, title="x")
    with pytest.raises(BadValue):
        Schedule([planned("s2", 1)]).add(planned("s2", 3))


def test_the_title_and_agenda_go_into_the_log_and_the_history() -> None:
    room = meeting_room()
    room.handle(CloseMeeting("chair"), at=T0 + 5)
    events = room.handle(
        OpenMeeting("chair", "Họp dân quý IV", "1. Đường\n\n\n2. Trường\x00"), at=T0 + 10
    )
    (opened,) = of_type(events, MeetingOpened)
    assert (opened.title, opened.agenda) == ("Họp dân quý IV", "1. Đường\n\n2. Trường")
    assert room.snapshot()["meeting"]["agenda"] == "1. Đường\n\n2. Trường"
    stored = event_from_wire(event_to_wire(opened))
    history = MeetingHistory.from_events([stored])
    assert (history.title, history.agenda) == ("Họp dân quý IV", "1. Đường\n\n2. Trường")


def test_a_meeting_with_too_long_an_agenda_is_not_opened() -> None:
    room = meeting_room()
    room.handle(CloseMeeting("chair"), at=T0 + 5)
    with pytest.raises(BadValue) as refused:
        room.handle(OpenMeeting("chair", "Họp", "x" * (AGENDA_LIMIT + 1)), at=T0 + 10)
    assert refused.value.field == "agenda" and room.meeting is None
