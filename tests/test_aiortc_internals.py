"""Fails loudly when the installed aiortc no longer has the internals the bridge relies on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from bridge import aiortc_internals as internals
from bridge.errors import InternalsChanged
from tests.peers import NO_ICE_SERVERS


class Feedback:
    """Records what a subscriber's RTCP told the bridge."""

    def __init__(self) -> None:
        self.keyframes = 0
        self.lost: list[list[int]] = []
        self.reports: list[float] = []
        self.estimates: list[float] = []

    def request_keyframe(self) -> None:
        self.keyframes += 1

    def resend(self, lost: list[int]) -> None:
        self.lost.append(lost)

    def link_report(self, fraction_lost: float) -> None:
        self.reports.append(fraction_lost)

    def link_estimate(self, bitrate: float) -> None:
        self.estimates.append(bitrate)


async def test_installed_aiortc_has_every_internal_the_bridge_uses() -> None:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        video = pc.addTransceiver("video", direction="sendrecv")
        seen: list[object] = []
        internals.tap_receiver(video.receiver, seen.append)
        port = internals.SenderPort(video.sender, payload_type=96)
        assert port.ssrc == video.sender._ssrc
        assert not port.started
        internals.divert_feedback(video.sender, Feedback(), lambda: None)
        assert internals.negotiated_codecs(video) == []
        assert hasattr(video.receiver, "_send_rtcp_pli")
        assert hasattr(video.receiver, "_send_rtcp_nack")
        assert hasattr(video.sender, "_retransmit")
        assert hasattr(video.sender.transport, "_send_rtp")
    finally:
        await pc.close()


def test_missing_internal_raises_a_clear_error() -> None:
    class NotAReceiver:
        pass

    with pytest.raises(InternalsChanged, match="aiortc changed"):
        internals.tap_receiver(NotAReceiver(), lambda p: None)  # type: ignore[arg-type]


async def test_fast_serializer_writes_the_same_bytes_as_aiortcs() -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import RtpPacket

    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        port = internals.SenderPort(sender, payload_type=96)
        extension_map = vars(sender)["_RTCRtpSender__rtp_header_extensions_map"]
        extension_map.configure(
            RTCRtpParameters(
                headerExtensions=[
                    RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid")
                ]
            )
        )
        vars(sender)["_RTCRtpSender__mid"] = "0"
        for marker in (0, 1):
            fields = {
                "payload_type": 96,
                "marker": marker,
                "sequence_number": 65535,
                "timestamp": 2**32 - 1,
                "ssrc": port.ssrc,
                "payload": b"\x10\x00\x9d\x01\x2a",
            }
            packet, expected = RtpPacket(**fields), RtpPacket(**fields)  # type: ignore[arg-type]
            expected.extensions.mid = "0"
            assert port.serialize(packet, 65535, 2**32 - 1) == expected.serialize(extension_map)
    finally:
        await pc.close()


async def test_nacks_the_history_cannot_answer_and_link_reports_reach_the_bridge() -> None:
    from aiortc.rtp import (
        RTCP_PSFB_APP,
        RTCP_RTPFB_NACK,
        RtcpPsfbPacket,
        RtcpReceiverInfo,
        RtcpRrPacket,
        RtcpRtpfbPacket,
        RtpPacket,
        pack_remb_fci,
    )

    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        history = vars(sender)["_RTCRtpSender__rtp_history"]
        kept = RtpPacket(payload_type=96, sequence_number=70, ssrc=sender._ssrc)
        history[70 % internals.RTP_HISTORY_SIZE] = kept
        feedback = Feedback()
        internals.divert_feedback(sender, feedback, lambda: None)
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc)
        nack.lost = [70, 71, 70 + internals.RTP_HISTORY_SIZE]
        with pytest.raises(ConnectionError):  # aiortc then resends 70 itself: not connected here
            await sender._handle_rtcp_packet(nack)
        assert feedback.lost == [[71, 70 + internals.RTP_HISTORY_SIZE]]
        report = RtcpReceiverInfo(
            ssrc=sender._ssrc,
            fraction_lost=64,
            packets_lost=9,
            highest_sequence=1,
            jitter=0,
            lsr=0,
            dlsr=0,
        )
        await sender._handle_rtcp_packet(RtcpRrPacket(ssrc=1, reports=[report]))
        remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0)
        remb.fci = pack_remb_fci(800_000, [sender._ssrc])
        await sender._handle_rtcp_packet(remb)
        assert feedback.reports == [0.25] and feedback.estimates == [800_000]
    finally:
        await pc.close()


