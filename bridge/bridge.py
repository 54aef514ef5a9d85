"""The bridge: turns WHIP and WHEP offers into sessions that forward media without decoding it.

It owns the router and every session, replaces a publisher when a new one
connects, and runs a watchdog that closes sessions whose remote side vanished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiortc import (
    RTCBundlePolicy,
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
from .offers import (
    Offer,
    check_publish_shape,
    media_ssrc,
    publish_preferences,
    read_offer,
    subscribe_preferences,
)
from .producer import Producer
from .repacketize import SPLIT_ABOVE
from .router import Router
from .session import Direction, DtlsErrors, ParkedTrack, Session

logger = logging.getLogger(__name__)

# ICE is up but DTLS is not: a handshake that stalls (a peer that gave up without an alert).
DTLS_TIMEOUT = 10.0
# A viewer's offer may hold this many media sections: a chair console watching every
# hall's camera, plus sound.
MAX_SUBSCRIBE_SECTIONS = 16


class Bridge(Emitter):
    """Emits `sessionclose` (with the session) and `incompatible` (with the session and
    the consumer that was routed to a source whose codec it was not negotiated for).

    Which source a publishing session feeds and which source each consumer follows
    is decided by the caller, through `router`: the bridge makes no such choice."""

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
        self.sessions: dict[str, Session] = {}
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

    def start(self) -> None:
        if self._watchdog is None:
            self._dtls_errors.attach()
            self._watchdog = asyncio.ensure_future(self._watch())

    def _new_peer(self, offer: Offer) -> RTCPeerConnection:
        if len(self.sessions) + self._negotiating >= self.max_sessions:
            raise TooManySessions(f"the bridge already has {self.max_sessions} sessions")
        # aiortc's default (balanced) bundling leaves a second section of the same kind on a
        # transport that bundling then discards, so that track never starts: bundle all on
        # one transport whenever the offer does.
        policy = RTCBundlePolicy.MAX_BUNDLE if offer.bundles_all else RTCBundlePolicy.BALANCED
        return RTCPeerConnection(
            RTCConfiguration(iceServers=self._ice_servers, bundlePolicy=policy)
        )

    async def publish(self, offer_sdp: str, label: str, video_codec: str | None = None) -> Session:
        """Accept a publisher's stream, its video in `video_codec` when given. Its producers
        go nowhere until the caller publishes them on the router under a source."""
        offer = read_offer(offer_sdp)
        check_publish_shape([s.kind for s in offer.sections])
        preferences: list[tuple[str, list[RTCRtpCodecCapability]]] = []
        for section in offer.sections:
            first = next((c for k, c in preferences if k == section.kind), None)
            same_as = _name(first) or (video_codec if section.kind == "video" else None)
            preferences.append((section.kind, publish_preferences(section, same_as)))
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

    async def subscribe(
        self, offer_sdp: str, label: str, video_codec: str | None = None
    ) -> Session:
        """Answer a viewer: every video section in `video_codec` (default: the one this
        bridge last saw published), audio in Opus. Its consumers follow nothing until the
        caller routes them (`router.route`), in the order of the offer's sections."""
        offer = read_offer(offer_sdp)
        if len(offer.sections) > MAX_SUBSCRIBE_SECTIONS:
            raise BadOffer(
                f"a viewer's offer takes {MAX_SUBSCRIBE_SECTIONS} media sections at most"
            )
        wanted = {"video": video_codec or self._video_codec, "audio": "opus"}
        preferences = [(s.kind, subscribe_preferences(s, wanted[s.kind])) for s in offer.sections]

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
            direction,
            label,
            self._new_peer(offer),
            peer_dtls=peer_dtls,
            dtls_errors=self._dtls_errors,
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
        if session.state == "connected":
            for producer in session.producers:
                if producer.kind == "video":
                    self._video_codec = producer.codec.name

    def _make_consumer(self, session: Session, transceiver: RTCRtpTransceiver) -> Consumer:
        negotiated = internals.negotiated_codecs(transceiver)[0]
        port = internals.SenderPort(transceiver.sender, negotiated.payloadType)
        consumer = Consumer(transceiver.kind, port, Codec.negotiated(negotiated))
        internals.divert_feedback(transceiver.sender, consumer, session.heard)
        consumer.on("incompatible", lambda: self.emit("incompatible", session, consumer))
        consumer.on("close", lambda: session.close_soon("forwarding stopped"))
        return consumer

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
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
