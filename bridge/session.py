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

from aiortc import MediaStreamTrack, RTCDtlsTransport, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from .consumer import FINISH_FRAME_TIMEOUT, Consumer
from .emitter import Emitter
from .producer import Producer

logger = logging.getLogger(__name__)

Direction = Literal["publish", "subscribe"]
State = Literal["connecting", "connected", "closed"]
DTLS_LOGGER = "aiortc.rtcdtlstransport"


class DtlsErrors(logging.Filter):
    """Keeps the last DTLS handshake error aiortc logged, for the session whose handshake failed.

    aiortc says why a handshake failed only in a debug record, written just
    before that transport turns "failed" in the same call, so the listener of
    that state change reads the reason here. The logger is raised to DEBUG
    while attached; records below the level it had before are still dropped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last = ""
        self._level = logging.NOTSET
        self._floor = logging.WARNING

    def attach(self) -> None:
        dtls_logger = logging.getLogger(DTLS_LOGGER)
        others = [f for f in dtls_logger.filters if isinstance(f, DtlsErrors)]
        if others:
            self._level, self._floor = others[0]._level, others[0]._floor
        else:
            self._level, self._floor = dtls_logger.level, dtls_logger.getEffectiveLevel()
        dtls_logger.addFilter(self)
        dtls_logger.setLevel(logging.DEBUG)

    def detach(self) -> None:
        dtls_logger = logging.getLogger(DTLS_LOGGER)
        dtls_logger.removeFilter(self)
        if not any(isinstance(f, DtlsErrors) for f in dtls_logger.filters):
            dtls_logger.setLevel(self._level)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "handshake failed" in message:
            self.last = message.split("handshake failed", 1)[1].strip(" ()")
        return record.levelno >= self._floor

    def take(self) -> str:
        error, self.last = self.last, ""
        if error in ("", "error []"):
            # Seen when the peer's certificate is on a curve OpenSSL will not
            # use, such as the P-224 one FFmpeg makes for itself.
            return "OpenSSL gave no reason (a peer certificate on an unusual curve looks like this)"
        return error


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

    def __init__(
        self,
        direction: Direction,
        label: str,
        pc: RTCPeerConnection,
        *,
        peer_dtls: str = "",
        dtls_errors: DtlsErrors | None = None,
    ) -> None:
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
        # What the peer offered for DTLS, said when its handshake fails.
        self.peer_dtls = peer_dtls
        self._dtls_errors = dtls_errors or DtlsErrors()
        self._dtls_watched: set[RTCDtlsTransport] = set()
        self.ice_connected_at: float | None = None
        pc.on("connectionstatechange", self._on_connection_state)
        pc.on("iceconnectionstatechange", self._on_ice_state)
        # aiortc's connect path emits on this pc: a failing listener must not break it.
        pc.on("error", lambda exc: logger.error("peer connection listener failed", exc_info=exc))

    @property
    def state(self) -> State:
        return self._state

    def heard(self) -> None:
        """The remote side showed it is alive (RTCP or media)."""
        self.last_heard = self._event_loop.time()

    @property
    def dtls_role(self) -> str:
        """The bridge's DTLS role, as its answer says."""
        if "a=setup:passive" in self.answer:
            return "server"
        return "client" if "a=setup:active" in self.answer else "unknown"

    def watch_dtls(self) -> None:
        """Once answered: log a DTLS handshake that fails, and close the session at once."""
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.sender.transport
            if transport not in self._dtls_watched:
                self._dtls_watched.add(transport)
                transport.on("statechange", lambda t=transport: self._on_dtls_state(t))

    def _on_dtls_state(self, transport: RTCDtlsTransport) -> None:
        if transport.state != "failed" or self._state == "closed":
            return
        error = self._dtls_errors.take()
        logger.warning(
            "session %s (%s): DTLS handshake failed; the bridge was the DTLS %s, "
            "the peer offered %s; TLS error: %s",
            self.id,
            self.label,
            self.dtls_role,
            self.peer_dtls or "nothing known",
            error,
        )
        self.close_soon(f"DTLS handshake failed: {error}")

    def _on_ice_state(self) -> None:
        if self.pc.iceConnectionState in ("connected", "completed") and not self.ice_connected_at:
            self.ice_connected_at = self._event_loop.time()

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
        # While the peer connection is open, a half-sent frame can still be finished.
        await asyncio.gather(*(p.retire(FINISH_FRAME_TIMEOUT) for p in self.producers))
        try:
            await self.pc.close()
        except Exception:
            logger.exception("closing peer connection of session %s", self.id)
        self.emit("statechange")
        self.emit("close")
        self.remove_all_listeners()
