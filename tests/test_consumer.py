"""A consumer's own numbering and the close cascade, driven packet by packet.

These feed hand-made RTP packets through a Producer into a Consumer whose port
records what it would send, to check the rewriting rules exactly; media over
real peers is covered in test_bridge.py.
"""

from __future__ import annotations

import asyncio

from aiortc.rtp import RtpPacket

from bridge.codec import Codec
from bridge.consumer import Consumer
from bridge.producer import MAX_REPLAY_PACKETS, Producer
from bridge.router import Router

KEY = bytes([0x10, 0x00, 0x9D])  # VP8: start of partition 0, keyframe
DELTA = bytes([0x10, 0x01, 0x00])  # VP8: start of partition 0, interframe
VP8 = Codec("VP8", 90000)


class RecordingPort:
    payload_type = 100
    ssrc = 4242
    started = True

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    async def send(self, packet: RtpPacket) -> None:
        self.sent.append(packet)


async def no_pli(ssrc: int) -> None:
    return None


def packet(seq: int, ts: int, payload: bytes, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(
        payload_type=96, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=payload, marker=1
    )


async def drain() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_consumer_waits_for_a_keyframe_then_numbers_packets_without_gaps() -> None:
    producer = Producer("video", VP8, no_pli)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(10, 1000, DELTA))  # no keyframe yet: skipped
    producer.receive(packet(11, 4000, KEY))
    producer.receive(packet(13, 7000, DELTA))  # the publisher lost 12: not our gap to fill
    await drain()
    assert [p.payload for p in port.sent] == [KEY, DELTA]
    assert {p.ssrc for p in port.sent} == {4242} and {p.payload_type for p in port.sent} == {100}
    first, second = port.sent
    assert (second.sequence_number - first.sequence_number) & 0xFFFF == 1
    assert second.timestamp - first.timestamp == 3000
    consumer.close()


async def test_timestamps_continue_when_a_new_publisher_takes_over() -> None:
    router = Router()
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    router.add_consumer(consumer)
    consumer.start()
    old = Producer("video", VP8, no_pli)
    router.set_producer(old)
    old.receive(packet(1, 500_000, KEY, ssrc=1))
    await drain()
    new = Producer("video", VP8, no_pli)
    router.set_producer(new)
    assert old.closed and consumer.producer is new
    new.receive(packet(9000, 12, KEY, ssrc=2))  # a fresh encoder starts anywhere
    await drain()
    before, after = port.sent
    assert (after.sequence_number - before.sequence_number) & 0xFFFF == 1
    assert 0 < (after.timestamp - before.timestamp) & 0xFFFFFFFF < 90000
    router.close()


async def test_a_new_consumer_replays_the_group_of_pictures_squeezed_behind_live() -> None:
    producer = Producer("video", VP8, no_pli)
    for seq, ts, payload in [(1, 1000, KEY), (2, 4000, DELTA), (3, 7000, DELTA)]:
        producer.receive(packet(seq, ts, payload))
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    await drain()
    assert [p.payload for p in port.sent] == [KEY, DELTA, DELTA]
    first = port.sent[0].timestamp
    # One tick apart: the decoder gets every frame it needs, the player shows them at once.
    assert [p.timestamp - first for p in port.sent] == [0, 1, 2]
    producer.receive(packet(4, 10000, DELTA))  # live again, at the stream's own pace
    await drain()
    assert port.sent[-1].payload == DELTA
    assert port.sent[-1].timestamp - port.sent[-2].timestamp == 3000
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    consumer.close()


async def test_a_group_too_long_to_replay_gives_the_keyframe_then_waits_for_the_next() -> None:
    producer = Producer("video", VP8, no_pli)
    producer.receive(packet(1, 1000, KEY))
    for n in range(MAX_REPLAY_PACKETS + 1):
        producer.receive(packet(2 + n, 4000 + 3000 * n, DELTA))
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    await drain()
    assert [p.payload for p in port.sent] == [KEY]
    producer.receive(packet(9000, 10_000_000, DELTA))  # depends on frames it never got
    producer.receive(packet(9001, 10_003_000, KEY))
    await drain()
    assert [p.payload for p in port.sent] == [KEY, KEY]
    consumer.close()


async def test_close_cascades_even_when_a_listener_throws() -> None:
    router = Router()
    producer = Producer("video", VP8, no_pli)
    consumer = Consumer("video", RecordingPort(), VP8)
    router.set_producer(producer)
    router.add_consumer(consumer)
    closed: list[str] = []

    def explode() -> None:
        raise RuntimeError("a broken listener")

    producer.on("close", explode)
    producer.on("close", lambda: closed.append("producer"))
    consumer.on("close", lambda: closed.append("consumer"))
    router.close()
    router.close()  # idempotent
    assert sorted(closed) == ["consumer", "producer"]
    assert producer.closed and consumer.closed and router.producers == {}


async def test_a_consumer_that_cannot_send_closes_instead_of_freezing_its_hall() -> None:
    class BrokenPort(RecordingPort):
        async def send(self, packet: RtpPacket) -> None:
            raise RuntimeError("fault injection: the sender broke")

    producer = Producer("video", VP8, no_pli)
    consumer = Consumer("video", BrokenPort(), VP8)
    closed: list[bool] = []
    consumer.on("close", lambda: closed.append(True))
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    await drain()
    assert closed == [True] and consumer.closed
    assert producer.consumers == {}
