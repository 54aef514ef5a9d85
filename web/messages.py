"""Every message a page may send on the WebSocket: one msgspec Struct per `type`, and
`decode`, which turns raw text into one of them or raises MessageError naming what is wrong.

Each floor message knows the room command it asks for (`command(conn_id)`); whether
the sender may do it is the room's business, not the schema's.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from rooms import (
    AddNote,
    AnswerConsent,
    CloseMeeting,
    Command,
    EditEntry,
    EndFloor,
    ExtendFloor,
    GrantFloor,
    LinkReport,
    MoveEntry,
    MuteHall,
    OpenMeeting,
    RaiseHand,
    ScreenReported,
    SetQuestionStatus,
    WithdrawHand,
)
from rooms.commands import StartRecording, StopRecording

from .errors import MessageError
from .recordings import new_recording_id

# Generous bounds: they only keep nonsense (a 100000-fps TV, a 60 kB name) out of the
# room and its log. The room has its own, tighter limits on names (60) and topics (120).
EntryId = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
HallId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Pixels = Annotated[int, msgspec.Meta(ge=0, le=16384)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
Millis = Annotated[float, msgspec.Meta(ge=0, le=600_000)]
Shown = Literal["connecting", "waiting", "live", "reconnecting", "audio", "error"]


class Message(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every client message; unknown extra fields are ignored (newer pages)."""

    def command(self, conn_id: str) -> Command | None:
        """The room command this message asks for, sent by page socket `conn_id`."""
        return None


class PingMessage(Message, tag="ping", frozen=True):
    id: Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]


class ReportMessage(Message, tag="report", frozen=True):
    shown: Shown
    frames: Count
    fps: Annotated[float, msgspec.Meta(ge=0, le=1000)]
    width: Pixels
    height: Pixels
    audio_level: Fraction
    loss: Fraction
    jitter_ms: Millis
    bitrate_kbps: Annotated[float, msgspec.Meta(ge=0, le=10_000_000)]
    rtt_ms: Millis | None = None  # unknown until the bridge's first receiver report

    def to_report(self) -> LinkReport:
        return LinkReport(
            shown=self.shown,
            frames=self.frames,
            fps=self.fps,
            width=self.width,
            height=self.height,
            audio_level=self.audio_level,
            loss=self.loss,
            jitter_ms=self.jitter_ms,
            rtt_ms=self.rtt_ms,
            bitrate_kbps=self.bitrate_kbps,
        )

    def command(self, conn_id: str) -> Command:
        return ScreenReported(conn_id, self.to_report())


class RaiseMessage(Message, tag="raise", frozen=True):
    hall: HallId | None = None  # None: the sender's own hall
    name: Text = ""
    topic: Text = ""

    def command(self, conn_id: str) -> Command:
        return RaiseHand(conn_id, self.hall, self.name, self.topic)


class WithdrawMessage(Message, tag="withdraw", frozen=True):
    entry: EntryId

    def command(self, conn_id: str) -> Command:
        return WithdrawHand(conn_id, self.entry)


class GrantMessage(Message, tag="grant", frozen=True):
    entry: EntryId

    def command(self, conn_id: str) -> Command:
        return GrantFloor(conn_id, self.entry)


class EndMessage(Message, tag="end", frozen=True):
    def command(self, conn_id: str) -> Command:
        return EndFloor(conn_id)


class MoveMessage(Message, tag="move", frozen=True):
    entry: EntryId
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)]  # 0-based, in the whole queue

    def command(self, conn_id: str) -> Command:
        return MoveEntry(conn_id, self.entry, self.position)


class MuteMessage(Message, tag="mute", frozen=True):
    hall: HallId
    muted: bool

    def command(self, conn_id: str) -> Command:
        return MuteHall(conn_id, self.hall, self.muted)


class ExtendMessage(Message, tag="extend", frozen=True):
    seconds: Annotated[int, msgspec.Meta(ge=1, le=600)] = 60

    def command(self, conn_id: str) -> Command:
        return ExtendFloor(conn_id, self.seconds)


class EditMessage(Message, tag="edit", frozen=True):
    entry: EntryId
    name: Text | None = None  # None (or absent): unchanged
    topic: Text | None = None

    def command(self, conn_id: str) -> Command:
        return EditEntry(conn_id, self.entry, self.name, self.topic)


