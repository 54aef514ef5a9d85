"""Every open page socket, and the messages queued for each: the newest state, never a backlog."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .auth import Identity


@dataclass
class Client:
    """One open page socket. Its writer sends what is queued, oldest first."""

    conn_id: str
    identity: Identity
    ws: web.WebSocketResponse
    outbox: list[dict[str, Any]] = field(default_factory=list)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None
    last_state: dict[str, Any] | None = None
    ice_sent_at: float = 0.0  # when it was last given TURN credentials


class Fanout:
    """Sends to pages. A slow page gets only the newest state, so nothing piles up."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}

    def add(self, client: Client) -> None:
        self.clients[client.conn_id] = client
        client.writer = asyncio.ensure_future(self._write(client))

    def remove(self, client: Client) -> bool:
        """Forget `client`; False when it was already gone."""
        if self.clients.pop(client.conn_id, None) is None:
            return False
        if client.writer is not None:
            client.writer.cancel()
        return True

    def get(self, conn_id: str | None) -> Client | None:
        return self.clients.get(conn_id or "")

    def of(self, identity: Identity) -> list[Client]:
        """Every page open with `identity`'s key."""
        return [c for c in self.clients.values() if c.identity == identity]

    def send(self, client: Client, message: dict[str, Any]) -> None:
        client.outbox.append(message)
        client.wakeup.set()

    def send_state(self, client: Client, state: dict[str, Any]) -> None:
        """Queue `state` unless the page already has it (whatever the time it was made);
        it replaces an unsent older one."""
        if _timeless(state) == _timeless(client.last_state):
            return  # e.g. a hall TV does not see other halls come and go
        client.last_state = state
        client.outbox = [m for m in client.outbox if m.get("type") != "state"]
        self.send(client, state)

    def broadcast(self, state_for: Callable[[Client], dict[str, Any]]) -> None:
        for client in list(self.clients.values()):
            self.send_state(client, state_for(client))

    async def _write(self, client: Client) -> None:
        try:
            while True:
                await client.wakeup.wait()
                client.wakeup.clear()
                while client.outbox:
                    message = client.outbox.pop(0)
                    await client.ws.send_str(json.dumps(message, ensure_ascii=False))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass


def _timeless(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A state snapshot without the server's clock reading, which differs every time."""
    return None if state is None else {k: v for k, v in state.items() if k != "now"}
