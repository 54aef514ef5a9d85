"""The receive half: a publisher's RTP handed to the bridge in the socket's own callback.

aiortc receives each datagram through a queue and three coroutines (ICE
connection, DTLS transport, RTP receiver), takes the time as a datetime, and
parses every payload for a decoder. A bridge decodes nothing, and per packet
that path cost about as much as forwarding the packet to every hall.

So, once a tapped receiver's first packet arrives (its transport is final by
then, bundling included), its DTLS transport's ICE connection gets a
`data_received` of our own. SRTP packets are unprotected, parsed, routed and
handled there and then, doing what aiortc's receiver does for a packet minus
the decoding: REMB estimation, receive statistics for the receiver reports,
RTX unwrapping and NACKs. Everything else (DTLS, RTCP, STUN) still goes
through aiortc's queue. A receiver on the same transport that nobody tapped
gets its packets from aiortc's own handler, in order.

Not kept: the receiver's synchronization-source list (getSynchronizationSources),
which the bridge never reads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unwrap_rtx

from .names import require as _require
from .remb import speed_up
from .send import NTP_EPOCH_OFFSET

logger = logging.getLogger(__name__)

PacketHandler = Callable[[RtpPacket], None]


def _arrival_ms() -> int:
    """Now, as aiortc's receiver counts arrival times: milliseconds since 1900 (NTP)."""
    return int((time.time() + NTP_EPOCH_OFFSET) * 1000)


_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_FIELDS = (
    "_enabled",
    _ESTIMATOR := "_RTCRtpReceiver__remote_bitrate_estimator",
    _RTCP_SSRC := "_RTCRtpReceiver__rtcp_ssrc",
    _CODECS := "_RTCRtpReceiver__codecs",
    _STREAMS := "_RTCRtpReceiver__remote_streams",
    _RTX_SSRC := "_RTCRtpReceiver__rtx_ssrc",
    _NACKS := "_RTCRtpReceiver__nack_generator",
)
_RECEIVER_METHODS = ("_handle_rtp_packet", "_send_rtcp", "_send_rtcp_nack", "transport")
_DTLS_FIELDS = (
    _DTLS_STATE := "_state",
    _DTLS_RX_SRTP := "_rx_srtp",
    _DTLS_EXTENSIONS := "_rtp_header_extensions_map",
    _DTLS_ROUTER := "_rtp_router",
    _DTLS_RX_BYTES := "_RTCDtlsTransport__rx_bytes",
    _DTLS_RX_PACKETS := "_RTCDtlsTransport__rx_packets",
)
_ICE_CONNECTION = "_connection"
_ICE_PROTOCOLS = "_protocols"
_CONNECTED = DtlsState.CONNECTED


class _ForwardingTap:
    """Stands in for a receiver's jitter buffer: hands each packet on, builds no frame.

    Packets reach it through aiortc's own path only until the fast path is in place
    (and for a transport it could not be put on)."""

    def __init__(self, receiver: RTCRtpReceiver, on_packet: PacketHandler) -> None:
        self._receiver = receiver
        self._on_packet = on_packet
        self._tried = False

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        if not self._tried:
            self._tried = True
            try:
                _FastPath.install(self._receiver, self._on_packet)
            except Exception:  # aiortc's own path still works: stay on it, and say so
                logger.exception("the fast receive path could not be put in place")
        self._on_packet(packet)
        return False, None


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketHandler) -> None:
    """Make `receiver` hand every media packet to `on_packet` instead of decoding it."""
    for name in (_RECEIVER_JITTER_BUFFER, *_RECEIVER_FIELDS, *_RECEIVER_METHODS):
        _require(receiver, name)
    dtls = receiver.transport
    for name in _DTLS_FIELDS:
        _require(dtls, name)
    connection = _require(dtls.transport, _ICE_CONNECTION)
    _require(connection, "data_received")
    _require(connection, _ICE_PROTOCOLS)
    estimator = getattr(receiver, _ESTIMATOR)
    if estimator is not None:
        speed_up(estimator)
    setattr(receiver, _RECEIVER_JITTER_BUFFER, _ForwardingTap(receiver, on_packet))


