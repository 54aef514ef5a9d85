"""The send half: already-encoded RTP written straight into an aiortc sender's transport."""

from __future__ import annotations

import time
from collections.abc import Callable
from struct import pack
from typing import Any

from aiortc import RTCRtpSender
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

from .names import require as _require

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)

_SENDER_HISTORY = "_RTCRtpSender__rtp_history"
_SENDER_EXTENSIONS = "_RTCRtpSender__rtp_header_extensions_map"
_SENDER_MID = "_RTCRtpSender__mid"
_SENDER_NTP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_SENDER_OCTETS = "_RTCRtpSender__octet_count"
_SENDER_PACKETS = "_RTCRtpSender__packet_count"
_SENDER_STARTED = "_RTCRtpSender__started"
_DTLS_STATE = "_state"
_DTLS_TX_SRTP = "_tx_srtp"
_DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
_DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
_ICE_CONNECTION = "_connection"
_ICE_NOMINATED = "_nominated"
_CONNECTED = DtlsState.CONNECTED
# Bytes a subscriber's socket may hold unsent (asyncio buffers what the kernel refuses)
# before its consumers count as stuck: half a second of a 2 Mbps picture.
MAX_BACKLOG_BYTES = 128 * 1024
# aiortc's sender-report counters are brought up to date at the end of every picture,
# and at least every this many packets (a third of a second of sound).
REPORT_EVERY = 16


class SentHistory(dict[int, bytes]):
    """A sender's retransmission history holding the packets as sent (before SRTP).

    It takes the place of aiortc's dict of RtpPacket objects, so that nothing is
    built per packet for the rare NACK: aiortc's `_retransmit` calls `get`, which
    parses the one packet asked for back into an RtpPacket.
    """

    def __init__(self, extensions: HeaderExtensionsMap) -> None:
        super().__init__()
        self._extensions = extensions

    def get(self, slot: int, default: Any = None) -> Any:  # type: ignore[override]
        data = dict.get(self, slot)
        return default if data is None else RtpPacket.parse(data, self._extensions)

    def holds(self, seq: int) -> bool:
        """Whether packet `seq` itself (not a later one in its slot) is still kept."""
        data = dict.get(self, seq % RTP_HISTORY_SIZE)
        return data is not None and (data[2] << 8 | data[3]) == seq


