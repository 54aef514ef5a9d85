"""bridge/renumbering.py: the numbers a subscriber sees, across skips, gaps and new sources."""

from __future__ import annotations

from bridge.renumbering import Renumbering

CLOCK = 90_000


def send(numbers: Renumbering, seq: int, ts: int, now: float) -> tuple[int, int]:
    placed = numbers.place(seq, ts, now)
    assert placed is not None
    numbers.sent(*placed, now)
    return placed


def test_the_publishers_gaps_survive_and_our_skips_leave_none() -> None:
    numbers = Renumbering(CLOCK)
    first, _ = send(numbers, 1000, 0, 0.0)
    assert send(numbers, 1001, 0, 0.0)[0] == (first + 1) & 0xFFFF
    # The publisher's link lost 1002: the subscriber sees the gap, and can NACK it.
    assert send(numbers, 1003, 3000, 0.033)[0] == (first + 3) & 0xFFFF
    assert numbers.source_numbers([(first + 2) & 0xFFFF]) == [1002]
    # We skipped 1004-1099 (waiting for a keyframe): no gap for what we chose to skip.
    numbers.skip()
    assert send(numbers, 1100, 9000, 0.1)[0] == (first + 4) & 0xFFFF


def test_a_new_source_goes_on_from_where_the_last_stopped() -> None:
    numbers = Renumbering(CLOCK)
    seq, ts = send(numbers, 50_000, 4_294_950_000, 10.0)
    numbers.new_source()
    # Half a second later another publisher starts, its numbers nowhere near ours.
    new_seq, new_ts = send(numbers, 7, 123, 10.5)
    assert new_seq == (seq + 1) & 0xFFFF
    assert new_ts == (ts + CLOCK // 2) & 0xFFFFFFFF
    assert new_ts < ts  # ours wrapped past 2**32
    # And its own spacing carries on unchanged.
    assert send(numbers, 8, 123 + 3000, 10.533) == ((seq + 2) & 0xFFFF, new_ts + 3000)


def test_a_late_packet_from_before_a_skip_has_no_slot() -> None:
    numbers = Renumbering(CLOCK)
    send(numbers, 500, 0, 0.0)
    numbers.skip()
    send(numbers, 600, 9000, 0.1)
    assert numbers.place(550, 4500, 0.11) is None  # the subscriber never had that stretch
    assert numbers.source_numbers([(numbers.next_seq - 60) & 0xFFFF]) == []
    # A retransmission after the skip still lands in its own, older slot.
    send(numbers, 602, 9000, 0.12)
    late = send(numbers, 601, 9000, 0.13)
    assert late[0] == (numbers.next_seq - 2) & 0xFFFF  # and the newest stays the newest


def test_numbers_stay_comparable_across_a_wrap_of_the_source() -> None:
    numbers = Renumbering(CLOCK)
    previous = send(numbers, 0xFFF0, 0, 0.0)[0]
    for n in range(1, 70_000):  # more than one whole turn of 16-bit numbers
        seq = send(numbers, (0xFFF0 + n) & 0xFFFF, n * 3000, n / 30)[0]
        assert seq == (previous + 1) & 0xFFFF
        previous = seq
