"""The bridge: turns WHIP and WHEP offers into sessions that forward media without decoding it.

It owns the router and every session, replaces a publisher when a new one
connects, and runs a watchdog that closes sessions whose remote side vanished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from . import aiortc_internals as internals
from .codec import Codec
from .consumer import Consumer
from .emitter import Emitter
from .errors import BadOffer, CodecUnsupported, SessionNotFound, TooManySessions
from .offers import Offer, media_ssrc, publish_preferences, read_offer, subscribe_preferences
from .producer import Producer
from .repacketize import SPLIT_ABOVE
from .router import Router
from .session import Direction, DtlsErrors, ParkedTrack, Session

logger = logging.getLogger(__name__)

REPLACED = "replaced by a new chair stream"  # the close reason of a publisher taken over
# ICE is up but DTLS is not: a handshake that stalls (a peer that gave up without an alert).
DTLS_TIMEOUT = 10.0


@dataclass(frozen=True)
class Publishing:
    """What the halls are being sent right now."""

    live: bool
    video_codec: str | None
    audio_codec: str | None
    session_id: str | None


class Bridge(Emitter):
    """Emits `publishingchange` (read `.publishing`) and `sessionclose` (read the session)."""

    def __init__(
        self,
        ice_servers: Sequence[Mapping[str, Any]] = (),
        *,
        idle_timeout: float = 15.0,
        connect_timeout: float = 30.0,
        max_sessions: int = 100,
        default_video_codec: str = "VP8",
        watchdog_interval: float = 1.0,
        split_above: int = SPLIT_ABOVE,
    ) -> None:
        super().__init__()
        self.router = Router()
        self.router.on("producerchange", lambda: self.emit("publishingchange"))
        self.sessions: dict[str, Session] = {}
        self.publisher: Session | None = None
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.max_sessions = max_sessions
        self._ice_servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers
        ]
        self._video_codec = default_video_codec
        self._split_above = split_above
        self._watchdog_interval = watchdog_interval
        self._watchdog: asyncio.Task[None] | None = None
        self._negotiating = 0  # sessions being answered, not yet in self.sessions
        self._dtls_errors = DtlsErrors()
        self.closed = False

    @property
    def publishing(self) -> Publishing:
        video = self.router.producers.get("video")
        audio = self.router.producers.get("audio")
        live = bool(video or audio)
        return Publishing(
            live=live,
            video_codec=video.codec.name if video else None,
            audio_codec=audio.codec.name if audio else None,
            session_id=self.publisher.id if live and self.publisher else None,
        )

    def start(self) -> None:
        if self._watchdog is None:
            self._dtls_errors.attach()
            self._watchdog = asyncio.ensure_future(self._watch())

    def _new_peer(self) -> RTCPeerConnection:
        if len(self.sessions) + self._negotiating >= self.max_sessions:
            raise TooManySessions(f"the bridge already has {self.max_sessions} sessions")
        return RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))

    async def publish(self, offer_sdp: str, label: str) -> Session:
        """Accept the chair's stream. It replaces the current one once it connects."""
        offer = read_offer(offer_sdp)
        preferences: list[tuple[str, list[RTCRtpCodecCapability]]] = []
        for section in offer.sections:
            first = next((c for k, c in preferences if k == section.kind), None)
            preferences.append((section.kind, publish_preferences(section, _name(first))))
        ssrcs = [media_ssrc(s) for s in offer.sections]

        def add_producers(session: Session) -> None:
            # aiortc matched our transceivers to the offer's sections in order; a second
            # video section is the light rendition.
            for transceiver, ssrc in zip(session.pc.getTransceivers(), ssrcs, strict=True):
                producer = self._make_producer(transceiver, ssrc)
                producer.rendition = sum(p.kind == producer.kind for p in session.producers)
                session.producers.append(producer)

        session = await self._negotiate("publish", label, offer, preferences, add_producers)
        session.on("statechange", lambda: self._publisher_state(session))
        return session

    async def subscribe(self, offer_sdp: str, label: str) -> Session:
        """Answer a viewer with the codec the chair sends (or last sent)."""
        offer = read_offer(offer_sdp)
        if len(offer.sections) != len({s.kind for s in offer.sections}):
            raise BadOffer("a viewer's offer takes one video and one audio section at most")
        preferences = [
            (s.kind, subscribe_preferences(s, self._current_codec(s.kind))) for s in offer.sections
        ]

        def add_consumers(session: Session) -> None:
            for transceiver in session.pc.getTransceivers():
                session.consumers.append(self._make_consumer(session, transceiver))

        session = await self._negotiate("subscribe", label, offer, preferences, add_consumers)
        for consumer in session.consumers:
            self.router.add_consumer(consumer)
        return session

    async def _negotiate(
        self,
        direction: Direction,
        label: str,
        offer: Offer,
        preferences: list[tuple[str, list[RTCRtpCodecCapability]]],
        add_children: Callable[[Session], None],
    ) -> Session:
        """Answer `offer` with one transceiver per media section, then register the session.
        On any failure the peer connection is closed, so nothing is left behind."""
        peer_dtls = f"a=setup:{offer.setup}, fingerprint {offer.fingerprint_algorithm}"
        session = Session(
            direction, label, self._new_peer(), peer_dtls=peer_dtls, dtls_errors=self._dtls_errors
        )
        pc = session.pc
        self._negotiating += 1
        try:
            for kind, codecs in preferences:
                if direction == "publish":
                    transceiver = pc.addTransceiver(kind, direction="recvonly")
                else:  # a parked track keeps aiortc's own send loop idle while we forward
                    transceiver = pc.addTransceiver(ParkedTrack(kind), direction="sendonly")
                transceiver.setCodecPreferences(codecs)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            session.answer = pc.localDescription.sdp
            session.watch_dtls()
            add_children(session)
        except BaseException as exc:
            await session.close("negotiation failed")
            if isinstance(exc, OperationError):
                raise CodecUnsupported(f"no common codec: {exc}") from exc
            if isinstance(exc, ValueError | InvalidAccessError | InvalidStateError | InternalError):
                raise BadOffer(f"the SDP offer was refused: {exc}") from exc
            raise
        finally:
            self._negotiating -= 1
        self.sessions[session.id] = session
        session.once("close", lambda: self._forget(session))
        return session

    def _make_producer(self, transceiver: RTCRtpTransceiver, ssrc: int | None) -> Producer:
        receiver = transceiver.receiver

        async def send_pli(media_ssrc: int) -> None:
            await internals.send_pli(receiver, media_ssrc)

        async def send_nack(media_ssrc: int, lost: list[int]) -> None:
            await internals.send_nack(receiver, media_ssrc, lost)

        codec = Codec.negotiated(internals.negotiated_codecs(transceiver)[0])
        producer = Producer(
            transceiver.kind,
            codec,
            send_pli,
            send_nack=send_nack,
            media_ssrc=ssrc,
            split_above=self._split_above,
        )
        internals.tap_receiver(receiver, producer.receive)
        return producer

    def _publisher_state(self, session: Session) -> None:
        if session.state != "connected":
            return
        old = self.publisher
        if old is not None and old.created_at > session.created_at:
            # A slow, older attempt must not take the broadcast back from a newer one.
            session.close_soon("superseded by a newer chair stream")
            return
        self.publisher = session
        for producer in session.producers:
            if producer.kind == "video":
                self._video_codec = producer.codec.name
        self.router.publish(session.producers)
        if old is not None and old is not session:
            old.close_soon(REPLACED)

    def _current_codec(self, kind: str) -> str:
        """Codec for new viewers: the live chair's, else a connecting chair's, else the last."""
        producer = self.router.producers.get(kind)
        if producer is not None:
            return producer.codec.name
        connecting = [
            p
            for s in self.sessions.values()
            if s.direction == "publish" and s.state == "connecting"
            for p in s.producers
            if p.kind == kind
        ]
        if connecting:
            return connecting[-1].codec.name
        return self._video_codec if kind == "video" else "opus"

    def _make_consumer(self, session: Session, transceiver: RTCRtpTransceiver) -> Consumer:
        negotiated = internals.negotiated_codecs(transceiver)[0]
        port = internals.SenderPort(transceiver.sender, negotiated.payloadType)
        consumer = Consumer(transceiver.kind, port, Codec.negotiated(negotiated))
        internals.divert_feedback(transceiver.sender, consumer, session.heard)
        consumer.on("incompatible", lambda: session.close_soon("codec-changed"))
        consumer.on("close", lambda: session.close_soon("forwarding stopped"))
        return consumer

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        if self.publisher is session:
            self.publisher = None
        self.emit("sessionclose", session)

    def get(self, session_id: str) -> Session:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise SessionNotFound(f"no session {session_id}") from None

    async def close_session(self, session_id: str, reason: str = "deleted") -> None:
        await self.get(session_id).close(reason)

    async def _watch(self) -> None:
        """Close sessions whose remote side vanished without saying goodbye."""
        while True:
            await asyncio.sleep(self._watchdog_interval)
            try:
                for session in list(self.sessions.values()):
                    reason = self._why_dead(session)
                    if reason:
                        logger.info(
                            "closing session %s (%s): %s", session.id, session.label, reason
                        )
                        session.close_soon(reason)
            except Exception:
                logger.exception("watchdog pass failed")

    def _why_dead(self, session: Session) -> str:
        now = asyncio.get_event_loop().time()
        if session.state == "connecting":
            if now - session.created_at > self.connect_timeout:
                return "never connected"
            if session.ice_connected_at and now - session.ice_connected_at > DTLS_TIMEOUT:
                return (
                    f"DTLS handshake not done {DTLS_TIMEOUT:.0f} s after ICE connected "
                    f"(the bridge was the DTLS {session.dtls_role}, the peer offered "
                    f"{session.peer_dtls})"
                )
            return ""
        heard = [session.last_heard]
        heard += [p.last_packet_at for p in session.producers if p.last_packet_at is not None]
        silent = now - max(heard)
        if silent <= self.idle_timeout:
            return ""
        if session.direction == "publish":
            return f"no media for {silent:.0f} s"
        # A viewer only reports while it receives media: judge it by what we sent it.
        sent = [c.last_sent_at for c in session.consumers if c.last_sent_at is not None]
        if sent and max(sent) - session.last_heard > 2.0:
            return f"no RTCP for {silent:.0f} s while receiving media"
        return ""

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._dtls_errors.detach()
        await asyncio.gather(*(s.close("bridge stopping") for s in list(self.sessions.values())))
        self.router.close()
        self.emit("close")
        self.remove_all_listeners()


def _name(codecs: list[RTCRtpCodecCapability] | None) -> str | None:
    """The media codec's name among preferences (which may add RTX)."""
    return codecs[0].name if codecs else None
