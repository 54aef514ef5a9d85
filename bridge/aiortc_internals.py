"""The only module that touches aiortc's private internals, so forwarding needs no codec.

aiortc decodes everything it receives and encodes everything it sends. A
forwarding bridge needs neither, so this module:

- taps a receiver where its jitter buffer would be: packets arrive there after
  SRTP, RTX unwrapping, NACK generation, REMB and RTCP statistics, which we keep;
- writes packets straight into a sender, keeping its NACK history, header
  extension map and sender-report counters consistent, so aiortc's own RTCP
  (sender reports, NACK retransmission over RTX) keeps working;
- diverts the PLI/FIR a subscriber sends, which aiortc would turn into a flag
  for an encoder that does not exist here, and tells the bridge which packets a
  subscriber asks for (NACK) that the sender's history no longer holds, and
  what its receiver reports and REMB say of its link;
- sends NACKs to a publisher for holes that stay open.

pyproject.toml pins aiortc to the releases this was checked against, and
tests/test_aiortc_internals.py fails loudly when any name below disappears.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from struct import pack
from typing import Any, Protocol

from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from .errors import InternalsChanged

PacketHandler = Callable[[RtpPacket], None]
_NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
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


def _require(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError as exc:
        raise InternalsChanged(
            f"aiortc changed: {type(obj).__name__} has no {name}; "
            "check bridge/aiortc_internals.py against the installed aiortc"
        ) from exc


class _ForwardingTap:
    """Stands in for a receiver's jitter buffer: hands each packet on, builds no frame."""

    def __init__(self, on_packet: PacketHandler) -> None:
        self._on_packet = on_packet

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self._on_packet(packet)
        return False, None


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketHandler) -> None:
    """Make `receiver` hand every media packet to `on_packet` instead of decoding it."""
    _require(receiver, _RECEIVER_JITTER_BUFFER)
    setattr(receiver, _RECEIVER_JITTER_BUFFER, _ForwardingTap(on_packet))


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the remote publisher for a keyframe of `media_ssrc`."""
    await receiver._send_rtcp_pli(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    """Ask the remote publisher to send packets `lost` of `media_ssrc` again."""
    await receiver._send_rtcp_nack(media_ssrc, lost)


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[Any]:
    return list(_require(transceiver, "_codecs"))


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
    built once per value, and the sender's history and report counters are kept
    as aiortc keeps them, so its RTCP (sender reports, NACK over RTX) still works.
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
        self._blocks: dict[Any, bytes] = {}
        self._pair: Any = None  # the nominated candidate pair
        self._address: Any = None  # its remote address
        self._way_out: Any = None  # its datagram transport
        self._backlog: Callable[[], int] = _nothing_waits

    @property
    def started(self) -> bool:
        """True once the sender knows its negotiated parameters (mid, extensions)."""
        return bool(self._fields[_SENDER_STARTED])

    def _block(self, audio_level: Any) -> bytes:
        values = HeaderExtensions()
        values.mid = self._fields[_SENDER_MID]
        values.audio_level = audio_level
        profile, value = self._extensions.set(values)
        block = pack("!HH", profile, len(value) >> 2) + value if value else b""
        if len(self._blocks) < 512:  # levels are 7 bits and a flag; bound it anyway
            self._blocks[audio_level] = block
        return block

    def serialize(self, packet: RtpPacket, seq: int, timestamp: int) -> bytes:
        """`packet` with our payload type, SSRC, `seq` and `timestamp`: the bytes aiortc
        would write for it."""
        level = packet.extensions.audio_level
        block = self._blocks.get(level)
        if block is None:
            block = self._block(level)
        first = 0x90 if block else 0x80  # version 2, extension bit when there is a block
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
        if dtls[_DTLS_STATE] is not _CONNECTED or pair is None:
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
        dtls[_DTLS_TX_BYTES] += len(protected)
        dtls[_DTLS_TX_PACKETS] += 1
        fields = self._fields
        fields[_SENDER_NTP] = int((time.time() + _NTP_EPOCH_OFFSET) * (1 << 32))
        fields[_SENDER_RTP_TS] = timestamp
        fields[_SENDER_OCTETS] += len(packet.payload)
        fields[_SENDER_PACKETS] += 1
        return True

    def clear(self) -> None:
        """What waits in the socket's buffer is no longer ours to drop."""
        return None


def _nothing_waits() -> int:
    return 0


class FeedbackListener(Protocol):
    """What a subscriber's RTCP tells the bridge (a Consumer)."""

    def request_keyframe(self) -> None: ...

    def resend(self, lost: list[int]) -> None: ...

    def link_report(self, fraction_lost: float) -> None: ...

    def link_estimate(self, bitrate: float) -> None: ...


def divert_feedback(
    sender: RTCRtpSender, listener: FeedbackListener, on_rtcp: Callable[[], None]
) -> None:
    """Route a subscriber's RTCP about `sender`'s stream to `listener`; note every packet.

    PLI/FIR go only to the listener. NACKs go to aiortc, which answers them from
    the history SenderPort fills, and the packets it cannot answer to the
    listener. Receiver reports and REMB go to both.
    """
    original = _require(sender, "_handle_rtcp_packet")
    ssrc: int = _require(sender, "_ssrc")

    async def handle_rtcp(packet: Any) -> None:
        on_rtcp()
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            listener.request_keyframe()
            return
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            history = getattr(sender, _SENDER_HISTORY)
            if isinstance(history, SentHistory):
                missing = [seq for seq in packet.lost if not history.holds(seq)]
            else:  # a sender no SenderPort writes to
                missing = []
                for seq in packet.lost:
                    kept = history.get(seq % RTP_HISTORY_SIZE)
                    if kept is None or kept.sequence_number != seq:
                        missing.append(seq)
            if missing:
                listener.resend(missing)
        elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    listener.link_report(report.fraction_lost / 256)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                pass
            else:
                if ssrc in ssrcs:
                    listener.link_estimate(bitrate)
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
