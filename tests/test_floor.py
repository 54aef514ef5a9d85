"""The raised-hand queue and the floor: who may do what, and what each move leaves behind."""

from __future__ import annotations

import pytest

from rooms import (
    AnswerConsent,
    BadValue,
    CloseMeeting,
    Command,
    ConsentGiven,
    EditEntry,
    EndFloor,
    ExtendFloor,
    FloorEnded,
    FloorGranted,
    GrantFloor,
    HandRaised,
    IllegalMove,
    MoveEntry,
    MuteHall,
    NotPermitted,
    OpenMeeting,
    RaiseHand,
    RoomError,
    UnknownConnection,
    UnknownEntry,
    UnknownHall,
    WithdrawHand,
)
from tests.floor_builders import durable, floor_room, meeting_room, of_type
from tests.room_builders import T0

OK = None

# Each move from each kind of page, with floor_room's state: queue [e1 (Thôn 1),
# e3 (Thôn 1)], Thôn 2 holding the floor with e2. OK, or the refusal expected.
MOVES: list[tuple[str, Command, type[RoomError] | None]] = [
    # raise for the own hall: a hall only; the chair has no own hall and must name one
    ("thon-1", RaiseHand("thon-1"), OK),
    ("chair", RaiseHand("chair"), BadValue),
    ("secretary", RaiseHand("secretary"), NotPermitted),
    ("viewer", RaiseHand("viewer"), NotPermitted),
    # raise for another hall: the chair only
    ("chair", RaiseHand("chair", "thon-3"), OK),
    ("thon-1", RaiseHand("thon-1", "thon-3"), NotPermitted),
    ("secretary", RaiseHand("secretary", "thon-3"), NotPermitted),
    ("viewer", RaiseHand("viewer", "thon-3"), NotPermitted),
    ("chair", RaiseHand("chair", "thon-9"), UnknownHall),
    # withdraw Thôn 1's entry: Thôn 1 or the chair, nobody else
    ("thon-1", WithdrawHand("thon-1", "e1"), OK),
    ("chair", WithdrawHand("chair", "e1"), OK),
    ("thon-3", WithdrawHand("thon-3", "e1"), NotPermitted),
    ("secretary", WithdrawHand("secretary", "e1"), NotPermitted),
    ("viewer", WithdrawHand("viewer", "e1"), NotPermitted),
    # grant: the chair only
    ("chair", GrantFloor("chair", "e1"), OK),
    ("thon-1", GrantFloor("thon-1", "e1"), NotPermitted),
    ("secretary", GrantFloor("secretary", "e1"), NotPermitted),
    ("viewer", GrantFloor("viewer", "e1"), NotPermitted),
    # end: the chair, or the hall holding the floor
    ("chair", EndFloor("chair"), OK),
    ("thon-2", EndFloor("thon-2"), OK),
    ("thon-1", EndFloor("thon-1"), NotPermitted),
    ("secretary", EndFloor("secretary"), NotPermitted),
    ("viewer", EndFloor("viewer"), NotPermitted),
    # move, mute, extend: the chair only
    ("chair", MoveEntry("chair", "e3", 0), OK),
    ("thon-1", MoveEntry("thon-1", "e3", 0), NotPermitted),
    ("secretary", MoveEntry("secretary", "e3", 0), NotPermitted),
    ("viewer", MoveEntry("viewer", "e3", 0), NotPermitted),
    ("chair", MuteHall("chair", "thon-2", True), OK),
    ("thon-2", MuteHall("thon-2", "thon-2", True), NotPermitted),
    ("secretary", MuteHall("secretary", "thon-2", True), NotPermitted),
    ("viewer", MuteHall("viewer", "thon-2", True), NotPermitted),
    ("chair", MuteHall("chair", "thon-9", True), UnknownHall),
    ("chair", ExtendFloor("chair", 60), OK),
    ("thon-2", ExtendFloor("thon-2", 60), NotPermitted),
    ("secretary", ExtendFloor("secretary", 60), NotPermitted),
    ("viewer", ExtendFloor("viewer", 60), NotPermitted),
    # edit: the chair and the secretary
    ("chair", EditEntry("chair", "e1", "Bà Lan", None), OK),
    ("secretary", EditEntry("secretary", "e1", None, "Trường học"), OK),
    ("secretary", EditEntry("secretary", "e2", "Ông Tư", None), OK),  # the speaker too
    ("thon-1", EditEntry("thon-1", "e1", "Bà Lan", None), NotPermitted),
    ("viewer", EditEntry("viewer", "e1", "Bà Lan", None), NotPermitted),
    # consent: the hall holding the floor only
    ("thon-2", AnswerConsent("thon-2", True), OK),
    ("thon-1", AnswerConsent("thon-1", True), NotPermitted),
    ("chair", AnswerConsent("chair", True), NotPermitted),
    ("secretary", AnswerConsent("secretary", True), NotPermitted),
    ("viewer", AnswerConsent("viewer", False), NotPermitted),
    # the meeting: the chair only
    ("chair", OpenMeeting("chair"), IllegalMove),  # one is open already
    ("thon-1", OpenMeeting("thon-1"), NotPermitted),
    ("chair", CloseMeeting("chair"), OK),
    ("secretary", CloseMeeting("secretary"), NotPermitted),
    ("thon-1", CloseMeeting("thon-1"), NotPermitted),
    ("viewer", CloseMeeting("viewer"), NotPermitted),
]


