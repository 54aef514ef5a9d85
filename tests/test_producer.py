"""A producer splits what is too large, keeps the publisher's gaps, and repairs holes."""

from __future__ import annotations

import asyncio
import os

from aiortc.rtp import RtpPacket

from bridge.codec import Codec
from bridge.consumer import Consumer
from bridge.producer import Producer
from tests.test_consumer import KEY, RecordingPort, drain, packet

VP8 = Codec("VP8", 90000)


async def test_an_oversized_packet_goes_out_in_pieces_and_later_packets_make_room() -> None:
    producer = Producer("video", VP8, lambda ssrc: asyncio.sleep(0), split_above=1300)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    payload = KEY + os.urandom(1447)
    big = RtpPacket(
        payload_type=96, sequence_number=1, timestamp=1000, ssrc=1, marker=1, payload=payload
    )
    producer.receive(big)
    producer.receive(packet(2, 4000, bytes([0x10, 0x01, 0x00])))
    await drain()
    sizes = [len(p.payload) for p in port.sent]
    assert len(sizes) == 3 and max(sizes) <= 1200 and sum(sizes) == 1450 + 3 + 1
    assert [p.marker for p in port.sent] == [0, 1, 1]  # the frame still ends where it did
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    assert producer.packets_split == 1
    consumer.close()


async def test_a_hole_the_publisher_never_fills_ends_in_one_keyframe_request() -> None:
    plis: list[int] = []
    nacks: list[list[int]] = []

    async def pli(ssrc: int) -> None:
        plis.append(ssrc)

    async def nack(ssrc: int, lost: list[int]) -> None:
        nacks.append(lost)

    producer = Producer("video", VP8, pli, send_nack=nack, pli_interval=0.0)
    assert producer.losses is not None
    producer.losses.renack_after, producer.losses.hole_timeout = 0.01, 0.05
    producer.receive(packet(1, 1000, KEY, ssrc=5))
    producer.receive(packet(3, 4000, KEY, ssrc=5))  # 2 is lost, and stays lost
    for seq in range(4, 12):
        await asyncio.sleep(0.012)
        producer.receive(packet(seq, 1000 + 3000 * seq, KEY, ssrc=5))
    await drain()
    assert nacks and all(lost == [2] for lost in nacks)
    assert plis == [5] and producer.losses.holes_given_up == 1


async def test_a_packet_the_producer_cannot_handle_is_counted_not_raised() -> None:
    h264 = Codec("H264", 90000, {"packetization-mode": "1"})
    producer = Producer("video", h264, lambda ssrc: asyncio.sleep(0), split_above=1300)
    port = RecordingPort()
    consumer = Consumer("video", port, h264)
    consumer.attach(producer)
    consumer.start()
    fu_b = bytes([0x1D]) * 2000  # FU-B: not allowed in packetization mode 1, cannot be split
    producer.receive(RtpPacket(payload_type=96, sequence_number=1, ssrc=1, payload=fu_b))
    producer.receive(RtpPacket(payload_type=96, sequence_number=2, ssrc=1, payload=b"\x65\x00"))
    await drain()
    assert producer.drops.total == 1
    assert [p.payload for p in port.sent] == [b"\x65\x00"]  # the next packet still goes out
    consumer.close()


async def test_a_second_ssrc_is_dropped_until_the_first_falls_silent() -> None:
    producer = Producer("video", VP8, lambda ssrc: asyncio.sleep(0), media_ssrc=1)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(10, 1000, KEY, ssrc=1))
    producer.receive(packet(5000, 90, KEY, ssrc=9))  # a stray stream on the same track
    producer.receive(packet(11, 4000, bytes([0x10, 0x01, 0x00]), ssrc=1))
    await drain()
    assert len(port.sent) == 2 and producer.drops.counts["packet from a second SSRC"] == 1
    assert producer._ssrc_seen_at is not None
    producer._ssrc_seen_at -= 3.0  # the first stream has been silent: an encoder restart
    producer.receive(packet(5001, 3090, bytes([0x10, 0x01, 0x00]), ssrc=9))  # not a keyframe
    producer.receive(packet(5002, 6090, KEY, ssrc=9))
    await drain()
    assert producer.media_ssrc == 9 and [p.payload for p in port.sent][-1] == KEY
    assert len(port.sent) == 3  # the new stream starts at its keyframe
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    consumer.close()
