"""Joins the room state machine, the bridge and the open sockets into one live meeting.

Commands go into the Room; the events it returns are broadcast as a fresh
state snapshot. Bridge happenings (a chair stream up or down, a hall's media
up or down) become room commands here, and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.bridge import REPLACED, Bridge
from bridge.session import Session
from rooms import (
    BroadcastStarted,
    BroadcastStateChanged,
    BroadcastStopped,
    Command,
    Connect,
    Disconnect,
    Event,
    HallStateChanged,
    MediaStarted,
    MediaStopped,
    Room,
)
from rooms.permissions import SEE_HALLS

from .auth import Identity
from .config import Settings

logger = logging.getLogger(__name__)


@dataclass
class Client:
    """One open page socket. Its writer sends the newest state, never a backlog."""

    conn_id: str
    identity: Identity
    ws: web.WebSocketResponse
    outbox: list[dict[str, Any]] = field(default_factory=list)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None
    last_state: dict[str, Any] | None = None


class Meeting:
    """The live meeting: one Room, the Bridge, and every connected page."""

    def __init__(self, settings: Settings, bridge: Bridge) -> None:
        self.settings = settings
        self.bridge = bridge
        self.instance = secrets.token_hex(4)
        self.room = Room(settings.commune, [(h.id, h.name) for h in settings.halls])
        self.clients: dict[str, Client] = {}
        self.owners: dict[str, Identity] = {}  # media session id → the key that opened it
        self.publishers: dict[str, str] = {}  # chair session id → the socket that published it
        bridge.on("publishingchange", self._on_publishing_change)
        bridge.on("sessionclose", self._on_session_close)

    def handle(self, command: Command) -> list[Event]:
        """Apply one command; broadcast the new state if anything changed."""
        events = self.room.handle(command, at=time.time())
        for event in events:
            _log_event(event)
        if events:
            self.broadcast_state()
        return events

    # --- page sockets -------------------------------------------------------

    def connect(self, client: Client) -> None:
        self.handle(Connect(client.conn_id, client.identity.role, client.identity.hall_id))
        self.clients[client.conn_id] = client
        client.writer = asyncio.ensure_future(self._write(client))
        self.send(client, self.welcome(client))
        client.last_state = self.state_for(client.identity)
        self.send(client, client.last_state)

    def disconnect(self, client: Client) -> None:
        if self.clients.pop(client.conn_id, None) is None:
            return
        if client.writer is not None:
            client.writer.cancel()
        self.handle(Disconnect(client.conn_id))

    def welcome(self, client: Client) -> dict[str, Any]:
        identity = client.identity
        hall = next((h for h in self.settings.halls if h.id == identity.hall_id), None)
        return {
            "type": "welcome",
            "connection": client.conn_id,
            "role": identity.role,
            "hall": {"id": hall.id, "name": hall.name} if hall else None,
            "commune": self.settings.commune,
            "permissions": sorted(identity.permissions),
            "instance": self.instance,
            "ice_servers": [dict(server) for server in self.settings.ice_servers],
        }

    def state_for(self, identity: Identity) -> dict[str, Any]:
        snapshot = self.room.snapshot()
        if not identity.may(SEE_HALLS):
            snapshot["halls"] = []
        return {"type": "state", **snapshot}

    def broadcast_state(self) -> None:
        for client in list(self.clients.values()):
            state = self.state_for(client.identity)
            if state == client.last_state:
                continue  # e.g. a hall TV does not see other halls come and go
            client.last_state = state
            # A newer snapshot replaces an unsent older one: slow pages never pile up.
            client.outbox = [m for m in client.outbox if m.get("type") != "state"]
            self.send(client, state)

    def send(self, client: Client, message: dict[str, Any]) -> None:
        client.outbox.append(message)
        client.wakeup.set()

    def send_to(self, identity: Identity, message: dict[str, Any]) -> None:
        for client in list(self.clients.values()):
            if client.identity == identity:
                self.send(client, message)

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

    # --- media sessions -----------------------------------------------------

    def session_opened(
        self, session: Session, identity: Identity, connection: str | None = None
    ) -> None:
        """A WHIP/WHEP session was answered. A viewer counts as watching once it connects."""
        self.owners[session.id] = identity
        if session.direction != "subscribe":
            if connection in self.clients:
                self.publishers[session.id] = connection
            return

        def on_state() -> None:
            if session.state == "connected":
                self._apply(MediaStarted(session.id, identity.role, identity.hall_id))

        session.on("statechange", on_state)

    def _on_session_close(self, session: Session) -> None:
        identity = self.owners.pop(session.id, None)
        publisher_socket = self.publishers.pop(session.id, None)
        if session.close_reason == REPLACED and publisher_socket in self.clients:
            self.send(self.clients[publisher_socket], {"type": "replaced"})
        if identity is None or session.direction != "subscribe":
            return
        if session.close_reason == "codec-changed":
            self.send_to(identity, {"type": "rejoin", "reason": "codec-changed"})
        # A session that never connected never started watching: nothing to stop.
        self._apply(MediaStopped(session.id), quiet=True)

    def _on_publishing_change(self) -> None:
        publishing = self.bridge.publishing
        broadcast = self.room.broadcast
        if publishing.live and publishing.session_id != broadcast.session:
            self._apply(
                BroadcastStarted(
                    publishing.session_id or "",
                    "chair",
                    publishing.video_codec,
                    publishing.audio_codec,
                )
            )
        elif not publishing.live and broadcast.live and broadcast.session:
            self._apply(BroadcastStopped(broadcast.session))

    def _apply(self, command: Command, *, quiet: bool = False) -> None:
        """Apply a command that comes from the bridge, where nobody waits for an error."""
        try:
            self.handle(command)
        except Exception as exc:
            if not quiet:
                logger.warning("meeting ignored %s: %s", command, exc)


def _log_event(event: Event) -> None:
    """One console line per change an operator cares about; the rest at debug level."""
    if isinstance(event, HallStateChanged):
        logger.info("hall %s: %s -> %s", event.hall_id, event.old, event.new)
    elif isinstance(event, BroadcastStateChanged):
        if event.live:
            codecs = "/".join(c for c in (event.video_codec, event.audio_codec) if c)
            logger.info("broadcast %s (%s)", "taken over" if event.replaced else "live", codecs)
        else:
            logger.info("broadcast stopped")
    else:
        logger.debug("%s", event)
