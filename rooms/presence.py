"""Who is here: the open page sockets and watching sessions, and each hall's presence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rooms.commands import Connect, MediaStarted, RenditionChanged
from rooms.errors import DuplicateConnection, NotPermitted, UnknownConnection, UnknownHall
from rooms.events import (
    Event,
    HallStateChanged,
    ParticipantJoined,
    ParticipantLeft,
    RenditionSwitched,
)
from rooms.hall import Hall
from rooms.permissions import WATCH, role

# The chair's camera comes in full (720p) and, for halls on weak links, light (360p).
FULL, LIGHT = "full", "light"
RENDITIONS = (FULL, LIGHT)


@dataclass(frozen=True)
class Attachment:
    """Who holds a page socket or a watching session, kept to report and undo it later."""

    role: str
    hall_id: str | None

    def may(self, permission: str) -> bool:
        return permission in role(self.role).permissions


class Presence:
    """Mutable inside the room only. Each method validates first, then mutates."""

    def __init__(self, commune: str, halls: Sequence[tuple[str, str]]) -> None:
        self.commune = commune
        self.halls: dict[str, Hall] = {}
        for hall_id, name in halls:
            if hall_id in self.halls:
                raise ValueError(f"hall id {hall_id!r} appears twice")
            self.halls[hall_id] = Hall(hall_id, name)
        self._pages: dict[str, Attachment] = {}
        self._sessions: dict[str, Attachment] = {}
        self._renditions: dict[str, str] = {}  # watching session -> rendition it gets
        # Open pages of counted-only roles (the public board): a number, not names.
        self.crowd = 0

    def hall(self, hall_id: str) -> Hall:
        hall = self.halls.get(hall_id)
        if hall is None:
            raise UnknownHall(f"no hall {hall_id[:40]!r} in {self.commune}")
        return hall

    def page(self, conn_id: str) -> Attachment:
        who = self._pages.get(conn_id)
        if who is None:
            raise UnknownConnection(f"no open connection {conn_id!r}")
        return who

    def hall_for(self, role_name: str, hall_id: str | None, *, needs: str | None) -> Hall | None:
        """Check that `role_name` may do this (for `hall_id`); the hall it acts for, if any."""
        spec = role(role_name)
        if needs is not None and needs not in spec.permissions:
            raise NotPermitted(f"role {role_name!r} may not {needs}")
        if not spec.bound_to_hall:
            if hall_id is not None:
                raise NotPermitted(f"role {role_name!r} may not act for hall {hall_id!r}")
            return None
        if hall_id is None:
            raise NotPermitted(f"role {role_name!r} must name its hall")
        return self.hall(hall_id)

    def hall_pages(self) -> tuple[tuple[str, str], ...]:
        """(conn id, hall id) of every open page bound to a hall."""
        return tuple(
            (conn_id, who.hall_id)
            for conn_id, who in self._pages.items()
            if who.hall_id is not None and role(who.role).bound_to_hall
        )

    def rendition(self, hall_id: str) -> str | None:
        """The rendition `hall_id`'s newest watching session gets; None while it watches none."""
        sessions = [s for s, who in self._sessions.items() if who.hall_id == hall_id]
        return self._renditions.get(sessions[-1], FULL) if sessions else None

    # -- changes -----------------------------------------------------------------------

    def connect(self, cmd: Connect, at: float) -> list[Event]:
        hall = self.hall_for(cmd.role, cmd.hall_id, needs=None)
        if cmd.conn_id in self._pages:
            raise DuplicateConnection(f"connection {cmd.conn_id!r} is already open")
        self._pages[cmd.conn_id] = Attachment(cmd.role, cmd.hall_id)
        if role(cmd.role).counted_only:
            self.crowd += 1
            return []
        events: list[Event] = [ParticipantJoined(cmd.conn_id, cmd.role, cmd.hall_id, at=at)]
        if hall is not None:
            events += _change(hall, lambda: hall.page_opened(cmd.conn_id), at)
        return events

    def disconnect(self, conn_id: str, at: float) -> list[Event]:
        who = self.page(conn_id)
        del self._pages[conn_id]
        if role(who.role).counted_only:
            self.crowd -= 1
            return []
        events: list[Event] = [ParticipantLeft(conn_id, who.role, who.hall_id, at=at)]
        if who.hall_id is not None:
            hall = self.halls[who.hall_id]
            events += _change(hall, lambda: hall.page_closed(conn_id), at)
        return events

    def media_started(self, cmd: MediaStarted, at: float) -> list[Event]:
        hall = self.hall_for(cmd.role, cmd.hall_id, needs=WATCH)
        if cmd.session_id in self._sessions:
            raise DuplicateConnection(f"media session {cmd.session_id!r} is already up")
        self._sessions[cmd.session_id] = Attachment(cmd.role, cmd.hall_id)
        if hall is None:
            return []
        return _change(hall, lambda: hall.media_started(cmd.session_id), at)

    def media_stopped(self, session_id: str, at: float) -> list[Event]:
        who = self._sessions.pop(session_id, None)
        if who is None:
            raise UnknownConnection(f"no media session {session_id!r}")
        self._renditions.pop(session_id, None)
        if who.hall_id is None:
            return []
        hall = self.halls[who.hall_id]
        return _change(hall, lambda: hall.media_stopped(session_id), at)

    def rendition_changed(self, cmd: RenditionChanged, at: float) -> list[Event]:
        who = self._sessions.get(cmd.session_id)
        if who is None:
            raise UnknownConnection(f"no media session {cmd.session_id!r}")
        if cmd.rendition not in RENDITIONS:
            raise ValueError(f"unknown rendition {cmd.rendition!r}")
        if self._renditions.get(cmd.session_id, FULL) == cmd.rendition:
            return []
        self._renditions[cmd.session_id] = cmd.rendition
        if who.hall_id is None:
            return []
        return [RenditionSwitched(who.hall_id, cmd.rendition, at=at)]


def _change(hall: Hall, apply: Callable[[], None], at: float) -> list[Event]:
    old = hall.state
    apply()
    new = hall.state
    return [] if new == old else [HallStateChanged(hall.id, old, new, at=at)]