async def test_the_send_history_gives_aiortc_back_the_packet_it_holds() -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import RtpPacket

    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        port = internals.SenderPort(sender, payload_type=96)
        vars(sender)["_RTCRtpSender__rtp_header_extensions_map"].configure(
            RTCRtpParameters(
                headerExtensions=[
                    RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid")
                ]
            )
        )
        vars(sender)["_RTCRtpSender__mid"] = "0"
        # What aiortc's _retransmit reads is now the port's history of sent bytes.
        assert vars(sender)["_RTCRtpSender__rtp_history"] is port.history
        source = RtpPacket(payload_type=100, marker=1, sequence_number=7, payload=b"\x10\x00\x9d")
        seq = 70 + internals.RTP_HISTORY_SIZE
        port.history[seq % internals.RTP_HISTORY_SIZE] = port.serialize(source, seq, 1234)
        kept = port.history.get(seq % internals.RTP_HISTORY_SIZE)
        assert (kept.sequence_number, kept.timestamp, kept.ssrc) == (seq, 1234, port.ssrc)
        assert (kept.payload, kept.marker, kept.payload_type) == (source.payload, 1, 96)
        assert kept.extensions.mid == "0"
        assert port.history.holds(seq) and not port.history.holds(70)
    finally:
        await pc.close()


async def test_the_fast_receive_path_keeps_aiorts_feedback_and_recovers_a_lost_packet() -> None:
    """Real peers on loopback: a chair's packets reach the tap through the socket's callback,
    and what aiortc's receiver did for them still happens: receiver reports, and a lost
    packet asked for again (NACK) and taken back out of its RTX wrapping."""
    from aiortc import RTCSessionDescription
    from aiortc.rtp import RtcpRrPacket, RtpPacket

    from bridge.aiortc_internals.receive import _FastPath
    from tests.peers import start_publisher, wait_for

    bridge_pc = RTCPeerConnection(NO_ICE_SERVERS)
    arrived: dict[str, list[int]] = {"video": [], "audio": []}
    unwrapped: list[int] = []

    def keep(kind: str) -> Callable[[RtpPacket], None]:
        return lambda packet: arrived[kind].append(packet.sequence_number)

    @bridge_pc.on("track")
    def on_track(track: object) -> None:
        for transceiver in bridge_pc.getTransceivers():
            internals.tap_receiver(transceiver.receiver, keep(transceiver.kind))

    async def answer(offer: str) -> str:
        await bridge_pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await bridge_pc.setLocalDescription(await bridge_pc.createAnswer())
        return bridge_pc.localDescription.sdp

    chair = await start_publisher(answer)
    try:
        video = next(t for t in chair.pc.getTransceivers() if t.kind == "video")
        video_sender = video.sender
        video_type = internals.negotiated_codecs(video)[0].payloadType
        reports: list[int] = []
        handle_rtcp = video_sender._handle_rtcp_packet

        async def heard(packet: Any) -> None:
            if isinstance(packet, RtcpRrPacket):
                reports.extend(r.highest_sequence for r in packet.reports)
            await handle_rtcp(packet)

        video_sender._handle_rtcp_packet = heard  # type: ignore[method-assign]
        await wait_for(lambda: len(arrived["video"]) > 20, 20, "video through the tap")
        # From here on, the chair's transport loses one video packet once.
        dtls = video_sender.transport
        send_rtp = dtls._send_rtp
        lost: list[int] = []

        async def lossy(data: bytes) -> None:
            seq = int.from_bytes(data[2:4], "big")
            if not lost and data[1] < 192 and data[1] & 0x7F == video_type:
                lost.append(seq)
                return
            await send_rtp(data)

        dtls._send_rtp = lossy  # type: ignore[method-assign]
        await wait_for(lambda: bool(lost) and lost[0] in arrived["video"], 20, "the lost packet")
        # It came back after later ones: a retransmission, unwrapped from RTX.
        position = arrived["video"].index(lost[0])
        unwrapped.extend(arrived["video"][position - 3 : position])
        assert any(((seq - lost[0]) & 0xFFFF) < 0x8000 for seq in unwrapped), unwrapped
        await wait_for(lambda: len(arrived["audio"]) > 20, 20, "audio through the tap")
        await wait_for(lambda: bool(reports), 20, "a receiver report")
        # Everything after the first packet came the fast way.
        fast_path = _FastPath.of(bridge_pc.getTransceivers()[0].receiver.transport)
        assert fast_path is not None and len(fast_path.receivers) == 2
    finally:
        await chair.close()
        await bridge_pc.close()
