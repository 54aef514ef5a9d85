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
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensions,
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


class SenderPort:
    """Writes already-encoded RTP packets into an aiortc sender, bypassing its encoder.

    Per packet this is the hot path of the whole bridge, so the header extension
    block (only the constant mid once audio level is absent) is built once, and
    counters go straight into the sender's dict.
    """

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self._sender = sender
        self.payload_type = payload_type
        self.ssrc: int = _require(sender, "_ssrc")
        self._history: dict[int, RtpPacket] = _require(sender, _SENDER_HISTORY)
        self._extensions = _require(sender, _SENDER_EXTENSIONS)
        _require(sender, _SENDER_MID)
        for name in (_SENDER_NTP, _SENDER_RTP_TS, _SENDER_OCTETS, _SENDER_PACKETS, _SENDER_STARTED):
            _require(sender, name)
        self._fields: dict[str, Any] = vars(sender)
        self._mid_block: bytes | None = None  # RTP header extension carrying only the mid

    @property
    def started(self) -> bool:
        """True once the sender knows its negotiated parameters (mid, extensions)."""
        return bool(self._fields[_SENDER_STARTED])

    def _serialize(self, packet: RtpPacket) -> bytes:
        if packet.extensions.audio_level is not None:
            packet.extensions.mid = self._fields[_SENDER_MID]
            return packet.serialize(self._extensions)
        if self._mid_block is None:
            only_mid = HeaderExtensions()
            only_mid.mid = self._fields[_SENDER_MID]
            profile, value = self._extensions.set(only_mid)
            self._mid_block = pack("!HH", profile, len(value) >> 2) + value if value else b""
        block = self._mid_block
        first = 0x90 if block else 0x80  # version 2, extension bit when there is a block
        header = pack(
            "!BBHLL",
            first,
            (packet.marker << 7) | packet.payload_type,
            packet.sequence_number,
            packet.timestamp,
            packet.ssrc,
        )
        return header + block + packet.payload

    async def send(self, packet: RtpPacket) -> None:
        """Send `packet` (already rewritten to this sender's SSRC and numbering).

        Raises ConnectionError when the transport is not connected.
        """
        fields = self._fields
        self._history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
        await self._sender.transport._send_rtp(self._serialize(packet))
        fields[_SENDER_NTP] = int((time.time() + _NTP_EPOCH_OFFSET) * (1 << 32))
        fields[_SENDER_RTP_TS] = packet.timestamp
        fields[_SENDER_OCTETS] += len(packet.payload)
        fields[_SENDER_PACKETS] += 1


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
    history: dict[int, RtpPacket] = _require(sender, _SENDER_HISTORY)
    ssrc: int = _require(sender, "_ssrc")

    async def handle_rtcp(packet: Any) -> None:
        on_rtcp()
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            listener.request_keyframe()
            return
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
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
