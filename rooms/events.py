"""What happened in the room: frozen dataclasses, each stamped with the `at` of its command."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. `at` is keyword-only so it comes last in every constructor."""

    at: float


@dataclass(frozen=True)
class ParticipantJoined(Event):
    conn_id: str
    role: str
    hall_id: str | None


@dataclass(frozen=True)
class ParticipantLeft(Event):
    conn_id: str
    role: str
    hall_id: str | None


@dataclass(frozen=True)
class HallStateChanged(Event):
    """Only emitted when the hall's derived presence really changes."""

    hall_id: str
    old: str
    new: str


@dataclass(frozen=True)
class BroadcastStateChanged(Event):
    """The broadcast as it is after the change; `replaced` when a new publisher took over."""

    live: bool
    session_id: str | None
    video_codec: str | None
    audio_codec: str | None
    replaced: bool


@dataclass(frozen=True)
class ScreenChanged(Event):
    """What a hall's TV shows changed: `picture` and `sound` as rooms/screen.py names them."""

    hall_id: str
    picture: str
    sound: str


@dataclass(frozen=True)
class RenditionSwitched(Event):
    """A hall's TV now gets the chair's camera in `rendition` ("full" or "light")."""

    hall_id: str
    rendition: str
