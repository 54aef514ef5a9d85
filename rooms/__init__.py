"""The meeting as a pure state machine: who is here, what they may do, what happened."""

from rooms.broadcast import Broadcast
from rooms.commands import (
    BroadcastStarted,
    BroadcastStopped,
    Command,
    Connect,
    Disconnect,
    MediaStarted,
    MediaStopped,
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
)
from rooms.permissions import permissions_for
from rooms.room import Room

__all__ = [
    "Broadcast",
    "BroadcastStarted",
    "BroadcastStateChanged",
    "BroadcastStopped",
    "Command",
    "Connect",
    "Disconnect",
    "DuplicateConnection",
    "Event",
    "HallStateChanged",
    "MediaStarted",
    "MediaStopped",
    "NotPermitted",
    "ParticipantJoined",
    "ParticipantLeft",
    "Room",
    "RoomError",
    "UnknownConnection",
    "UnknownHall",
    "UnknownRole",
    "permissions_for",
]