class ConsentMessage(Message, tag="consent", frozen=True):
    consent: bool

    def command(self, conn_id: str) -> Command:
        return AnswerConsent(conn_id, self.consent)


class OpenMeetingMessage(Message, tag="open-meeting", frozen=True):
    title: Text = ""
    agenda: Annotated[str, msgspec.Meta(max_length=4000)] = ""  # the room allows 2000

    def command(self, conn_id: str) -> Command:
        return OpenMeeting(conn_id, self.title, self.agenda)


class CloseMeetingMessage(Message, tag="close-meeting", frozen=True):
    def command(self, conn_id: str) -> Command:
        return CloseMeeting(conn_id)


class RecordStartMessage(Message, tag="record-start", frozen=True):
    def command(self, conn_id: str) -> Command:
        # The id names the recording's folder; the room makes no randomness, so web/ does.
        return StartRecording(conn_id, new_recording_id())


class RecordStopMessage(Message, tag="record-stop", frozen=True):
    def command(self, conn_id: str) -> Command:
        return StopRecording(conn_id)


# The minutes (rooms/minutes.py bounds notes and answers at 2000 characters).
LongText = Annotated[str, msgspec.Meta(max_length=4000)]


class NoteAddMessage(Message, tag="note-add", frozen=True):
    text: LongText

    def command(self, conn_id: str) -> Command:
        return AddNote(conn_id, self.text)


class QuestionStatusMessage(Message, tag="question-status", frozen=True):
    entry: EntryId
    status: Annotated[str, msgspec.Meta(max_length=40)]
    answer: LongText = ""

    def command(self, conn_id: str) -> Command:
        return SetQuestionStatus(conn_id, self.entry, self.status, self.answer)


AnyMessage = (
    PingMessage
    | ReportMessage
    | RaiseMessage
    | WithdrawMessage
    | GrantMessage
    | EndMessage
    | MoveMessage
    | MuteMessage
    | ExtendMessage
    | EditMessage
    | ConsentMessage
    | OpenMeetingMessage
    | CloseMeetingMessage
    | RecordStartMessage
    | RecordStopMessage
    | NoteAddMessage
    | QuestionStatusMessage
)
TYPES = frozenset(
    msgspec.inspect.type_info(cls).tag  # type: ignore[attr-defined]
    for cls in AnyMessage.__args__  # type: ignore[attr-defined]
)


class _TypeOnly(msgspec.Struct):
    type: str


_DECODER = msgspec.json.Decoder(AnyMessage)
_TYPE_DECODER = msgspec.json.Decoder(_TypeOnly)
# msgspec says where a value failed as "... - at `$.field`" or names a missing field.
_AT = re.compile(r"^(?P<detail>.*) - at `\$\.(?P<field>[A-Za-z_]+)")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[A-Za-z_]+)`")


def decode(raw: str | bytes) -> Message:
    """The message in `raw`; MessageError (bad-json, unknown-type, bad-field) otherwise."""
    try:
        return _DECODER.decode(raw)
    except RecursionError:  # JSON nested thousands deep, even inside an ignored field
        raise MessageError("bad-json", "the message is nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise _refusal(raw, str(exc)) from None
    except msgspec.DecodeError:
        raise MessageError("bad-json", "the message is not valid JSON") from None


def _refusal(raw: str | bytes, why: str) -> MessageError:
    missing = _MISSING.match(why)
    at = _AT.match(why)
    field = missing["field"] if missing else at["field"] if at else None
    if field is None:  # nothing to point at: the message is not an object
        return MessageError("bad-json", "the message must be a JSON object")
    if field == "type":
        if why.startswith("Invalid value"):
            kind = _kind(raw)
            return MessageError("unknown-type", f"unknown message type {kind[:40]!r}")
        return MessageError("bad-field", "the message needs a string field 'type'", "type")
    kind = _kind(raw)
    if missing:
        return MessageError("bad-field", f"{kind} needs the field '{field}'", field)
    detail = at["detail"] if at else "not understood"
    return MessageError("bad-field", f"{kind} field '{field}': {detail}", field)


def _kind(raw: str | bytes) -> str:
    """The `type` of a message already known to be a JSON object with a string `type`."""
    try:
        return _TYPE_DECODER.decode(raw).type
    except (msgspec.DecodeError, RecursionError):  # pragma: no cover - checked by the caller
        return "message"
