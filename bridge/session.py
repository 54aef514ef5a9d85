"""One WHIP or WHEP peer connection, and the producers or consumers it carries.

A session is created from an offer that was already checked, answers it, and
lives until its peer connection fails, it is deleted, or the bridge's watchdog
finds it silent. Closing is idempotent and closes its producers and consumers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Literal

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from .consumer import Consumer
from .emitter import Emitter
from .producer import Producer

logger = logging.getLogger(__name__)

Direction = Literal["publish", "subscribe"]
State = Literal["connecting", "connected", "closed"]


class ParkedTrack(MediaStreamTrack):
    """A track that never yields a frame, so aiortc's own send loop waits while we forward."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._ended = asyncio.Event()

    async def recv(self) -> None:  # type: ignore[override]
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()


class Session(Emitter):
    """Emits `statechange` (read `.state`) and, once, `close`."""

    def __init__(self, direction: Direction, label: str, pc: RTCPeerConnection) -> None:
        super().__init__()
        # The id is the capability in the WHIP/WHEP Location URL: make it unguessable.
        self.id = secrets.token_urlsafe(16)
        self.direction: Direction = direction
        self.label = label
        self.pc = pc
        self.producers: list[Producer] = []
        self.consumers: list[Consumer] = []
        self.answer = ""
        self.close_reason = ""
        self._state: State = "connecting"
        self._event_loop = asyncio.get_event_loop()
        self.created_at = self._event_loop.time()
        self.last_heard = self.created_at
        self._closing: asyncio.Task[None] | None = None
        pc.on("connectionstatechange", self._on_connection_state)
        # aiortc's connect path emits on this pc: a failing listener must not break it.
        pc.on("error", lambda exc: logger.error("peer connection listener failed", exc_info=exc))

    @property
    def state(self) -> State:
        return self._state

    def heard(self) -> None:
        """The remote side showed it is alive (RTCP or media)."""
        self.last_heard = self._event_loop.time()

    def _on_connection_state(self) -> None:
        pc_state = self.pc.connectionState
        if pc_state == "connected" and self._state == "connecting":
            self._state = "connected"
            self.heard()
            for consumer in self.consumers:
                consumer.start()
            self.emit("statechange")
        elif pc_state in ("failed", "closed") and self._state != "closed":
            self.close_soon(f"peer connection {pc_state}")

    def close_soon(self, reason: str) -> None:
        """Close from a sync callback; the close runs as a task."""
        if self._closing is None and self._state != "closed":
            self._closing = asyncio.ensure_future(self.close(reason))

    async def close(self, reason: str = "closed") -> None:
        """Close, idempotently: consumers and producers first, then the peer connection."""
        if self._state == "closed":
            return
        self._state = "closed"
        self.close_reason = reason
        for consumer in self.consumers:
            consumer.close()
        for producer in self.producers:
            producer.close()
        try:
            await self.pc.close()
        except Exception:
            logger.exception("closing peer connection of session %s", self.id)
        self.emit("statechange")
        self.emit("close")
        self.remove_all_listeners()