@pytest.mark.parametrize(
    ("sender", "command", "refusal"),
    MOVES,
    ids=[f"{sender}-{type(cmd).__name__}-{i}" for i, (sender, cmd, _) in enumerate(MOVES)],
)
def test_each_move_from_each_page_is_allowed_or_refused_by_its_permissions(
    sender: str, command: Command, refusal: type[RoomError] | None
) -> None:
    room = floor_room()
    before = room.snapshot()
    if refusal is None:
        assert room.handle(command, at=T0 + 10)
        return
    with pytest.raises(refusal) as raised:
        room.handle(command, at=T0 + 10)
    assert str(raised.value)  # every refusal says why
    assert room.snapshot() == before  # and changes nothing


def test_a_move_from_a_socket_the_room_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownConnection):
        floor_room().handle(GrantFloor("ghost", "e1"), at=T0 + 10)


# -- the queue --------------------------------------------------------------------------


def test_one_press_raises_a_hand_with_the_default_name_at_the_end_of_the_queue() -> None:
    room = floor_room()
    (raised,) = room.handle(RaiseHand("thon-3"), at=T0 + 10)
    assert isinstance(raised, HandRaised)
    assert (raised.entry.id, raised.entry.hall_id, raised.entry.name) == (
        "e4",
        "thon-3",
        "Người dân",
    )
    assert raised.by == "hall"
    assert [(e["id"], e["position"]) for e in room.snapshot()["queue"]] == [
        ("e1", 1),
        ("e3", 2),
        ("e4", 3),
    ]


def test_a_hall_sees_its_own_entries_with_their_place_in_the_whole_queue() -> None:
    room = floor_room()
    room.handle(MoveEntry("chair", "e3", 0), at=T0 + 10)
    room.handle(RaiseHand("thon-3"), at=T0 + 11)
    assert [(e["id"], e["position"]) for e in room.snapshot_for("hall", "thon-3")["queue"]] == [
        ("e4", 3)
    ]
    assert [e["id"] for e in room.snapshot_for("hall", "thon-1")["queue"]] == ["e3", "e1"]
    assert room.snapshot_for("viewer", None)["queue"] == []
    assert room.snapshot_for("viewer", None)["floor"]["hall"] == "thon-2"
    assert len(room.snapshot_for("secretary", None)["queue"]) == 3


