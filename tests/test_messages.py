"""Decoding what pages send on the WebSocket: one schema per message type, clear refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rooms import (
    AddNote,
    AnswerConsent,
    BadValue,
    CloseMeeting,
    EditEntry,
    EndFloor,
    ExtendFloor,
    GrantFloor,
    IllegalMove,
    LinkReport,
    MoveEntry,
    MuteHall,
    NotPermitted,
    OpenMeeting,
    RaiseHand,
    RoomError,
    ScreenReported,
    SetQuestionStatus,
    UnknownConnection,
    UnknownEntry,
    UnknownHall,
    WithdrawHand,
)
from rooms.commands import Command
from rooms.screen import SHOWN_STATES
from web.errors import MessageError
from web.messages import TYPES, PingMessage, ReportMessage, Shown, decode

REPORT: dict[str, Any] = {
    "type": "report",
    "shown": "live",
    "frames": 5120,
    "fps": 29.8,
    "width": 1280,
    "height": 720,
    "audio_level": 0.08,
    "loss": 0.003,
    "jitter_ms": 4.1,
    "rtt_ms": 2.5,
    "bitrate_kbps": 1930.4,
}


def refusal(raw: str | bytes) -> MessageError:
    with pytest.raises(MessageError) as raised:
        decode(raw)
    return raised.value


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ({"type": "raise"}, RaiseHand("c1", None, "", "")),
        (
            {"type": "raise", "hall": "thon-2", "name": "Bà Lan", "topic": "Đường"},
            RaiseHand("c1", "thon-2", "Bà Lan", "Đường"),
        ),
        ({"type": "withdraw", "entry": "e3"}, WithdrawHand("c1", "e3")),
        ({"type": "grant", "entry": "e3"}, GrantFloor("c1", "e3")),
        ({"type": "end"}, EndFloor("c1")),
        ({"type": "move", "entry": "e3", "position": 0}, MoveEntry("c1", "e3", 0)),
        ({"type": "mute", "hall": "thon-4", "muted": True}, MuteHall("c1", "thon-4", True)),
        ({"type": "extend"}, ExtendFloor("c1", 60)),
        ({"type": "extend", "seconds": 30}, ExtendFloor("c1", 30)),
        ({"type": "edit", "entry": "e3", "name": "Ông Tư"}, EditEntry("c1", "e3", "Ông Tư", None)),
        ({"type": "edit", "entry": "e3", "topic": ""}, EditEntry("c1", "e3", None, "")),
        ({"type": "consent", "consent": False}, AnswerConsent("c1", False)),
        ({"type": "open-meeting", "title": "Họp dân"}, OpenMeeting("c1", "Họp dân")),
        ({"type": "open-meeting"}, OpenMeeting("c1", "")),
        ({"type": "close-meeting"}, CloseMeeting("c1")),
        ({"type": "note-add", "text": "Ghi chú"}, AddNote("c1", "Ghi chú")),
        (
            {"type": "question-status", "entry": "e2", "status": "answered", "answer": "Đã sửa"},
            SetQuestionStatus("c1", "e2", "answered", "Đã sửa"),
        ),
        (
            {"type": "question-status", "entry": "e2", "status": "open"},
            SetQuestionStatus("c1", "e2", "open", ""),
        ),
    ],
)
def test_each_floor_message_becomes_its_room_command(
    message: dict[str, Any], command: Command
) -> None:
    assert decode(json.dumps(message)).command("c1") == command


def test_every_message_type_of_the_protocol_has_a_schema() -> None:
    assert TYPES == {
        "ping",
        "report",
        "raise",
        "withdraw",
        "grant",
        "end",
        "move",
        "mute",
        "extend",
        "edit",
        "consent",
        "open-meeting",
        "close-meeting",
        "record-start",
        "record-stop",
        "note-add",
        "question-status",
    }


def test_a_ping_asks_nothing_of_the_room() -> None:
    ping = decode(b'{"type": "ping", "id": 7}')
    assert ping == PingMessage(id=7)
    assert ping.command("c1") is None


def test_a_report_becomes_the_rooms_link_report() -> None:
    report = decode(json.dumps(REPORT))
    assert isinstance(report, ReportMessage)
    expected = LinkReport(**{k: v for k, v in REPORT.items() if k != "type"})
    assert report.command("c1") == ScreenReported("c1", expected)


def test_a_report_may_not_know_its_round_trip_yet() -> None:
    for rtt in ({"rtt_ms": None}, {}):
        message = {k: v for k, v in REPORT.items() if k != "rtt_ms"} | rtt
        report = decode(json.dumps(message))
        assert isinstance(report, ReportMessage) and report.rtt_ms is None


def test_the_shown_states_are_the_rooms() -> None:
    assert set(Shown.__args__) == SHOWN_STATES  # type: ignore[attr-defined]


def test_names_that_look_like_markup_are_plain_text_here() -> None:
    name = "<img src=x onerror=alert(1)>"
    raised = decode(json.dumps({"type": "raise", "name": name}))
    assert raised.command("c1") == RaiseHand("c1", None, name, "")


def test_fields_a_newer_page_adds_are_ignored() -> None:
    assert decode('{"type": "end", "reason": "done", "x": [[1]]}').command("c") == EndFloor("c")


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "{", '{"type": "ping", "id": 1} trailing', b"\xff\xfe", "NaN", "[1]", "7"],
)
def test_what_is_not_a_json_object_is_bad_json(raw: str | bytes) -> None:
    error = refusal(raw)
    assert (error.code, error.field) == ("bad-json", None)


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"type": "end", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type": "ping", "id": 1, "x": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
    ],
)
def test_deep_nesting_is_bad_json_not_a_crash(raw: str) -> None:
    assert refusal(raw).code == "bad-json"


def test_an_unknown_type_is_named_shortly() -> None:
    error = refusal(json.dumps({"type": "kick" + "x" * 1000}))
    assert error.code == "unknown-type"
    assert len(error.message) < 100 and "kick" in error.message


@pytest.mark.parametrize("raw", ["{}", '{"type": 5}', '{"type": null}', '{"id": 1}'])
def test_a_missing_or_non_string_type_is_a_bad_type_field(raw: str) -> None:
    error = refusal(raw)
    assert (error.code, error.field) == ("bad-field", "type")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "ping"}, "id"),
        ({"type": "ping", "id": "7"}, "id"),
        ({"type": "ping", "id": True}, "id"),
        ({"type": "ping", "id": 1.5}, "id"),
        ({"type": "withdraw"}, "entry"),
        ({"type": "withdraw", "entry": ""}, "entry"),
        ({"type": "withdraw", "entry": "e" * 41}, "entry"),
        ({"type": "grant", "entry": 3}, "entry"),
        ({"type": "move", "entry": "e1"}, "position"),
        ({"type": "move", "entry": "e1", "position": -1}, "position"),
        ({"type": "mute", "hall": "thon-1"}, "muted"),
        ({"type": "mute", "hall": "thon-1", "muted": "yes"}, "muted"),
        ({"type": "mute", "muted": True}, "hall"),
        ({"type": "extend", "seconds": 0}, "seconds"),
        ({"type": "extend", "seconds": 601}, "seconds"),
        ({"type": "consent", "consent": 1}, "consent"),
        ({"type": "raise", "name": "x" * 1001}, "name"),
        ({"type": "raise", "topic": ["a"]}, "topic"),
        ({"type": "raise", "hall": ""}, "hall"),
        ({"type": "edit", "entry": "e1", "name": 5}, "name"),
        ({"type": "open-meeting", "title": {"a": 1}}, "title"),
    ],
)
def test_a_bad_field_is_named(message: dict[str, Any], field: str) -> None:
    error = refusal(json.dumps(message))
    assert (error.code, error.field) == ("bad-field", field)
    assert f"'{field}'" in error.message
    assert error.to_wire() == {
        "type": "error",
        "code": "bad-field",
        "message": error.message,
        "field": field,
    }


# The report's ranges, as web/ws.py's _REPORT_FIELDS had them: (field, too low, too high).
REPORT_RANGES = [
    ("frames", -1, 2**53 + 1),
    ("fps", -0.1, 1000.1),
    ("width", -1, 16385),
    ("height", -1, 16385),
    ("audio_level", -0.01, 1.01),
    ("loss", -0.01, 1.01),
    ("jitter_ms", -1, 600_001),
    ("rtt_ms", -1, 600_001),
    ("bitrate_kbps", -1, 10_000_001),
]


@pytest.mark.parametrize(("field", "low", "high"), REPORT_RANGES)
def test_a_report_field_out_of_range_or_of_the_wrong_kind_is_named(
    field: str, low: float, high: float
) -> None:
    for value in (low, high, "1", True, [1], "HUGE"):
        # 1e400 is valid JSON but no finite number (json.dumps would write Infinity).
        raw = json.dumps(REPORT | {field: value}).replace('"HUGE"', "1e400")
        error = refusal(raw)
        assert (error.code, error.field) == ("bad-field", field), value
    if field != "rtt_ms":  # the one field a report may leave out
        missing = {k: v for k, v in REPORT.items() if k != field}
        assert refusal(json.dumps(missing)).field == field


@pytest.mark.parametrize("field", ["frames", "width", "height"])
def test_report_counts_must_be_whole(field: str) -> None:
    assert refusal(json.dumps(REPORT | {field: 1.5})).field == field


def test_a_report_with_an_unknown_shown_state_is_refused() -> None:
    error = refusal(json.dumps(REPORT | {"shown": "dancing"}))
    assert (error.code, error.field) == ("bad-field", "shown")


def test_no_error_reply_carries_a_field_unless_it_names_one() -> None:
    assert refusal("nope").to_wire() == {
        "type": "error",
        "code": "bad-json",
        "message": "the message is not valid JSON",
    }


@pytest.mark.parametrize(
    ("error", "wire"),
    [
        (NotPermitted("role 'hall' may not grant floor"), ("forbidden", None)),
        (UnknownHall("no hall 'thon-9'"), ("not-found", None)),
        (UnknownEntry("no entry 'e9'"), ("not-found", None)),
        (IllegalMove("entry e3 was withdrawn"), ("refused", None)),
        (BadValue("name", "name is 61 characters long"), ("refused", "name")),
        (UnknownConnection("no open connection 'c9'"), ("forbidden", None)),
    ],
)
def test_each_room_refusal_has_its_wire_code(
    error: RoomError, wire: tuple[str, str | None]
) -> None:
    reply = MessageError.from_room(error)
    assert (reply.code, reply.field) == wire
    assert reply.message == str(error)
