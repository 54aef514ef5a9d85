"""(temporary stand-in until the rooms helper's schemas land) WebSocket messages."""

from __future__ import annotations

import msgspec

from rooms import LinkReport


class MessageError(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class Ping(msgspec.Struct, tag="ping", tag_field="type"):
    id: int


class Report(msgspec.Struct, tag="report", tag_field="type"):
    shown: str
    frames: int
    fps: float
    width: int
    height: int
    audio_level: float
    loss: float
    jitter_ms: float
    bitrate_kbps: float
    rtt_ms: float | None = None

    def link_report(self) -> LinkReport:
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


class Raise(msgspec.Struct, tag="raise", tag_field="type"):
    hall: str | None = None
    name: str = ""
    topic: str = ""


class Withdraw(msgspec.Struct, tag="withdraw", tag_field="type"):
    entry: str


class Grant(msgspec.Struct, tag="grant", tag_field="type"):
    entry: str


class End(msgspec.Struct, tag="end", tag_field="type"):
    pass


class Move(msgspec.Struct, tag="move", tag_field="type"):
    entry: str
    position: int


class Mute(msgspec.Struct, tag="mute", tag_field="type"):
    hall: str
    muted: bool


class Extend(msgspec.Struct, tag="extend", tag_field="type"):
    seconds: int = 60


class Edit(msgspec.Struct, tag="edit", tag_field="type"):
    entry: str
    name: str | None = None
    topic: str | None = None


class Consent(msgspec.Struct, tag="consent", tag_field="type"):
    consent: bool


class OpenMeeting(msgspec.Struct, tag="open-meeting", tag_field="type"):
    title: str = ""


class CloseMeeting(msgspec.Struct, tag="close-meeting", tag_field="type"):
    pass


Message = (
    Ping
    | Report
    | Raise
    | Withdraw
    | Grant
    | End
    | Move
    | Mute
    | Extend
    | Edit
    | Consent
    | OpenMeeting
    | CloseMeeting
)
_decoder = msgspec.json.Decoder(Message)


def decode(raw: str | bytes) -> Message:
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise MessageError("bad-field", str(exc)) from None
    except (msgspec.DecodeError, RecursionError):
        raise MessageError("bad-json", "the message is not valid JSON") from None
