"""A consumer's own numbering and the close cascade, driven packet by packet.

These feed hand-made RTP packets through a Producer into a Consumer whose port
records what it would send (tests/consumer_builders.py), to check the rewriting
rules exactly; media over real peers is covered in test_bridge.py. What a consumer
skips, and how the subscriber sees it, is in test_consumer_skips.py.
"""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from bridge.consumer import MAX_FAILURES_IN_A_ROW, Consumer
from bridge.producer import MAX_REPLAY_PACKETS, Producer
from bridge.router import Router
from tests.consumer_builders import (
    DELTA,
    KEY,
    VP8,
    RecordingPort,
    chair_watched,
    drain,
    no_pli,
    packet,
    watching,
)


async def test_consumer_waits_for_a_keyframe_and_keeps_the_publishers_gaps() -> None:
    producer, port, consumer = watching(RecordingPort())
    producer.receive(packet(10, 1000, DELTA))  # no keyframe yet: skipped
    producer.receive(packet(11, 4000, KEY))
    producer.receive(packet(13, 7000, DELTA))  # the publisher's link lost 12
    await drain()
    assert [p.payload for p in port.sent] == [KEY, DELTA]
    assert {p.ssrc for p in port.sent} == {4242} and {p.payload_type for p in port.sent} == {100}
    first, second = port.sent
    # The hall must see the hole, or it will never ask for 12 again.
    assert (second.sequence_number - first.sequence_number) & 0xFFFF == 2
    assert second.timestamp - first.timestamp == 3000
    producer.receive(packet(12, 4000, DELTA))  # the retransmission fills its own slot
    await drain()
    assert (port.sent[2].sequence_number - first.sequence_number) & 0xFFFF == 1
    consumer.close()


async def test_a_hall_asking_for_a_packet_the_bridge_lacks_is_passed_upstream() -> None:
    asked: list[tuple[int, list[int]]] = []

    async def record_nack(ssrc: int, lost: list[int]) -> None:
        asked.append((ssrc, lost))

    producer = Producer("video", VP8, no_pli, send_nack=record_nack)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(100, 1000, KEY, ssrc=7))
    producer.receive(packet(102, 4000, DELTA, ssrc=7))
    await drain()
    first = port.sent[0].sequence_number
    # 101 was just asked for by the bridge's own receiver; 100 has left the hall's sender
    # history (as a long burst would push it out), so only the publisher still has it.
    consumer.resend([first, (first + 1) & 0xFFFF])  # the hall's NACK, in the hall's numbers
    await drain()
    assert asked == [(7, [100])]  # in the publisher's numbers
    consumer.resend([first])  # asked again at once: not repeated upstream
    await drain()
    assert asked == [(7, [100])]
    consumer.close()


async def test_a_packet_that_cannot_be_sent_costs_only_that_packet() -> None:
    class PickyPort(RecordingPort):
        def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
            if len(packet.payload) > 4:
                raise ValueError("packet is too long")
            return super().forward(packet, seq, timestamp)

    producer, port, consumer = watching(PickyPort())
    producer.receive(packet(1, 1000, KEY))
    producer.receive(packet(2, 4000, DELTA + b"xxxx"))
    producer.receive(packet(3, 7000, DELTA))
    await drain()
    assert [p.payload for p in port.sent] == [KEY, DELTA]
    assert consumer.drops.counts["not sent"] == 1 and not consumer.closed
    consumer.close()


async def test_timestamps_continue_when_a_new_publisher_takes_over() -> None:
    router, port, consumer, old = chair_watched()
    old.receive(packet(1, 500_000, KEY, ssrc=1))
    await drain()
    new = Producer("video", VP8, no_pli)
    router.publish("chair", [new])
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
    router.publish("chair", [producer])
    router.add_consumer(consumer, "chair")
    closed: list[str] = []

    def explode() -> None:
        raise RuntimeError("a broken listener")

    producer.on("close", explode)
    producer.on("close", lambda: closed.append("producer"))
    consumer.on("close", lambda: closed.append("consumer"))
    router.close()
    router.close()  # idempotent
    assert sorted(closed) == ["consumer", "producer"]
    assert producer.closed and consumer.closed and router.sources == {}


async def test_a_consumer_that_cannot_send_closes_instead_of_freezing_its_hall() -> None:
    class BrokenPort(RecordingPort):
        def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
            raise RuntimeError("fault injection: the sender broke")

    producer = Producer("video", VP8, no_pli)
    consumer = Consumer("video", BrokenPort(), VP8)
    closed: list[bool] = []
    consumer.on("close", lambda: closed.append(True))
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    for seq in range(2, MAX_FAILURES_IN_A_ROW + 2):  # every packet fails, not just one
        producer.receive(packet(seq, 1000 + 3000 * seq, DELTA))
    await drain()
    assert closed == [True] and consumer.closed
    assert producer.consumers == {}


async def test_a_lossy_hall_moves_to_the_light_rendition_at_its_keyframe_without_a_gap() -> None:
    router = Router()
    full, light = Producer("video", VP8, no_pli), Producer("video", VP8, no_pli)
    light.rendition = 1
    router.publish("chair", [full, light])
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    changes: list[int | None] = []
    consumer.on("renditionchange", lambda: changes.append(consumer.rendition))
    router.add_consumer(consumer, "chair")
    consumer.start()
    full.receive(packet(1, 1000, KEY, ssrc=1))
    light.receive(packet(500, 70000, KEY, ssrc=2))
    await drain()
    assert consumer.rendition == 0
    consumer.link_report(0.3)  # the hall lost 30 %: the full stream does not fit
    full.receive(packet(2, 4000, DELTA, ssrc=1))
    light.receive(packet(501, 73000, DELTA, ssrc=2))  # no keyframe yet: keep the full one
    full.receive(packet(3, 7000, DELTA, ssrc=1))
    light.receive(packet(502, 76000, KEY, ssrc=2))  # switch here
    full.receive(packet(4, 10000, DELTA, ssrc=1))
    light.receive(packet(503, 79000, DELTA, ssrc=2))
    await drain()
    assert changes == [1] and consumer.rendition == 1
    assert [p.payload for p in port.sent] == [KEY, DELTA, DELTA, KEY, DELTA]
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    stamps = [p.timestamp for p in port.sent]
    assert all(0 < (b - a) & 0xFFFFFFFF < 90000 for a, b in zip(stamps, stamps[1:], strict=False))
    assert full.consumers == {} and consumer.id in light.consumers
    router.close()


async def test_when_the_light_rendition_ends_its_halls_go_back_to_the_full_one() -> None:
    router = Router()
    full, light = Producer("video", VP8, no_pli), Producer("video", VP8, no_pli)
    light.rendition = 1
    router.publish("chair", [full, light])
    consumer = Consumer("video", RecordingPort(), VP8)
    router.add_consumer(consumer, "chair")
    consumer.start()
    consumer.link_report(0.3)
    light.receive(packet(1, 1000, KEY, ssrc=2))
    assert consumer.rendition == 1
    light.close()
    assert consumer.producer is full and router.renditions("chair", "video") == [full]
    router.close()
