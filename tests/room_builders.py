"""Building rooms for the rooms/ tests: a fixed clock and three halls."""

from __future__ import annotations

from rooms import BroadcastStateChanged, PublishStarted, Room
from rooms.events import Event

T0 = 1764349200.0
HALLS = [("thon-1", "Thôn 1"), ("thon-2", "Thôn 2"), ("thon-3", "Thôn 3")]


def new_room() -> Room:
    return Room("Xã Trực Khang", HALLS)


def state_of(room: Room, hall_id: str) -> str:
    return {h: state for h, _, state in room.hall_states()}[hall_id]


def chair(
    session: str, video: str | None, audio: str | None, offered_at: float | None = None
) -> PublishStarted:
    return PublishStarted(session, "chair", None, video, audio, offered_at)


def broadcast_events(events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, BroadcastStateChanged)]
