"""Why the room refused a command. `web/` maps these to wire replies in one place.

RoomError                the room refused the command and changed nothing
├── UnknownRole          a role name that is not in the permission table
├── NotPermitted         the role lacks the permission, or may not act for that hall
│   └── UnknownHall      a hall id that is not one of this room's halls
├── UnknownConnection    a connection or session id the room does not know
├── DuplicateConnection  a connection or session id that is already in use
├── UnknownEntry         a queue entry id that never existed in this meeting
├── IllegalMove          allowed for the role, but not now (a withdrawn entry, no floor…)
├── BadValue             a value the room cannot take (too long a name); names `field`
└── UnknownScheduled     a scheduled meeting id that is not (or no longer) planned
"""

from __future__ import annotations


class RoomError(Exception):
    """A refused command. The room is exactly as it was before the command."""


class UnknownRole(RoomError):
    pass


class NotPermitted(RoomError):
    pass


class UnknownHall(NotPermitted):
    # A NotPermitted too: a key that names a hall outside the room may not act for it,
    # while web/ can still catch this first to answer 404 instead of 403.
    pass


class UnknownConnection(RoomError):
    pass


class DuplicateConnection(RoomError):
    pass


class UnknownEntry(RoomError):
    pass


class IllegalMove(RoomError):
    pass


class BadValue(RoomError):
    """A value out of bounds; `field` is the wire name of the field it came in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownScheduled(RoomError):
    pass