def test_a_hall_may_queue_several_hands_but_not_flood_the_queue() -> None:
    room = meeting_room()
    for n in range(5):
        room.handle(RaiseHand("thon-1"), at=T0 + n)
    with pytest.raises(IllegalMove, match="already has 5 hands"):
        room.handle(RaiseHand("thon-1"), at=T0 + 9)


def test_moving_an_entry_puts_it_at_that_index() -> None:
    room = meeting_room()
    for n in range(4):
        room.handle(RaiseHand("chair", f"thon-{n % 3 + 1}"), at=T0 + n)
    room.handle(MoveEntry("chair", "e4", 1), at=T0 + 9)
    assert [e.id for e in room.queue] == ["e1", "e4", "e2", "e3"]
    assert room.handle(MoveEntry("chair", "e4", 1), at=T0 + 10) == []  # already there
    with pytest.raises(BadValue) as raised:
        room.handle(MoveEntry("chair", "e4", 4), at=T0 + 10)
    assert raised.value.field == "position"


def test_withdrawing_the_entry_that_holds_the_floor_is_refused() -> None:
    with pytest.raises(IllegalMove, match="holds the floor"):
        floor_room().handle(WithdrawHand("chair", "e2"), at=T0 + 10)


def test_nothing_moves_without_an_open_meeting() -> None:
    room = floor_room()
    room.handle(CloseMeeting("chair"), at=T0 + 10)
    for command in (
        RaiseHand("thon-1"),
        GrantFloor("chair", "e1"),
        MuteHall("chair", "thon-1", True),
        CloseMeeting("chair"),
    ):
        with pytest.raises(IllegalMove, match="no meeting is open"):
            room.handle(command, at=T0 + 11)


# -- granting ---------------------------------------------------------------------------


def test_granting_a_withdrawn_entry_is_refused_naming_why() -> None:
    room = floor_room()
    room.handle(WithdrawHand("thon-1", "e1"), at=T0 + 10)
    with pytest.raises(IllegalMove, match="e1 was withdrawn"):
        room.handle(GrantFloor("chair", "e1"), at=T0 + 11)


def test_granting_an_entry_that_already_spoke_is_refused_naming_why() -> None:
    room = floor_room()
    room.handle(EndFloor("chair"), at=T0 + 10)
    with pytest.raises(IllegalMove, match="e2 already had the floor"):
        room.handle(GrantFloor("chair", "e2"), at=T0 + 11)


def test_granting_an_entry_that_never_was_is_unknown() -> None:
    with pytest.raises(UnknownEntry, match="no entry 'e99'"):
        floor_room().handle(GrantFloor("chair", "e99"), at=T0 + 10)


def test_two_grants_in_a_row_leave_exactly_one_floor() -> None:
    room = floor_room()
    first = room.handle(GrantFloor("chair", "e1"), at=T0 + 10)
    second = room.handle(GrantFloor("chair", "e3"), at=T0 + 10)
    assert of_type(first, FloorEnded) == [FloorEnded("e2", "thon-2", "chair", "next", at=T0 + 10)]
    assert of_type(second, FloorEnded) == [FloorEnded("e1", "thon-1", "chair", "next", at=T0 + 10)]
    assert [g.entry.id for g in of_type(second, FloorGranted)] == ["e3"]
    assert room.floor is not None and room.floor.entry.id == "e3"
    assert room.queue == ()
    assert room.routing().floor_hall == "thon-1"


def test_a_hall_ends_its_own_floor() -> None:
    room = floor_room()
    events = room.handle(EndFloor("thon-2"), at=T0 + 10)
    assert of_type(events, FloorEnded) == [FloorEnded("e2", "thon-2", "hall", "ended", at=T0 + 10)]
    assert room.floor is None
    with pytest.raises(IllegalMove, match="nobody holds the floor"):
        room.handle(EndFloor("chair"), at=T0 + 11)