class _TappedReceiver:
    """What aiortc's RTCRtpReceiver._handle_rtp_packet does for one packet, minus decoding."""

    def __init__(self, receiver: RTCRtpReceiver, on_packet: PacketHandler, spawn: _Spawn) -> None:
        self._receiver = receiver
        self._fields: dict[str, Any] = vars(receiver)
        self._on_packet = on_packet
        self._spawn = spawn

    def handle(self, packet: RtpPacket) -> None:
        fields = self._fields
        if not fields["_enabled"]:
            return
        estimator = fields[_ESTIMATOR]
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=_arrival_ms(),  # only the estimator reads it
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = fields[_RTCP_SSRC]
            if remb is not None and rtcp_ssrc is not None:
                feedback = RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)
                )
                self._spawn(self._receiver._send_rtcp(feedback))
        codecs = fields[_CODECS]
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        streams = fields[_STREAMS]
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        if is_rtx(codec):
            original_ssrc = fields[_RTX_SSRC].get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nacks = fields[_NACKS]
        if nacks is not None and nacks.add(packet):
            self._spawn(self._receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing)))
        self._on_packet(packet)


_Spawn = Callable[[Awaitable[None]], None]


class _FastPath:
    """Takes a DTLS transport's SRTP packets off aiortc's queue (see the module's docstring)."""

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> _FastPath | None:
        """The fast path on `dtls`, if it has one. (Only its ICE connection holds it, so
        it goes with the session: no registry keeps a closed one alive.)"""
        connection = getattr(dtls.transport, _ICE_CONNECTION)
        path = getattr(connection.data_received, "__self__", None)
        return path if isinstance(path, cls) else None

    @classmethod
    def install(cls, receiver: RTCRtpReceiver, on_packet: PacketHandler) -> None:
        dtls = receiver.transport
        path = cls.of(dtls) or cls(dtls)
        path.receivers[receiver] = _TappedReceiver(receiver, on_packet, path.spawn)

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._fields: dict[str, Any] = vars(dtls)
        connection = getattr(dtls.transport, _ICE_CONNECTION)
        self._queue_it: Callable[[bytes, int], None] = connection.data_received
        connection.data_received = self.data_received
        for protocol in _require(connection, _ICE_PROTOCOLS):
            self._skip_stun_parsing(protocol)
        self.receivers: dict[RTCRtpReceiver, _TappedReceiver] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _skip_stun_parsing(self, protocol: Any) -> None:
        """aioice's StunProtocol tries to parse every datagram as STUN first; RTP (its
        first byte 128-191) never is one, so it goes straight to data_received."""
        stun = _require(protocol, "datagram_received")
        component = _require(protocol, "local_candidate").component
        received = self.data_received

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            if data and 127 < data[0] < 192:
                received(data, component)
            else:
                stun(data, addr)

        protocol.datagram_received = datagram_received

    def data_received(self, data: bytes, component: int) -> None:
        """aioice's Connection.data_received: every datagram that is not STUN."""
        fields = self._fields
        srtp = fields[_DTLS_RX_SRTP]
        # SRTP (first byte 128-191) that is not RTCP (packet type 192-223), once keyed.
        if (
            srtp is None
            or not 127 < data[0] < 192
            or len(data) < 12
            or 191 < data[1] < 224
            or fields[_DTLS_STATE] is not _CONNECTED
        ):
            self._queue_it(data, component)
            return
        fields[_DTLS_RX_BYTES] += len(data)
        fields[_DTLS_RX_PACKETS] += 1
        try:
            self._rtp(srtp.unprotect(data))
        except pylibsrtp.Error:
            pass  # as aiortc does: a packet that fails authentication is dropped
        except Exception:  # one bad packet must not stop the socket's callback
            logger.exception("RTP packet dropped")

    def _rtp(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data, self._fields[_DTLS_EXTENSIONS])
        except ValueError:
            return
        receiver = self._fields[_DTLS_ROUTER].route_rtp(packet)
        if receiver is None:
            return
        tapped = self.receivers.get(receiver)
        if tapped is None:  # a receiver we do not forward for: aiortc's own handling
            self.spawn(receiver._handle_rtp_packet(packet, arrival_time_ms=_arrival_ms()))
        else:
            tapped.handle(packet)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run `work` (RTCP to send, or aiortc's own handling) as a task of its own."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            if not isinstance(task.exception(), ConnectionError):  # the transport closed
                logger.warning("receive-side feedback failed: %r", task.exception())