class SenderPort:
    """Writes already-encoded RTP packets into an aiortc sender's transport, synchronously.

    Per packet this is the hot path of the whole bridge: about 3,600 packets a
    second in a full meeting. aiortc's own path is four coroutines deep per
    packet (sender, DTLS transport, ICE connection, STUN protocol), none of
    which ever waits; this protects the packet with the transport's SRTP session
    and hands it to the nominated pair's datagram transport in one call. The
    header extension block (the mid, and the audio level when there is one) is
    built once per value, and the sender's history is kept as aiortc keeps it and
    its report counters at most a picture behind, so its RTCP (sender reports,
    NACK over RTX) still works.
    """

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self.payload_type = payload_type
        self.ssrc: int = _require(sender, "_ssrc")
        self._extensions: HeaderExtensionsMap = _require(sender, _SENDER_EXTENSIONS)
        _require(sender, _SENDER_HISTORY)
        _require(sender, _SENDER_MID)
        for name in (_SENDER_NTP, _SENDER_RTP_TS, _SENDER_OCTETS, _SENDER_PACKETS, _SENDER_STARTED):
            _require(sender, name)
        self.history = SentHistory(self._extensions)
        setattr(sender, _SENDER_HISTORY, self.history)
        self._fields: dict[str, Any] = vars(sender)
        dtls = sender.transport
        self._dtls_fields: dict[str, Any] = vars(dtls)
        for name in (_DTLS_STATE, _DTLS_TX_SRTP, _DTLS_TX_BYTES, _DTLS_TX_PACKETS):
            _require(dtls, name)
        self._nominated: dict[int, Any] = _require(
            _require(dtls.transport, _ICE_CONNECTION), _ICE_NOMINATED
        )
        # The extension block, per audio level (None: no level, only the mid).
        self._blocks: dict[Any, tuple[int, bytes]] = {}
        self._pair: Any = None  # the nominated candidate pair
        self._address: Any = None  # its remote address
        self._way_out: Any = None  # its datagram transport
        self._backlog: Callable[[], int] = _nothing_waits
        # Sent since the counters were last brought up to date (_report).
        self._octets = self._packets = self._bytes = 0

    @property
    def started(self) -> bool:
        """True once the sender knows its negotiated parameters (mid, extensions)."""
        return bool(self._fields[_SENDER_STARTED])

    def _block(self, audio_level: Any) -> tuple[int, bytes]:
        values = HeaderExtensions()
        values.mid = self._fields[_SENDER_MID]
        values.audio_level = audio_level
        profile, value = self._extensions.set(values)
        block = pack("!HH", profile, len(value) >> 2) + value if value else b""
        first = 0x90 if block else 0x80  # version 2, extension bit when there is a block
        if len(self._blocks) < 512:  # levels are 7 bits and a flag; bound it anyway
            self._blocks[audio_level] = (first, block)
        return first, block

    def serialize(self, packet: RtpPacket, seq: int, timestamp: int) -> bytes:
        """`packet` with our payload type, SSRC, `seq` and `timestamp`: the bytes aiortc
        would write for it."""
        level = packet.extensions.audio_level
        first, block = self._blocks.get(level) or self._block(level)
        header = pack("!BBHLL", first, (packet.marker << 7) | self.payload_type, seq, timestamp,
                      self.ssrc)  # fmt: skip
        return header + block + packet.payload

    def _use(self, pair: Any, way_out: Any) -> None:
        self._pair = pair
        self._address = pair.remote_addr  # a new tuple on every read: keep one
        self._way_out = way_out
        # A TURN relay's transport keeps no buffer of its own to measure.
        self._backlog = getattr(way_out, "get_write_buffer_size", _nothing_waits)

    def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
        """Send `packet` renumbered to `seq` and `timestamp`, now. Returns False, having
        sent nothing, while more than MAX_BACKLOG_BYTES wait to leave (the link is stuck).

        Raises ConnectionError when the transport is not connected.
        """
        dtls = self._dtls_fields
        pair = self._nominated.get(1)
        if pair is None or dtls[_DTLS_STATE] is not _CONNECTED:
            raise ConnectionError("the subscriber's transport is not connected")
        # What aioice's StunProtocol.send_data does, without its coroutine.
        way_out = pair.protocol.transport
        if way_out is not self._way_out or pair is not self._pair:
            self._use(pair, way_out)
        if self._backlog() > MAX_BACKLOG_BYTES:
            return False
        data = self.serialize(packet, seq, timestamp)
        self.history[seq % RTP_HISTORY_SIZE] = data
        protected = dtls[_DTLS_TX_SRTP].protect(data)
        way_out.sendto(protected, self._address)
        self._bytes += len(protected)
        self._octets += len(packet.payload)
        self._packets += 1
        if packet.marker or self._packets >= REPORT_EVERY:
            self._report(timestamp)
        return True

    def _report(self, timestamp: int) -> None:
        """Bring aiortc's counters up to date: the sender's, for its next sender report
        (the time stamp pair is that of the packet just sent), and the transport's."""
        fields, dtls = self._fields, self._dtls_fields
        fields[_SENDER_NTP] = int((time.time() + NTP_EPOCH_OFFSET) * (1 << 32))
        fields[_SENDER_RTP_TS] = timestamp
        fields[_SENDER_OCTETS] += self._octets
        fields[_SENDER_PACKETS] += self._packets
        dtls[_DTLS_TX_BYTES] += self._bytes
        dtls[_DTLS_TX_PACKETS] += self._packets
        self._octets = self._packets = self._bytes = 0

    def clear(self) -> None:
        """What waits in the socket's buffer is no longer ours to drop."""
        return None


def _nothing_waits() -> int:
    return 0
