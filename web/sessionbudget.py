"""How many WHIP/WHEP sessions each key may hold: live ones, and ones still connecting.

Sessions that never connect cost a peer connection and UDP sockets until the
bridge gives up on them, so they have their own small budget, per key and per
address. The viewer key is shared by every public screen, so it can never take
the share kept for the halls, the chair and the secretary.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from bridge.session import Session

from .auth import Identity
from .errors import Busy
from .limits import Limits

# How many streams one key may hold at once. A TV that reloads briefly holds two;
# the viewer key is shared by every public screen. One key can never fill the bridge.
# A hall TV, and the chair console, each publish a camera and watch: two streams, four
# while a page reloads.
STREAM_QUOTA = {"chair": 4, "secretary": 4, "viewer": 30, "hall": 4}
RESERVED_ROLES = ("chair", "secretary", "hall")


class SessionBudget:
    """Sessions per key, live or pending, and pending ones per (key, address)."""

    def __init__(self, limits: Limits, halls: int, max_sessions: int) -> None:
        self._pending_per_key = limits.pending_sessions
        self._pending_per_ip = limits.pending_sessions_per_ip
        reserved = sum(STREAM_QUOTA[r] * (halls if r == "hall" else 1) for r in RESERVED_ROLES)
        # What is left after the reserved share; the viewer key never gets more.
        self.viewer_cap = max(1, min(STREAM_QUOTA["viewer"], max_sessions - reserved))
        self._held: Counter[Identity] = Counter()
        self._pending: Counter[Identity] = Counter()
        self._pending_from: Counter[tuple[Identity, str]] = Counter()

    def quota(self, identity: Identity) -> int:
        if identity.role == "viewer":
            return self.viewer_cap
        return STREAM_QUOTA.get(identity.role, 1)

    def held(self, identity: Identity) -> int:
        return self._held[identity]

    def pending(self, identity: Identity) -> int:
        return self._pending[identity]

    @contextlib.contextmanager
    def opening(self, identity: Identity, address: str) -> Iterator[None]:
        """Hold a pending slot while the offer is answered; raises Busy when none is free."""
        quota = self.quota(identity)
        if self._held[identity] >= quota:
            raise Busy(f"this key already has {quota} streams open; close one first")
        if self._pending[identity] >= self._pending_per_key:
            raise Busy(f"this key already has {self._pending_per_key} streams connecting")
        if self._pending_from[(identity, address)] >= self._pending_per_ip:
            raise Busy(f"{address[:45]} already has {self._pending_per_ip} streams connecting")
        self._take(identity, address)
        try:
            yield
        except BaseException:
            self._release_pending(identity, address)
            self._release_held(identity)
            raise

    def track(self, session: Session, identity: Identity, address: str) -> None:
        """The session got its answer: it stays pending until it connects or closes."""
        pending = [True]

        def settle() -> None:
            if pending[0] and session.state != "connecting":
                pending[0] = False
                self._release_pending(identity, address)
            if session.state == "closed":
                self._release_held(identity)

        session.on("statechange", settle)
        if session.state != "connecting":
            settle()

    def _take(self, identity: Identity, address: str) -> None:
        self._held[identity] += 1
        self._pending[identity] += 1
        self._pending_from[(identity, address)] += 1

    def _release_pending(self, identity: Identity, address: str) -> None:
        _decrement(self._pending, identity)
        _decrement(self._pending_from, (identity, address))

    def _release_held(self, identity: Identity) -> None:
        _decrement(self._held, identity)


def _decrement(counter: Counter, item: object) -> None:  # type: ignore[type-arg]
    counter[item] -= 1
    if counter[item] <= 0:
        del counter[item]
