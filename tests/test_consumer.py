"""A consumer's own numbering and the close cascade, driven packet by packet.

These feed hand-made RTP packets through a Producer into a Consumer whose port
records what it would send, to check the rewriting rules exactly; media over
real peers is covered in test_bridge.py. RecordingPort takes packets the way
the bridge's SenderPort does, in the producer's call; AwaitedPort the way the
program mixer's inputs do, through the consumer's queue.
"""

from __future__ import annotations

import asyncio

from aiortc.rtp import RtpPacket

from bridge.codec import Codec
from bridge.consumer import FINISH_FRAME_TIMEOUT, MAX_FAILURES_IN_A_ROW, Consumer
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
        self.stuck = False  # fault injection: the way out refuses packets

    def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
        if self.stuck:
            return False
        out = RtpPacket(
            payload_type=self.payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=self.ssrc,
            payload=packet.payload,
        )
        self.sent.append(out)
        return True

    def clear(self) -> None:
        return None


class AwaitedPort:
    payload_type = 100
    ssrc = 4242
    started = True

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    async def send(self, packet: RtpPacket) -> None:
        self.sent.append(packet)


async def no_pli(ssrc: int) -> None:
    return None


def packet(seq: int, ts: int, payload: bytes, ssrc: int = 1, marker: bool = True) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=payload,
        marker=int(marker),
    )


async def drain() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_consumer_waits_for_a_keyframe_and_keeps_the_publishers_gaps() -> None:
    producer = Producer("video", VP8, no_pli)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
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


async def test_packets_a_stuck_hall_skipped_leave_no_gap_for_it() -> None:
    producer = Producer("video", VP8, no_pli)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    port.stuck = True  # the hall's link: nothing more leaves for a while
    for seq in range(2, 5):
        producer.receive(packet(seq, 1000 + 3000 * seq, DELTA))
    port.stuck = False
    producer.receive(packet(5, 16000, DELTA))  # depends on what was lost: not sent
    producer.receive(packet(6, 30000, KEY))  # resumes at the next keyframe
    producer.receive(packet(7, 33000, DELTA))
    assert [p.payload for p in port.sent] == [KEY, KEY, DELTA]
    assert consumer.queue_resets >= 1 and consumer.packets_dropped == 4
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    consumer.close()


async def test_packets_a_queue_dropped_leave_no_gap_for_the_mixer() -> None:
    producer = Producer("video", VP8, no_pli)
    port = AwaitedPort()
    consumer = Consumer("video", port, VP8, max_queue_packets=3)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    await drain()
    for seq in range(2, 8):  # the port stalls: the queue overflows and is dropped
        producer.receive(packet(seq, 1000 + 3000 * seq, DELTA))
    producer.receive(packet(8, 30000, KEY))  # resumes at the next keyframe
    producer.receive(packet(9, 33000, DELTA))
    await drain()
    seqs = [p.sequence_number for p in port.sent]
    assert port.sent[-2].payload == KEY and consumer.queue_resets >= 1
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    producer.receive(packet(5, 16000, DELTA))  # a late packet from the skipped stretch
    await drain()
    assert [p.sequence_number for p in port.sent] == seqs  # has no slot: dropped
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

    producer = Producer("video", VP8, no_pli)
    port = PickyPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    producer.receive(packet(2, 4000, DELTA + b"xxxx"))
    producer.receive(packet(3, 7000, DELTA))
    await drain()
    assert [p.payload for p in port.sent] == [KEY, DELTA]
    assert consumer.drops.counts["not sent"] == 1 and not consumer.closed
    consumer.close()


async def test_timestamps_continue_when_a_new_publisher_takes_over() -> None:
    router = Router()
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    router.add_consumer(consumer, "chair")
    consumer.start()
    old = Producer("video", VP8, no_pli)
    router.publish("chair", [old])
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


async def test_a_new_publisher_takes_over_only_after_the_half_sent_frame_is_finished() -> None:
    router = Router()
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    router.add_consumer(consumer, "chair")
    consumer.start()
    old = Producer("video", VP8, no_pli)
    router.publish("chair", [old])
    old.receive(packet(1, 1000, KEY, ssrc=1))
    # The next frame comes in two packets; only the first has gone out when the switch comes.
    old.receive(RtpPacket(payload_type=96, sequence_number=2, timestamp=4000, ssrc=1,
                          payload=KEY, marker=0))  # fmt: skip
    new = Producer("video", VP8, no_pli)
    router.publish("chair", [new])
    new.receive(packet(900, 50, KEY, ssrc=2))  # kept for the replay, not sent yet
    assert not old.closed and consumer.producer is old
    old.receive(packet(3, 4000, DELTA, ssrc=1))  # the frame's end
    old.receive(packet(4, 7000, DELTA, ssrc=1))  # the frame after: not ours any more
    new.receive(packet(901, 3050, DELTA, ssrc=2))
    await drain()
    assert [(p.payload, p.marker) for p in port.sent] == [
        (KEY, 1), (KEY, 0), (DELTA, 1), (KEY, 1), (DELTA, 1)
    ]  # fmt: skip
    seqs = [p.sequence_number for p in port.sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    assert old.closed and consumer.producer is new  # it closed once nobody finished with it
    router.close()


async def test_a_half_sent_frame_that_never_ends_is_given_up_and_the_old_publisher_closes() -> None:
    router = Router()
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    router.add_consumer(consumer, "chair")
    consumer.start()
    old = Producer("video", VP8, no_pli)
    router.publish("chair", [old])
    old.receive(packet(1, 1000, KEY, ssrc=1))
    old.receive(RtpPacket(payload_type=96, sequence_number=2, timestamp=4000, ssrc=1,
                          payload=DELTA, marker=0))  # fmt: skip
    new = Producer("video", VP8, no_pli)
    new.receive(packet(900, 50, KEY, ssrc=2))
    router.publish("chair", [new])  # and the old publisher falls silent
    await asyncio.sleep(FINISH_FRAME_TIMEOUT + 0.1)
    assert consumer.producer is new and old.closed
    assert [p.payload for p in port.sent] == [KEY, DELTA, KEY]
    router.close()


async def test_a_picture_cut_by_a_stuck_hall_leaves_a_gap_so_it_is_dropped_not_shown() -> None:
    producer = Producer("video", VP8, no_pli)
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    consumer.attach(producer)
    consumer.start()
    producer.receive(packet(1, 1000, KEY))
    producer.receive(packet(2, 4000, DELTA, marker=False))  # a picture's first half leaves
    port.stuck = True
    producer.receive(packet(3, 4000, b"\x00\x00\x00"))  # its end cannot
    port.stuck = False
    producer.receive(packet(4, 7000, KEY))
    first, half, key = port.sent
    assert key.payload == KEY
    assert (key.sequence_number - half.sequence_number) & 0xFFFF == 2  # the end looks lost
    consumer.close()
