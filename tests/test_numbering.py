"""The producer's numbering: the publisher's gaps kept, room made for split packets."""

from __future__ import annotations

from bridge.numbering import Numbering, unwrap


def test_unwrap_follows_the_sequence_across_its_16_bit_wrap() -> None:
    assert unwrap(5, 0x1FFFE) == 0x20005
    assert unwrap(0xFFFE, 0x20005) == 0x1FFFE


def test_without_splits_the_publishers_numbers_pass_through_gaps_and_all() -> None:
    numbering = Numbering()
    assert [numbering.place(seq, 1) for seq in (10, 11, 13, 12)] == [10, 11, 13, 12]
    assert numbering.origin(12) == 12


def test_a_split_packet_takes_several_slots_and_later_ones_move_up() -> None:
    numbering = Numbering()
    assert numbering.place(0xFFFE, 1) == 0xFFFE
    assert numbering.place(0xFFFF, 3) == 0xFFFF  # takes 0xFFFF, 0, 1
    assert numbering.place(0, 1) == 2
    assert numbering.place(2, 1) == 4  # 1 was lost: its slot 3 stays free for it
    assert numbering.place(1, 1) == 3  # the retransmission lands in that slot
    assert numbering.place(0xFFFF, 3) == 0xFFFF  # a resent split packet gets its slots back
    assert [numbering.origin(n) for n in (0xFFFF, 0, 1, 2, 3, 4)] == [0xFFFF] * 3 + [0, 1, 2]


def test_a_late_packet_that_would_need_more_slots_than_it_has_is_refused() -> None:
    numbering = Numbering()
    numbering.place(1, 2)
    numbering.place(3, 1)  # 2 lost
    assert numbering.place(2, 2) is None
    assert numbering.place(4, 1) == 5
