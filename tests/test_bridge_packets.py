"""What the bridge does with the chair's packets, with real aiortc peers: splits what is too
large, passes repairs upstream, serves each hall the rendition it can take, and drops odd ones."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest
from aiortc import RTCPeerConnection

from bridge.bridge import MAX_SUBSCRIBE_SECTIONS, Bridge
from bridge.errors import BadOffer
from bridge.producer import Producer
from tests.conftest import publish_via, subscribe_via
from tests.peers import start_publisher, start_viewer, wait_for


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_packets_too_large_to_send_are_split_and_halls_decode_intact_pictures(
    codec: str,
) -> None:
    # aiortc's publisher never exceeds what SRTP can protect, so lower the bar instead.
    bridge = Bridge(idle_timeout=3.0, split_above=300)
    bridge.start()
    publisher = await start_publisher(
        publish_via(bridge), codec=codec, audio=False, width=640, height=480
    )
    viewers = [await start_viewer(subscribe_via(bridge), audio=False) for _ in range(2)]
    try:
        await wait_for(lambda: all(v.pictures.decoded >= 40 for v in viewers), 20, "frames")
        assert producer_of(bridge).packets_split > 0
        # Each picture is redrawn from its stamped number and compared, tile by tile.
        for viewer in viewers:
            assert viewer.pictures.intact == viewer.pictures.decoded
    finally:
        for v in viewers:
            await v.close()
        await publisher.close()
        await bridge.close()


async def test_a_nack_the_bridge_cannot_answer_reaches_the_chair_in_its_own_numbers(
    bridge: Bridge,
) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    viewer = await start_viewer(subscribe_via(bridge), audio=False)
    try:
        (sender,) = [t.sender for t in publisher.pc.getTransceivers()]
        asked: list[int] = []
        real_retransmit = sender._retransmit

        async def recording_retransmit(seq: int) -> None:
            asked.append(seq)
            await real_retransmit(seq)

        sender._retransmit = recording_retransmit  # type: ignore[method-assign,assignment]
        (session,) = [s for s in bridge.sessions.values() if s.direction == "subscribe"]
        (consumer,) = session.consumers
        await wait_for(lambda: consumer.packets_sent > 300, 20, "300 packets forwarded")
        # Long gone from the bridge's 128-packet send history, so only the chair has it.
        lost = (consumer.numbers.next_seq - 250) & 0xFFFF
        (receiver,) = [t.receiver for t in viewer.pc.getTransceivers()]
        await receiver._send_rtcp_nack(consumer._port.ssrc, [lost])
        await wait_for(lambda: bool(asked), 5, "the NACK at the chair")
        assert asked == [(lost - consumer.numbers.seq_offset) & 0xFFFF]
        assert consumer.nacks_passed_upstream == 1
    finally:
        await viewer.close()
        await publisher.close()


async def test_a_hall_on_a_weak_link_moves_to_the_light_rendition_and_keeps_a_clean_picture(
    bridge: Bridge,
) -> None:
    publisher = await start_publisher(
        publish_via(bridge), audio=False, width=480, height=360, light=(320, 240)
    )
    weak, strong = [await start_viewer(subscribe_via(bridge), audio=False) for _ in range(2)]
    try:
        await wait_for(lambda: weak.frame_size == (480, 360), 20, "the full picture")
        assert [p.rendition for p in bridge.router.renditions("chair", "video")] == [0, 1]
        # Sessions are kept in the order they were made: the weak hall's came first.
        consumer = [s for s in bridge.sessions.values() if s.direction == "subscribe"][0].consumers[
            0
        ]
        consumer.link_report(0.3)  # what the weak hall's receiver report says
        await wait_for(lambda: weak.frame_size == (320, 240), 10, "the light picture")
        seen = weak.pictures.decoded
        await wait_for(lambda: weak.pictures.decoded >= seen + 30, 10, "light frames")
        assert consumer.rendition == 1
        assert weak.pictures.intact == weak.pictures.decoded  # intact across the switch
        assert strong.frame_size == (480, 360)  # the other hall is untouched
    finally:
        await weak.close()
        await strong.close()
        await publisher.close()


async def test_a_viewer_offer_with_more_sections_than_any_page_needs_is_refused(
    bridge: Bridge,
) -> None:
    pc = RTCPeerConnection()
    for _ in range(MAX_SUBSCRIBE_SECTIONS + 1):
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    try:
        with pytest.raises(BadOffer, match="media sections at most"):
            await bridge.subscribe(pc.localDescription.sdp, "hall")
        assert bridge.sessions == {}
    finally:
        await pc.close()


def producer_of(bridge: Bridge) -> Producer:
    producer = bridge.router.producer("chair", "video")
    assert producer is not None
    return producer


def _odd_packet(payload_type: int, seq: int, ssrc: int) -> bytes:
    """Raw RTP with a one-byte header extension the bridge never negotiated (id 14)."""
    header = struct.pack("!BBHLL", 0x90, payload_type, seq, seq * 3000, ssrc)
    extension = struct.pack("!HH", 0xBEDE, 1) + bytes([0xE1, 0xAB, 0xCD, 0x00])
    return header + extension + bytes([0x10, 0x00, 0x9D]) + os.urandom(600)


async def test_odd_packets_from_the_chair_cost_only_themselves(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge), audio=False)
    viewer = await start_viewer(subscribe_via(bridge), audio=False)
    try:
        await wait_for(lambda: viewer.pictures.intact >= 10, 20, "intact pictures")
        (transceiver,) = publisher.pc.getTransceivers()
        sender, video_type = transceiver.sender, int(transceiver._codecs[0].payloadType or 0)
        start = viewer.pictures.tally()
        for seq in range(200):
            # A stray stream with an unknown extension, and a payload type never negotiated.
            await sender.transport._send_rtp(_odd_packet(video_type, seq, 0x5EED))
            await sender.transport._send_rtp(_odd_packet(77, seq, 0x7777))
            await asyncio.sleep(0.005)
        window = viewer.pictures.tally().since(start)
        producer = producer_of(bridge)
        assert producer.drops.counts["packet from a second SSRC"] >= 150
        assert window.damaged == 0 and window.intact >= 20, str(window)
    finally:
        await viewer.close()
        await publisher.close()
