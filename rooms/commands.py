"""What `web/` asks of the room: one frozen dataclass per command, handled by Room.handle."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.screen import LinkReport


@dataclass(frozen=True)
class Command:
    """Base of every command; carries no time, the caller passes `at=` to Room.handle."""


@dataclass(frozen=True)
class Connect(Command):
    """A page's WebSocket came up."""

    conn_id: str
    role: str
    hall_id: str | None = None


@dataclass(frozen=True)
class Disconnect(Command):
    """A page's WebSocket went away."""

    conn_id: str


@dataclass(frozen=True)
class MediaStarted(Command):
    """A watching (WHEP) session is up and media flows to it."""

    session_id: str
    role: str
    hall_id: str | None = None


@dataclass(frozen=True)
class MediaStopped(Command):
    """A watching (WHEP) session ended."""

    session_id: str


@dataclass(frozen=True)
class BroadcastStarted(Command):
    """The chair's publishing (WHIP) session is up; it replaces any earlier one."""

    session_id: str
    role: str
    video_codec: str | None
    audio_codec: str | None


@dataclass(frozen=True)
class BroadcastStopped(Command):
    """A publishing (WHIP) session ended; ignored unless it is the current one."""

    session_id: str


@dataclass(frozen=True)
class BroadcastCodecsChanged(Command):
    """The current publishing session's tracks changed: the bridge sets them up one at a
    time, in the order the publisher offered them (OBS and FFmpeg offer audio first)."""

    session_id: str
    video_codec: str | None
    audio_codec: str | None


@dataclass(frozen=True)
class ScreenReported(Command):
    """A hall page said what its TV rendered and how its link looks."""

    conn_id: str
    report: LinkReport


@dataclass(frozen=True)
class RenditionChanged(Command):
    """A watching session now gets another rendition of the chair's camera."""

    session_id: str
    rendition: str  # one of rooms.room.RENDITIONS


@dataclass(frozen=True)
class Tick(Command):
    """Time passed: lets a TV that stopped reporting, or stopped moving, be judged."""
