"""A meeting under way for the floor tests: every kind of page connected, halls publishing."""

from __future__ import annotations

from typing import Any

from rooms import (
    Command,
    Connect,
    Event,
    GrantFloor,
    OpenMeeting,
    PublishStarted,
    RaiseHand,
    Room,
    WithdrawHand,
    event_from_wire,
    event_to_wire,
    is_persisted,
)
from tests.room_builders import HALLS, T0

# conn id -> (role, hall)
PAGES: dict[str, tuple[str, str | None]] = {
    "chair": ("chair", None),
    "secretary": ("secretary", None),
    "viewer": ("viewer", None),
    "thon-1": ("hall", "thon-1"),
    "thon-2": ("hall", "thon-2"),
    "thon-3": ("hall", "thon-3"),
}


class LoggedRoom(Room):
    """A Room that keeps what it emitted, as web/ does in the event log."""

    def __init__(self, speaking_limit: int = 180) -> None:
        super().__init__("Xã Trực Khang", HALLS, speaking_limit)
        self.events: list[Event] = []

    def handle(self, command: Command, at: float) -> list[Event]:
        events = super().handle(command, at)
        self.events += events
        return events

    def restarted(self) -> Room:
        """A fresh room fed what the log kept, read back through the wire shape."""
        fresh = Room("Xã Trực Khang", HALLS, self._floor.speaking_limit)
        fresh.replay(event_from_wire(event_to_wire(e)) for e in self.events if is_persisted(e))
        return fresh


def meeting_room(*, speaking_limit: int = 180) -> LoggedRoom:
    """A room with every page connected, every hall's camera live and a meeting open at T0."""
    room = LoggedRoom(speaking_limit)
    for conn_id, (role, hall) in PAGES.items():
        room.handle(Connect(conn_id, role, hall), at=T0)
        if hall is not None:
            room.handle(PublishStarted(f"pub-{hall}", role, hall, "VP8", "opus", T0), at=T0)
    room.handle(OpenMeeting("chair", "Họp dân quý IV"), at=T0)
    return room


def floor_room() -> LoggedRoom:
    """meeting_room with e1 (Thôn 1), e2 (Thôn 2), e3 (Thôn 1) raised, and e2 on the floor."""
    room = meeting_room()
    room.handle(RaiseHand("thon-1", None, "Ông Ba", "Đường mới"), at=T0 + 1)
    room.handle(RaiseHand("thon-2", None), at=T0 + 2)
    room.handle(RaiseHand("thon-1", None, "", "Điện"), at=T0 + 3)
    room.handle(GrantFloor("chair", "e2"), at=T0 + 4)
    return room


def durable(room: Room) -> dict[str, Any]:
    """What a restart must bring back: the snapshot without presence, streams and time."""
    snapshot = room.snapshot()
    floor = snapshot["floor"]
    if floor is not None:
        floor = {k: v for k, v in floor.items() if k != "live"}
    return {
        "meeting": snapshot["meeting"],
        "queue": snapshot["queue"],
        "floor": floor,
        "muted": snapshot["muted"],
    }


def of_type(events: list[Event], kind: type[Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def busy_round(room: Room, n: int) -> list[Event]:
    """Round `n` of a long meeting: the chair raises a hand for the next hall, and the
    oldest hand is withdrawn once seven wait (so no hall reaches its limit)."""
    at = T0 + 10 + n
    events = room.handle(RaiseHand("chair", f"thon-{n % 3 + 1}", f"Người {n}"), at=at)
    if len(room.queue) > 6:
        events += room.handle(WithdrawHand("chair", room.queue[0].id), at=at)
    return events
