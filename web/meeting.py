"""Joins the room state machine, the bridge and the open sockets into one live meeting.

Commands go into the Room; the events it returns are broadcast as a fresh
state snapshot. Bridge happenings (a chair stream up or down, a hall's media
up or down) become room commands here, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.bridge import REPLACED, Bridge
from bridge.consumer import Consumer
from bridge.session import Session
from rooms import (
    BroadcastCodecsChanged,
    BroadcastStarted,
    BroadcastStateChanged,
    BroadcastStopped,
    Command,
    Connect,
    Disconnect,
    Event,
    HallStateChanged,
    LinkReport,
    MediaStarted,
    MediaStopped,
    RenditionChanged,
    RenditionSwitched,
    Room,
    ScreenChanged,
    ScreenReported,
    Tick,
)
from rooms.permissions import SEE_HALLS
from rooms.room import RENDITIONS

from .auth import Identity
from .config import Settings
from .turn import ice_servers_for

logger = logging.getLogger(__name__)

# How often time is passed to the room, so a TV that stopped moving gets judged.
TICK_EVERY = 1.0


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
    ice_sent_at: float = 0.0  # when it was last given TURN credentials


class Meeting:
    """The live meeting: one Room, the Bridge, and every connected page."""

    def __init__(self, settings: Settings, bridge: Bridge) -> None:
        self.settings = settings
        self.bridge = bridge
        self.instance = secrets.token_hex(4)
        self.room = Room(settings.commune, [(h.id, h.name) for h in settings.halls])
        self.clients: dict[str, Client] = {}
        self.owners: dict[str, Identity] = {}  # media session id → the key that opened it
        self.sockets: dict[str, str] = {}  # media session id → the page socket it belongs to
        self._negotiating: Counter[Identity] = Counter()  # offers being answered, per key
        self._rejoin_sent: set[str] = set()  # sockets told to rejoin since the codec changed
        self._ticker: asyncio.Task[None] | None = None
        bridge.on("publishingchange", self._on_publishing_change)
        bridge.on("sessionclose", self._on_session_close)

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_EVERY)
            self._apply(Tick())
            self.refresh_ice_servers(time.time())

    def refresh_ice_servers(self, now: float) -> None:
        """Give each page fresh TURN credentials halfway through their life, so a TV that
        stays connected for weeks can still make a new session behind NAT."""
        turn = self.settings.turn
        if turn is None:
            return
        for client in list(self.clients.values()):
            if now - client.ice_sent_at < turn.ttl / 2:
                continue
            client.ice_sent_at = now
            servers = ice_servers_for(self.settings, client.identity, now)
            if servers:
                self.send(client, {"type": "ice-servers", "ice_servers": servers})

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
        client.ice_sent_at = time.time()
        self.send(client, self.welcome(client))
        client.last_state = self.state_for(client.identity)
        self.send(client, client.last_state)

    def disconnect(self, client: Client) -> None:
        if self.clients.pop(client.conn_id, None) is None:
            return
        if client.writer is not None:
            client.writer.cancel()
        self.handle(Disconnect(client.conn_id))

    def report(self, client: Client, report: LinkReport) -> None:
        """A hall page's report; raises the room's refusal for a page that may not report."""
        self.handle(ScreenReported(client.conn_id, report))
        self.broadcast_state()  # the figures changed even when no verdict did

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
            "ice_servers": ice_servers_for(self.settings, identity),
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

    def streams_held(self, identity: Identity) -> int:
        """Streams this key holds or is opening, for its quota."""
        held = sum(1 for owner in self.owners.values() if owner == identity)
        return held + self._negotiating[identity]

    @contextlib.contextmanager
    def negotiating(self, identity: Identity) -> Iterator[None]:
        self._negotiating[identity] += 1
        try:
            yield
        finally:
            self._negotiating[identity] -= 1

    def session_opened(
        self, session: Session, identity: Identity, connection: str | None = None
    ) -> None:
        """A WHIP/WHEP session was answered. A viewer counts as watching once it connects."""
        self.owners[session.id] = identity
        # Only a socket of the same key: a viewer must not name a hall's page.
        page = self.clients.get(connection or "")
        if connection is not None and page is not None and page.identity == identity:
            self.sockets[session.id] = connection
        if session.direction != "subscribe":
            return

        def on_state() -> None:
            if session.state == "connected":
                self._apply(MediaStarted(session.id, identity.role, identity.hall_id))

        session.on("statechange", on_state)
        for consumer in session.consumers:
            consumer.on("renditionchange", lambda c=consumer: self._rendition_changed(session, c))

    def _rendition_changed(self, session: Session, consumer: Consumer) -> None:
        """A hall's link moved it to the chair's full or light camera stream."""
        if consumer.rendition is not None:
            self._apply(RenditionChanged(session.id, RENDITIONS[min(consumer.rendition, 1)]))

    def _on_session_close(self, session: Session) -> None:
        identity = self.owners.pop(session.id, None)
        socket = self.sockets.pop(session.id, None)
        if session.close_reason == REPLACED:
            self._tell_replaced(socket)
        if identity is None or session.direction != "subscribe":
            return
        if session.close_reason == "codec-changed":
            self._tell_rejoin(identity, socket)
        # A session that never connected never started watching: nothing to stop.
        self._apply(MediaStopped(session.id), quiet=True)

    def _tell_replaced(self, socket: str | None) -> None:
        """Tell the page whose stream was taken over, unless it took it over itself
        (a chair reconnecting after a network blip replaces its own old stream)."""
        current = self.bridge.publisher
        successor = self.sockets.get(current.id) if current is not None else None
        client = self.clients.get(socket or "")
        if client is not None and socket != successor:
            self.send(client, {"type": "replaced"})

    def _tell_rejoin(self, identity: Identity, socket: str | None) -> None:
        """Ask the page of a session cut off by a codec change to rejoin, once per change."""
        own = self.clients.get(socket or "")
        if own is not None:
            targets = [own]
        else:  # a session opened before its page said who it is: every page of that key
            targets = [c for c in self.clients.values() if c.identity == identity]
        for client in targets:
            if client.conn_id not in self._rejoin_sent:
                self._rejoin_sent.add(client.conn_id)
                self.send(client, {"type": "rejoin", "reason": "codec-changed"})

    def _on_publishing_change(self) -> None:
        publishing = self.bridge.publishing
        broadcast = self.room.broadcast
        self._rejoin_sent.clear()
        if publishing.live and publishing.session_id != broadcast.session:
            owner = self.owners.get(publishing.session_id or "")
            self._apply(
                BroadcastStarted(
                    publishing.session_id or "",
                    owner.role if owner else "chair",
                    publishing.video_codec,
                    publishing.audio_codec,
                )
            )
        elif publishing.live and publishing.session_id is not None:
            # The bridge sets a stream's tracks up one at a time, so the second codec
            # of a session arrives as a change of the same broadcast.
            self._apply(
                BroadcastCodecsChanged(
                    publishing.session_id, publishing.video_codec, publishing.audio_codec
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
    elif isinstance(event, RenditionSwitched):
        logger.info("hall %s: %s picture", event.hall_id, event.rendition)
    elif isinstance(event, ScreenChanged):
        logger.info("hall %s TV: picture %s, sound %s", event.hall_id, event.picture, event.sound)
    else:
        logger.debug("%s", event)
