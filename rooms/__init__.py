"""The meeting as a pure state machine: who is here, what they may do, what happened."""

from rooms.broadcast import Broadcast
from rooms.commands import (
    BroadcastCodecsChanged,
    BroadcastStarted,
    BroadcastStopped,
    Command,
    Connect,
    Disconnect,
    MediaStarted,
    MediaStopped,
    RenditionChanged,
    ScreenReported,
    Tick,
)
from rooms.errors import (
    DuplicateConnection,
    NotPermitted,
    RoomError,
    UnknownConnection,
    UnknownHall,
    UnknownRole,
)
from rooms.events import (
    BroadcastStateChanged,
    Event,
    HallStateChanged,
    ParticipantJoined,
    ParticipantLeft,
    RenditionSwitched,
    ScreenChanged,
)
from rooms.permissions import permissions_for
from rooms.room import Room
from rooms.screen import LinkReport, LinkSample, Verdict

__all__ = [
    "Broadcast",
    "BroadcastCodecsChanged",
    "BroadcastStarted",
    "BroadcastStateChanged",
    "BroadcastStopped",
    "Command",
    "Connect",
    "Disconnect",
    "DuplicateConnection",
    "Event",
    "HallStateChanged",
    "LinkReport",
    "LinkSample",
    "MediaStarted",
    "MediaStopped",
    "NotPermitted",
    "ParticipantJoined",
    "ParticipantLeft",
    "RenditionChanged",
    "RenditionSwitched",
    "Room",
    "ScreenChanged",
    "ScreenReported",
    "Tick",
    "RoomError",
    "UnknownConnection",
    "UnknownHall",
    "UnknownRole",
    "Verdict",
    "permissions_for",
]
