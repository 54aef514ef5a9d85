"""Counts open TCP connections per client address and in all, so a flood cannot use up the fds.

A connection is admitted at accept time. When a cap is reached, the oldest
connection that is doing nothing for anyone with a key (no request in flight,
never showed a hall, chair or secretary key) is closed to make room; when there
is none, the new connection is refused. Requests without such a key are
answered 503 once only the reserve is left, so a hall can always get in.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .limits import Limits

logger = logging.getLogger(__name__)

# Descriptors the bridge needs besides its TCP connections: UDP sockets of media
# sessions (one per local address each), TURN, log and data files.
FD_RESERVE = 384


@dataclass(eq=False)
class Connection:
    """One accepted TCP connection, from accept until it is closed."""

    address: str
    opened_at: float
    close: Callable[[], None]  # closes it at once, in whatever stage it is
    busy: int = 0  # requests (or a WebSocket) in flight on it
    requests: int = 0  # requests it has sent so far
    trusted: bool = False  # it carried a key of a hall, the chair or the secretary
    evicted: bool = False
    timer: asyncio.TimerHandle | None = None  # the first request's deadline

    def forget(self) -> None:
        """Drop what ties this record to aiohttp's protocol, so that can be freed now."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.close = _nothing


def _nothing() -> None:
    pass


@dataclass
class ConnectionCounts:
    refused: int = 0
    evicted: int = 0
    by_address: Counter[str] = field(default_factory=Counter)


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # keep the soft limit; the caps below still follow it
    return soft


class ConnectionGuard:
    """Admits, counts and evicts connections; shared by the listener and the middleware."""

    def __init__(self, limits: Limits, fd_limit: int | None = None) -> None:
        if fd_limit is None:
            fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        # Never let connections take the descriptors that media and files need.
        self.total_cap = max(32, min(limits.connections, fd_limit - FD_RESERVE))
        self.per_ip_cap = min(limits.connections_per_ip, self.total_cap)
        self.reserve = min(limits.reserve, self.per_ip_cap // 2)
        self.open: dict[int, Connection] = {}  # id(Connection) → Connection, oldest first
        self.handlers: dict[object, Connection] = {}  # aiohttp's protocol → its connection
        self.counts = ConnectionCounts()

    @property
    def total(self) -> int:
        return len(self.open)

    def admit(self, address: str, at: float, close: Callable[[], None]) -> Connection | None:
        """A new connection, or None when it must be refused (nothing could be evicted)."""
        if self.counts.by_address[address] >= self.per_ip_cap and not self._evict(address):
            self.counts.refused += 1
            return None
        if self.total >= self.total_cap and not self._evict(None):
            self.counts.refused += 1
            return None
        connection = Connection(address, at, close)
        self.open[id(connection)] = connection
        self.counts.by_address[address] += 1
        return connection

    def closed(self, connection: Connection) -> None:
        if self.open.pop(id(connection), None) is None:
            connection.forget()
            return  # evicted: already uncounted
        connection.forget()
        self.counts.by_address[connection.address] -= 1
        if self.counts.by_address[connection.address] <= 0:
            del self.counts.by_address[connection.address]

    def _evict(self, address: str | None) -> bool:
        """Close the oldest idle connection without a trusted key (of `address` if given)."""
        for connection in self.open.values():  # dicts keep insertion order: oldest first
            if connection.busy or connection.trusted:
                continue
            if address is not None and connection.address != address:
                continue
            close = connection.close
            self.closed(connection)
            connection.evicted = True
            self.counts.evicted += 1
            try:
                close()
            except Exception:  # a transport half torn down must not stop the accept loop
                logger.debug("closing an evicted connection failed", exc_info=True)
            return True
        return False

    def crowded(self, connection: Connection) -> bool:
        """Whether only the reserve is left for this connection's request, counting the
        requests in flight that carry no trusted key."""
        untrusted = [c for c in self.open.values() if c.busy and not c.trusted]
        if len(untrusted) >= self.total_cap - self.reserve:
            return True
        mine = sum(1 for c in untrusted if c.address == connection.address)
        return mine >= self.per_ip_cap - self.reserve
