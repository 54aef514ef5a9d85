"""Forwarding through the bridge with real aiortc peers on loopback."""

from __future__ import annotations

import asyncio

import pytest

from bridge.aiortc_internals import MAX_BACKLOG_BYTES
from bridge.bridge import Bridge
from bridge.errors import BadOffer, CodecUnsupported
from tests.conftest import publish_via, subscribe_via
from tests.edge import publishing
from tests.peers import start_publisher, start_viewer, wait_for


async def test_six_viewers_each_receive_the_chairs_frames_and_audio(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge))
    viewers = [await start_viewer(subscribe_via(bridge, f"hall:thon-{i}")) for i in range(1, 7)]
    try:
        await wait_for(lambda: all(v.frames >= 30 for v in viewers), 20, "30 frames at every hall")
        await wait_for(
            lambda: all(v.audio_frames >= 20 for v in viewers), 10, "audio at every hall"
        )
        assert publishing(bridge).live and publishing(bridge).video_codec == "VP8"
    finally:
        for v in viewers:
            await v.close()
        await publisher.close()


async def test_h264_publisher_is_forwarded_to_viewers(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge), codec="H264", audio=False)
    await wait_for(lambda: publishing(bridge).live, 10, "H.264 live")
    viewers = [await start_viewer(subscribe_via(bridge), audio=False) for _ in range(2)]
    try:
        await wait_for(lambda: all(v.frames >= 20 for v in viewers), 20, "H.264 frames")
        assert publishing(bridge).video_codec == "H264"
    finally:
        for v in viewers:
            await v.close()
        await publisher.close()


def count_plis_at(publisher_pc: object) -> list[int]:
    """Count keyframe requests arriving at the publisher's own video sender."""
    from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

    counter = [0]
    (sender,) = [s for s in publisher_pc.getSenders() if s.kind == "video"]  # type: ignore[attr-defined]
    original = sender._handle_rtcp_packet

    async def handle(packet: object) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            counter[0] += 1
        await original(packet)

    sender._handle_rtcp_packet = handle
    return counter


async def test_a_joining_viewer_makes_a_pli_reach_the_publisher(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    plis = count_plis_at(publisher.pc)
    first = await start_viewer(subscribe_via(bridge), audio=False)
    try:
        await wait_for(lambda: first.frames >= 5, 20, "the first viewer's frames")
        await wait_for(lambda: plis[0] >= 1, 5, "a PLI at the publisher")
        await asyncio.sleep(1.2)  # past the one-a-second throttle
        before = plis[0]
        second = await start_viewer(subscribe_via(bridge), audio=False)
        await wait_for(lambda: second.frames >= 5, 20, "the second viewer's frames")
        await wait_for(lambda: plis[0] > before, 5, "a PLI for the second viewer")
        await second.close()
    finally:
        await first.close()
        await publisher.close()


async def test_many_keyframe_requests_reach_the_publisher_at_most_once_a_second(
    bridge: Bridge,
) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    viewer = await start_viewer(subscribe_via(bridge), audio=False)
    try:
        await wait_for(lambda: viewer.frames >= 5, 20, "frames")
        producer = bridge.router.producer("chair", "video")
        assert producer is not None
        before = producer.plis_sent
        for _ in range(50):
            producer.request_keyframe()
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.1)
        assert producer.plis_sent - before <= 2
    finally:
        await viewer.close()
        await publisher.close()


async def test_viewers_wait_when_the_chair_drops_and_resume_when_it_returns(
    bridge: Bridge,
) -> None:
    publisher = await start_publisher(publish_via(bridge))
    viewer = await start_viewer(subscribe_via(bridge))
    try:
        await wait_for(lambda: viewer.frames >= 10, 20, "frames before the drop")
        await publisher.close()
        await wait_for(lambda: not publishing(bridge).live, 5, "the bridge to see the chair gone")
        assert len([s for s in bridge.sessions.values() if s.direction == "subscribe"]) == 1
        stalled = viewer.frames
        publisher = await start_publisher(publish_via(bridge))
        await wait_for(lambda: viewer.frames >= stalled + 20, 20, "frames after the return")
        assert publishing(bridge).live
    finally:
        await viewer.close()
        await publisher.close()


SECOND_CHAIR = 500_000  # the second chair's frame numbers start here


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_a_new_chair_stream_takes_over_at_its_keyframe_with_no_damaged_picture(
    bridge: Bridge, codec: str
) -> None:
    old = await start_publisher(publish_via(bridge), audio=False, codec=codec)
    viewers = [await start_viewer(subscribe_via(bridge), audio=False) for _ in range(2)]
    try:
        await wait_for(lambda: all(v.frames >= 30 for v in viewers), 20, "the first chair")
        first_session = publishing(bridge).session_id
        new = await start_publisher(
            publish_via(bridge), audio=False, codec=codec, first=SECOND_CHAIR
        )
        await wait_for(
            lambda: publishing(bridge).session_id not in (None, first_session), 10, "the switch"
        )
        await wait_for(lambda: first_session not in bridge.sessions, 5, "the old session closed")
        now = [v.frames for v in viewers]
        await wait_for(
            lambda: all(v.frames >= n + 30 for v, n in zip(viewers, now, strict=True)),
            20,
            "frames from the new chair",
        )
        for viewer in viewers:
            verdicts = list(viewer.pictures.recent)
            sources = [v.number >= SECOND_CHAIR for v in verdicts]
            switch = sources.index(True)
            assert all(sources[switch:]), "a picture of the old chair after the new one's"
            damaged = [
                (i - switch, v.number, round(v.damage))
                for i, v in enumerate(verdicts)
                if not v.intact
            ]
            assert damaged == [], f"damaged pictures around the switch (at 0): {damaged}"
        await new.close()
    finally:
        for viewer in viewers:
            await viewer.close()
        await old.close()