def test_closing_the_meeting_ends_the_floor_and_empties_the_queue() -> None:
    room = floor_room()
    room.handle(MuteHall("chair", "thon-1", True), at=T0 + 9)
    events = room.handle(CloseMeeting("chair"), at=T0 + 10)
    assert of_type(events, FloorEnded)[0].reason == "meeting-closed"
    assert room.log_meeting(events) == "m-20251128-170000"
    assert durable(room) == {"meeting": None, "queue": [], "floor": None, "muted": []}


def test_a_meeting_reopened_in_the_same_second_gets_a_new_id() -> None:
    room = meeting_room()
    room.handle(CloseMeeting("chair"), at=T0)
    room.handle(OpenMeeting("chair"), at=T0)
    assert room.meeting is not None and room.meeting.id == "m-20251128-170000-2"


# -- names and topics are cleaned data, never markup -------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("  Bà   Nguyễn\tThị\nLan  ", "Bà Nguyễn Thị Lan"),
        ("Ông\x00 Ba\x07\x1b[31m", "Ông Ba[31m"),
        ("\u202eabc\u200b", "abc"),  # a bidi override and a zero-width space
        ("Nguye\u0302\u0303n", "Nguyễn"),  # combining marks become one letter (NFC)
        ("\x00\x01  \n", "Người dân"),  # nothing left: the default name
        ("x" * 60, "x" * 60),
    ],
)
def test_names_are_cleaned_and_kept_as_text(typed: str, kept: str) -> None:
    room = meeting_room()
    (raised,) = of_type(
        room.handle(RaiseHand("thon-1", None, typed, typed[:120]), at=T0 + 1), HandRaised
    )
    assert raised.entry.name == kept
    assert room.snapshot()["queue"][0]["name"] == kept


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (RaiseHand("thon-1", None, "x" * 61), "name"),
        (RaiseHand("thon-1", None, "", "y" * 121), "topic"),
        (EditEntry("secretary", "e1", "z" * 61, None), "name"),
        (EditEntry("secretary", "e1", None, "z" * 121), "topic"),
        (OpenMeeting("chair", "t" * 121), "title"),
        (ExtendFloor("chair", 0), "seconds"),
        (ExtendFloor("chair", 601), "seconds"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_its_field(command: Command, field: str) -> None:
    room = floor_room()
    if isinstance(command, OpenMeeting):
        room.handle(CloseMeeting("chair"), at=T0 + 9)
    before = room.snapshot()
    with pytest.raises(BadValue) as raised:
        room.handle(command, at=T0 + 10)
    assert raised.value.field == field
    assert field in str(raised.value)
    assert room.snapshot() == before


def test_an_empty_topic_is_allowed_and_an_edit_of_nothing_changes_nothing() -> None:
    room = floor_room()
    assert room.handle(EditEntry("secretary", "e1", "Ông Ba", None), at=T0 + 10) == []
    room.handle(EditEntry("secretary", "e1", None, "   "), at=T0 + 11)
    assert room.queue[0].topic == ""


# -- consent, mutes, time ----------------------------------------------------------------


def test_the_hall_on_the_floor_answers_the_consent_question_once_per_answer() -> None:
    room = floor_room()
    assert room.snapshot()["floor"]["consent"] is None
    events = room.handle(AnswerConsent("thon-2", False), at=T0 + 10)
    assert events == [ConsentGiven("e2", False, at=T0 + 10)]
    assert room.handle(AnswerConsent("thon-2", False), at=T0 + 11) == []
    assert room.snapshot()["floor"]["consent"] is False


def test_a_muted_hall_stays_muted_across_turns_until_unmuted() -> None:
    room = floor_room()
    room.handle(MuteHall("chair", "thon-1", True), at=T0 + 10)
    assert room.handle(MuteHall("chair", "thon-1", True), at=T0 + 11) == []
    room.handle(GrantFloor("chair", "e1"), at=T0 + 12)
    assert room.snapshot()["floor"]["muted"] is True
    assert room.snapshot()["muted"] == ["thon-1"]
    room.handle(MuteHall("chair", "thon-1", False), at=T0 + 13)
    assert room.routing().muted == frozenset()
