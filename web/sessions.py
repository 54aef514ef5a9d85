"""Which key opened each WHIP/WHEP session and which page socket it belongs to, for
ownership checks and telling the right page when its session ends."""

from __future__ import annotations

from .auth import Identity


class Sessions:
    """The edge's bookkeeping of media sessions; the bridge knows nothing of keys."""

    def __init__(self) -> None:
        self.owners: dict[str, Identity] = {}  # media session id → the key that opened it
        self.sockets: dict[str, str] = {}  # media session id → the page socket it belongs to

    def opened(self, session_id: str, identity: Identity, socket: str | None) -> None:
        """Record a new session; `socket` only when it is a page of the same key."""
        self.owners[session_id] = identity
        if socket is not None:
            self.sockets[session_id] = socket

    def closed(self, session_id: str) -> tuple[Identity | None, str | None]:
        """Forget a session: who owned it and which page socket it belonged to."""
        return self.owners.pop(session_id, None), self.sockets.pop(session_id, None)