class StuckLink:
    """Fault injection: a way out that takes datagrams and never lets them leave, as a
    socket whose buffer stays full would (asyncio then keeps them in its own buffer)."""

    def __init__(self) -> None:
        self.held = 0

    def sendto(self, data: bytes, address: object = None) -> None:
        self.held += len(data)

    def get_write_buffer_size(self) -> int:
        return self.held


async def test_a_stalled_viewer_skips_to_a_keyframe_without_slowing_the_others(
    bridge: Bridge,
) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    slow = await start_viewer(subscribe_via(bridge, "slow"), audio=False)
    fast = await start_viewer(subscribe_via(bridge, "fast"), audio=False)
    try:
        await wait_for(lambda: slow.frames >= 5 and fast.frames >= 5, 20, "frames")
        (slow_session,) = [s for s in bridge.sessions.values() if s.label == "slow"]
        (consumer,) = slow_session.consumers
        (transceiver,) = slow_session.pc.getTransceivers()
        pair = transceiver.sender.transport.transport._connection._nominated[1]
        real_way_out, stuck = pair.protocol.transport, StuckLink()
        pair.protocol.transport = stuck  # type: ignore[assignment]
        before = fast.frames
        try:
            await wait_for(lambda: consumer.queue_resets >= 1, 20, "the slow hall to skip")
            await wait_for(lambda: fast.frames >= before + 45, 10, "the fast hall to keep up")
            await wait_for(lambda: consumer.packets_dropped > 0, 10, "packets the slow one skips")
        finally:
            pair.protocol.transport = real_way_out
        stalled_at = slow.frames
        # It stopped sending once the backlog passed the bound: memory stays bounded.
        assert stuck.held <= MAX_BACKLOG_BYTES + 1500
        await wait_for(lambda: slow.frames >= stalled_at + 5, 10, "the slow hall back")
    finally:
        await slow.close()
        await fast.close()
        await publisher.close()


async def test_bad_offers_leave_no_session_behind(bridge: Bridge) -> None:
    for offer in ["", "garbage", "v=0\r\ns=-\r\n"]:
        with pytest.raises(BadOffer):
            await bridge.subscribe(offer, "x")
    assert bridge.sessions == {}


async def test_a_viewer_without_the_chairs_codec_is_refused_clearly(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge), codec="H264", audio=False)
    try:
        await wait_for(lambda: publishing(bridge).live, 10, "H.264 live")
        with pytest.raises(CodecUnsupported, match="cannot receive H264"):
            await start_viewer(subscribe_via(bridge), audio=False, video_codecs=("VP8",))
        assert [s.direction for s in bridge.sessions.values()] == ["publish"]
    finally:
        await publisher.close()


async def test_a_nack_is_answered_from_the_bridges_own_send_history(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    viewer = await start_viewer(subscribe_via(bridge), audio=False)
    try:
        await wait_for(lambda: viewer.frames >= 10, 20, "frames")
        (session,) = [s for s in bridge.sessions.values() if s.direction == "subscribe"]
        (consumer,) = session.consumers
        (transceiver,) = session.pc.getTransceivers()
        rtx_types = {c.payloadType for c in transceiver._codecs if c.name.lower() == "rtx"}
        assert rtx_types, "the viewer negotiated RTX"
        # Watch what the bridge's side of this viewer's transport sends (before SRTP).
        transport = transceiver.sender.transport
        sent_types: list[int] = []
        real_send = transport._send_rtp

        async def recording_send(data: bytes) -> None:
            if len(data) > 1 and not 192 <= data[1] <= 223:  # RTP, not RTCP
                sent_types.append(data[1] & 0x7F)
            await real_send(data)

        transport._send_rtp = recording_send  # type: ignore[method-assign]
        lost = (consumer.numbers.next_seq - 3) & 0xFFFF  # a packet the bridge sent moments ago
        (receiver,) = [t.receiver for t in viewer.pc.getTransceivers()]
        await receiver._send_rtcp_nack(consumer._port.ssrc, [lost])
        await wait_for(lambda: bool(rtx_types & set(sent_types)), 5, "an RTX retransmission")
        assert publisher.pc.connectionState == "connected"
    finally:
        await viewer.close()
        await publisher.close()
