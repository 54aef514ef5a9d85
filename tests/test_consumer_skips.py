"""What a consumer skips, and how its subscriber sees the skip: packets a stuck hall or a
full queue dropped leave no gap, a picture cut short does (either way), and a new publisher takes
over only after the half-sent picture of the old one ends. Packet by packet."""

from __future__ import annotations

import asyncio

from bridge.consumer import FINISH_FRAME_TIMEOUT
from bridge.producer import Producer
from tests.consumer_builders import (
    DELTA,
    KEY,
    VP8,
    AwaitedPort,
    RecordingPort,
    chair_watched,
    drain,
    no_pli,
    packet,
    watching,
)


async def test_packets_a_stuck_hall_skipped_leave_no_gap_for_it() -> None:
    producer, port, consumer = watching(RecordingPort())
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
    producer, port, consumer = watching(AwaitedPort(), max_queue_packets=3)
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


async def test_a_new_publisher_takes_over_only_after_the_half_sent_frame_is_finished() -> None:
    router, port, consumer, old = chair_watched()
    old.receive(packet(1, 1000, KEY, ssrc=1))
    # The next frame comes in two packets; only the first has gone out when the switch comes.
    old.receive(packet(2, 4000, KEY, ssrc=1, marker=False))
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
    router, port, consumer, old = chair_watched()
    old.receive(packet(1, 1000, KEY, ssrc=1))
    old.receive(packet(2, 4000, DELTA, ssrc=1, marker=False))
    new = Producer("video", VP8, no_pli)
    new.receive(packet(900, 50, KEY, ssrc=2))
    router.publish("chair", [new])  # and the old publisher falls silent
    await asyncio.sleep(FINISH_FRAME_TIMEOUT + 0.1)
    assert consumer.producer is new and old.closed
    assert [p.payload for p in port.sent] == [KEY, DELTA, KEY]
    router.close()


async def test_a_picture_cut_by_a_stuck_hall_leaves_a_gap_so_it_is_dropped_not_shown() -> None:
    producer, port, consumer = watching(RecordingPort())
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


async def test_a_picture_cut_by_a_full_queue_leaves_a_gap_too() -> None:
    producer, port, consumer = watching(AwaitedPort(), max_queue_packets=3)
    producer.receive(packet(1, 1000, KEY))
    producer.receive(packet(2, 4000, DELTA, marker=False))  # a picture's first half leaves
    await drain()
    for seq in range(3, 7):  # its end and what follows wait; the queue overflows
        producer.receive(packet(seq, 4000 + 3000 * (seq - 3), b"\x00\x00\x00"))
    producer.receive(packet(7, 20000, KEY))  # resumes at the next keyframe
    await drain()
    first, half, key = port.sent
    assert (half.marker, key.payload) == (0, KEY) and consumer.queue_resets == 1
    assert (key.sequence_number - half.sequence_number) & 0xFFFF == 2  # the end looks lost
    consumer.close()
