"""How many page sockets each key may hold, in all and from one address.

A public viewer link must not let one person open thousands of sockets; a
hall key needs only a TV and a reload or two. Past a cap the socket is opened
and closed at once with SOCKET_REFUSED and a reason the page shows.
"""

from __future__ import annotations

from collections import Counter

from .auth import Identity
from .limits import Limits

# A 4000-range code the pages know (i18n.js 'socket-refused'); 4429 echoes HTTP 429.
SOCKET_REFUSED = 4429


class SocketBudget:
    """Open page sockets per key and per (key, address)."""

    def __init__(self, limits: Limits) -> None:
        self._per_key = dict(limits.sockets)
        self._per_ip = limits.sockets_per_ip
        self._by_key: Counter[Identity] = Counter()
        self._by_address: Counter[tuple[Identity, str]] = Counter()

    def cap(self, identity: Identity) -> int:
        return self._per_key.get(identity.role, 1)

    def take(self, identity: Identity, address: str) -> str | None:
        """Count a new socket, or say (in under 123 bytes) why it is refused."""
        cap = self.cap(identity)
        if self._by_key[identity] >= cap:
            return f"too many pages open with this key ({cap}); close one"
        if self._by_address[(identity, address)] >= min(cap, self._per_ip):
            return f"too many pages open with this key from {address[:45]}"
        self._by_key[identity] += 1
        self._by_address[(identity, address)] += 1
        return None

    def release(self, identity: Identity, address: str) -> None:
        for counter, item in ((self._by_key, identity), (self._by_address, (identity, address))):
            counter[item] -= 1  # type: ignore[index]
            if counter[item] <= 0:  # type: ignore[index]
                del counter[item]  # type: ignore[attr-defined]

    def held(self, identity: Identity) -> int:
        return self._by_key[identity]
