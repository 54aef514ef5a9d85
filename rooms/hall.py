"""One village hall's presence, derived from its open page sockets and media sessions."""

from __future__ import annotations

OFFLINE = "offline"
CONNECTED = "connected"
WATCHING = "watching"
LOST = "lost"


def presence(watching: bool, connected: bool, seen: bool) -> str:
    """The single rule for a hall's state; every hall transition goes through it.

    A hall may hold several sockets and sessions at once (a TV reloads its page before
    the old socket times out), so only "any left?" matters, never which one went away.
    """
    if watching:
        return WATCHING
    if connected:
        return CONNECTED
    if seen:
        return LOST
    return OFFLINE


class Hall:
    """Mutable inside the room only; the outside sees `Room.hall_states()`."""

    def __init__(self, hall_id: str, name: str) -> None:
        self.id = hall_id
        self.name = name
        self._pages: set[str] = set()
        self._sessions: set[str] = set()
        self._seen = False

    @property
    def state(self) -> str:
        return presence(bool(self._sessions), bool(self._pages), self._seen)

    def page_opened(self, conn_id: str) -> None:
        self._pages.add(conn_id)
        self._seen = True

    def page_closed(self, conn_id: str) -> None:
        self._pages.discard(conn_id)

    def media_started(self, session_id: str) -> None:
        self._sessions.add(session_id)
        self._seen = True

    def media_stopped(self, session_id: str) -> None:
        self._sessions.discard(session_id)
