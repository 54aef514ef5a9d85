"""Joins the room, the bridge, the event log and the open pages into one live meeting.

Data flows one way: a page's message or a bridge happening becomes a room
command; the room returns events; this module logs them, turns them into relay
effects (who is on air, which consumer follows whom) and sends every page a
fresh state snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from bridge.bridge import Bridge
from bridge.consumer import Consumer
from bridge.session import Session
from rooms import (
    Command,
    Connect,
    Disconnect,
    Event,
    LinkReport,
    MediaStarted,
    MediaStopped,
    PublishStarted,
    PublishStopped,
    RenditionChanged,
    Room,
    ScreenReported,
    StreamLive,
    StreamSuperseded,
    Tick,
    is_persisted,
)
from rooms.permissions import GRANT_FLOOR
from rooms.room import RENDITIONS
from rooms.routing import CHAIR

from .auth import Identity
from .config import Settings
from .eventlog import AsyncEventLog
from .fanout import Client, Fanout
from .quietlog import RateLimitedLog
from .recordings import Recordings
from .relay import Relay
from .sessions import Sessions
from .turn import ice_servers_for
from .wording import describe

logger = logging.getLogger(__name__)

# How often time is passed to the room, so a TV that stopped moving gets judged.
TICK_EVERY = 1.0
REPLACED = "replaced by a newer stream from the same key"  # the close reason of a takeover
SUPERSEDED = "superseded by a newer stream from the same key"
CODEC_CHANGED = "codec-changed"
_NOBODY = Identity("viewer")


class Meeting:
    """The live meeting: one Room, the Bridge, the event log, and every connected page."""

    def __init__(self, settings: Settings, bridge: Bridge, log: AsyncEventLog) -> None:
        self.settings = settings
        self.bridge = bridge
        self.log = log
        self.instance = secrets.token_hex(4)
        self.room = Room(
            settings.commune,
            [(h.id, h.name) for h in settings.halls],
            speaking_limit=settings.speaking_limit,
        )
        self.pages = Fanout()
        self.sessions = Sessions()
        self.relay = Relay(bridge)
        self.recordings = Recordings(self)
        self._rejoin_sent: set[str] = set()  # sockets told to rejoin since the codec changed
        self._ticker: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[int]] = set()
        # Called with (meeting id, persisted events) after each logged command: the
        # question register keeps itself up to date this way (web/register.py).
        self.followers: list[Callable[[str, list[Event]], None]] = []
        # Refused attempts (a hall sending grant) are logged, at most 12 lines a minute.
        self.refused = RateLimitedLog(logger, per_minute=12)
        # Other web/ modules add a part to every page's state (name -> part(now)), and
        # hear every command's events (the schedule marks a planned meeting held).
        self.state_parts: dict[str, Callable[[float], Any]] = {}
        self.watchers: list[Callable[[list[Event]], None]] = []
        bridge.on("sessionclose", self._on_session_close)
        bridge.on("incompatible", self._on_incompatible)

    async def start(self) -> None:
        """Come back to the meeting the log says is still open, then start the clock."""
        resumed = await self.log.open_meeting()
        if resumed is not None:
            meeting_id, events = resumed
            self.room.replay(events)
            logger.info("meeting %s resumed from its log (%d events)", meeting_id, len(events))
            self.relay.apply(self.room.routing())
        await self.recordings.resume()
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())

    def _written(self, task: asyncio.Task[int]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("the event log could not be written: %s", task.exception())

    async def close(self) -> None:
        await self.recordings.close()  # first: its stop is logged too
        await asyncio.gather(*self._writes, return_exceptions=True)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.relay.close()

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
        for client in list(self.pages.clients.values()):
            if now - client.ice_sent_at < turn.ttl / 2:
                continue
            client.ice_sent_at = now
            servers = ice_servers_for(self.settings, client.identity, now)
            if servers:
                self.pages.send(client, {"type": "ice-servers", "ice_servers": servers})

    # --- the one way in -----------------------------------------------------

    def handle(self, command: Command) -> list[Event]:
        """Apply one command: log its events, carry them out, and tell every page."""
        self.recordings.check(command)  # a full disk refuses a recording before the room
        events = self.room.handle(command, at=time.time())
        if not events:
            return events
        meeting_id = self.room.log_meeting(events)
        kept = [e for e in events if is_persisted(e)]
        if meeting_id is not None and kept:
            # Appends run one at a time on the log's thread, in the order they were made.
            task = asyncio.ensure_future(self.log.append(meeting_id, kept))
            self._writes.add(task)
            task.add_done_callback(self._written)
            for follow in self.followers:
                follow(meeting_id, kept)
        for watcher in self.watchers:
            watcher(events)
        for event in events:
            line = describe(event)
            if line:
                logger.info("%s", line)
            self._carry_out(event)
        self.relay.apply(self.room.routing())
        self.broadcast_state()
        return events

    def _carry_out(self, event: Event) -> None:
        """The bridge effects of one event; routing is re-applied after every command."""
        self.recordings.carry_out(event)
        if isinstance(event, StreamLive):
            session = self.bridge.sessions.get(event.session_id)
            if session is not None:
                self.relay.publish(event.source, session)
            if event.replaced is not None:
                self._close_replaced(event.replaced, event.session_id)
            if event.source == CHAIR:
                self._rejoin_sent.clear()
                self._halls_follow_codec()
        elif isinstance(event, StreamSuperseded):
            old = self.bridge.sessions.get(event.session_id)
            if old is not None:
                old.close_soon(SUPERSEDED)

    def _apply(self, command: Command, *, quiet: bool = False) -> None:
        """Apply a command that comes from the bridge or the clock, where nobody waits
        for an error."""
        try:
            self.handle(command)
        except Exception as exc:
            if not quiet:
                logger.warning("meeting ignored %s: %s", command, exc)

    # --- page sockets -------------------------------------------------------

    def connect(self, client: Client) -> None:
        self.handle(Connect(client.conn_id, client.identity.role, client.identity.hall_id))
        self.pages.add(client)
        client.ice_sent_at = time.time()
        self.pages.send(client, self.welcome(client))
        self.pages.send_state(client, self.state_for(client))

    def disconnect(self, client: Client) -> None:
        if self.pages.remove(client):
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
            "halls": [{"id": h.id, "name": h.name} for h in self.settings.halls],
            "commune": self.settings.commune,
            "permissions": sorted(identity.permissions),
            "instance": self.instance,
            "ice_servers": ice_servers_for(self.settings, identity),
        }

    def state_for(self, client: Client) -> dict[str, Any]:
        identity = client.identity
        now = time.time()
        snapshot = self.room.snapshot_for(identity.role, identity.hall_id, now)
        parts = {name: part(now) for name, part in self.state_parts.items()}
        return {"type": "state", **snapshot, **parts}

    def broadcast_state(self) -> None:
        self.pages.broadcast(self.state_for)

    # --- media sessions -----------------------------------------------------

    def session_opened(
        self,
        session: Session,
        identity: Identity,
        connection: str | None = None,
        slots: list[str] | None = None,
        *,
        screen: bool = False,
    ) -> None:
        """A WHIP/WHEP session was answered: route a watching one's consumers now; it
        counts as watching, and a publishing one goes on air, once it connects."""
        # Only a socket of the same key: a viewer must not name a hall's page.
        page = self.pages.get(connection)
        self.sessions.opened(
            session.id, identity, connection if page and page.identity == identity else None
        )
        if session.direction == "subscribe":
            self.relay.watch(session, slots or [], identity.hall_id)
            for consumer in session.consumers:
                consumer.on(
                    "renditionchange", lambda c=consumer: self._rendition_changed(session, c)
                )

        def on_state() -> None:
            if session.state != "connected":
                return
            if session.direction == "subscribe":
                self._apply(MediaStarted(session.id, identity.role, identity.hall_id))
                return
            codecs = {p.kind: p.codec.name for p in session.producers if p.rendition == 0}
            self._apply(
                PublishStarted(
                    session.id,
                    identity.role,
                    identity.hall_id,
                    codecs.get("video"),
                    codecs.get("audio"),
                    offered_at=session.created_at,
                    screen=screen,
                )
            )

        session.on("statechange", on_state)

    def video_codec(self) -> str | None:
        """The codec every video section is negotiated in: the live chair's, else that of
        a chair stream still connecting, else None (the bridge's last seen one). Halls
        publish in it too, so a floor change never needs a new negotiation."""
        if self.room.broadcast.live:
            return self.room.broadcast.video_codec
        connecting = [
            p.codec.name
            for s in self.bridge.sessions.values()
            if s.direction == "publish"
            and s.state == "connecting"
            and self.sessions.owners.get(s.id, _NOBODY).may(GRANT_FLOOR)
            for p in s.producers
            if p.kind == "video"
        ]
        return connecting[-1] if connecting else None

    def _rendition_changed(self, session: Session, consumer: Consumer) -> None:
        """A TV's link moved it to the chair's full or light camera stream."""
        slot = self.relay.slot_of(consumer)
        if consumer.rendition is None or slot is None:
            return
        if slot.name in ("chair-video", "program-video"):
            self._apply(RenditionChanged(session.id, RENDITIONS[min(consumer.rendition, 1)]))

    def _on_incompatible(self, session: Session, consumer: Consumer) -> None:
        """A consumer was routed to a source in another codec. For the chair's stream that
        is a codec change: the page must negotiate anew. A hall in another codec is left
        out (paused) rather than cutting the TV off; that hall is asked to publish again."""
        if consumer.source == CHAIR:
            session.close_soon(CODEC_CHANGED)
            return
        logger.warning(
            "session %s cannot take %s's %s (codec differs); it stays paused",
            session.id,
            consumer.source,
            consumer.kind,
        )
        hall_id = (consumer.source or "").removeprefix("hall:")
        for client in list(self.pages.clients.values()):
            if client.identity.hall_id == hall_id:
                self._tell_rejoin(client)

    def _on_session_close(self, session: Session) -> None:
        identity, socket = self.sessions.closed(session.id)
        if session.direction == "publish":
            self._apply(PublishStopped(session.id), quiet=True)
            if session.close_reason == REPLACED:
                page = self.pages.get(socket)
                if page is not None:
                    self.pages.send(page, {"type": "replaced"})
            return
        if identity is None:
            return
        if session.close_reason == CODEC_CHANGED:
            own = self.pages.get(socket)
            for client in [own] if own is not None else self.pages.of(identity):
                self._tell_rejoin(client)
        # A session that never connected never started watching: nothing to stop.
        self._apply(MediaStopped(session.id), quiet=True)

    def _close_replaced(self, old_id: str, new_id: str) -> None:
        """Close a stream another of the same key took over. Its page hears "replaced",
        unless the same page took it over itself (a chair reconnecting after a blip)."""
        old = self.bridge.sessions.get(old_id)
        if old is None:
            return
        if self.sessions.sockets.get(old_id) == self.sessions.sockets.get(new_id):
            self.sessions.sockets.pop(old_id, None)
        old.close_soon(REPLACED)

    def _halls_follow_codec(self) -> None:
        """After the chair's codec changed, halls still sending the old one publish anew."""
        codec = self.video_codec()
        for client in list(self.pages.clients.values()):
            hall_id = client.identity.hall_id
            video = self.relay.router.producer(f"hall:{hall_id}", "video") if hall_id else None
            if (
                video is not None
                and codec is not None
                and video.codec.name.upper() != codec.upper()
            ):
                self._tell_rejoin(client)

    def _tell_rejoin(self, client: Client) -> None:
        """Ask a page to make its media sessions anew, once per codec change."""
        if client.conn_id not in self._rejoin_sent:
            self._rejoin_sent.add(client.conn_id)
            self.pages.send(client, {"type": "rejoin", "reason": CODEC_CHANGED})
