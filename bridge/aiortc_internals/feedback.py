"""Feedback: what a subscriber's RTCP says goes to the bridge; keyframe and resend requests
go to a publisher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from .names import require as _require
from .send import _SENDER_HISTORY, SentHistory


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the remote publisher for a keyframe of `media_ssrc`."""
    await receiver._send_rtcp_pli(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    """Ask the remote publisher to send packets `lost` of `media_ssrc` again."""
    await receiver._send_rtcp_nack(media_ssrc, lost)


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
