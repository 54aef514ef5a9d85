"""Frames from RTP for the recorder (media/framer.py): counters that wrap, one clock on the
sender's timestamps set by the least delay, and frames that leave only whole and in order."""

from __future__ import annotations

import pytest

from media.framer import HOLD, LATE, WINDOW, Clock, Framer, Unwrapper


def test_unwrapping_follows_sequence_numbers_across_the_wrap_and_back() -> None:
    unwrap = Unwrapper(16)
    assert [unwrap(n) for n in (65534, 65535, 0, 1)] == [65534, 65535, 65536, 65537]
    assert unwrap(65535) == 65535  # a late one from before the wrap
    assert unwrap(2) == 65538


def test_the_clock_runs_on_rtp_time_from_the_first_arrival() -> None:
    clock = Clock(90000, started_at=1000.0)
    assert clock.at(0, wall=1002.0) == 2.0
    # 1 s of RTP time later, arriving 30 ms late: media time keeps the sender's spacing.
    assert clock.at(90000, wall=1003.03) == 3.0
    assert clock.reanchored == 0


def test_the_clock_reanchors_on_a_jump_such_as_a_new_source() -> None:
    clock = Clock(48000, started_at=0.0)
    clock.at(1000, wall=10.0)
    assert clock.at(1000 + 48000 * 60, wall=11.0) == 11.0  # an RTP jump of a minute
    assert clock.reanchored == 1


def test_packets_held_up_by_a_busy_machine_keep_their_media_time() -> None:
    """A second-long stall, then the backlog at once: every frame stays where it was sent."""
    clock = Clock(90000, started_at=0.0)
    assert clock.at(0, wall=1.0) == 1.0
    late = [clock.at(9000 * n, wall=2.2 + 0.001 * n) for n in range(1, 12)]
    assert late == pytest.approx([1.0 + 0.1 * n for n in range(1, 12)])
    assert clock.at(9000 * 12, wall=2.205) == pytest.approx(2.2)  # on time again
    assert clock.reanchored == 0


def test_a_first_packet_that_came_late_gives_way_to_the_next_on_time() -> None:
    clock = Clock(90000, started_at=0.0)
    assert clock.at(0, wall=1.3) == 1.3
    assert clock.at(9000, wall=1.1) == 1.1  # sent 100 ms after the first, seen earlier
    assert clock.at(18000, wall=1.2) == 1.2


def test_a_source_whose_timestamps_jump_back_is_followed_after_a_window() -> None:
    clock = Clock(48000, started_at=0.0)
    clock.at(48000 * 100, wall=1.0)
    # The sender restarts its timestamps 100 s back: late by 100 s, packet after packet.
    times = [clock.at(960 * n, wall=1.02 + 0.02 * n) for n in range(0, 120)]
    moved = next(i for i, t in enumerate(times) if abs(t - (1.02 + 0.02 * i)) < 0.001)
    assert WINDOW <= 0.02 * moved <= WINDOW + 0.05
    assert clock.reanchored == 1


def test_a_sender_clock_running_slow_is_followed_within_the_late_bound() -> None:
    """A clock 0.1 % slow (far worse than a camera's crystal) over ten minutes."""
    clock = Clock(90000, started_at=0.0)
    worst = 0.0
    for n in range(0, 6000):  # 10 fps
        wall = n * 0.1
        t = clock.at(round(n * 9000 * 0.999), wall=wall)
        worst = max(worst, abs(t - wall))
    assert worst <= LATE + 0.001 * WINDOW + 0.001  # late by LATE, then a window's drift


def test_audio_packets_leave_in_order_after_a_swap() -> None:
    framer = Framer("audio", "opus", Clock(48000, 0.0))
    framer.push(11, 960, False, b"b", 1.02)
    framer.push(10, 0, False, b"a", 1.0)
    assert [f.data for f in framer.frames(now=1.03)] == [b"a", b"b"]


def test_a_hole_waits_for_its_retransmission_then_counts_as_lost() -> None:
    framer = Framer("audio", "opus", Clock(48000, 0.0))
    framer.push(1, 0, False, b"a", 1.0)
    framer.push(3, 1920, False, b"c", 1.04)
    assert [f.data for f in framer.frames(now=1.05)] == [b"a"]  # 2 may still come
    assert [f.data for f in framer.frames(now=1.05 + HOLD)] == [b"c"]
    assert framer.frames_lost == 1
    framer.push(2, 960, False, b"b", 1.7)  # too late: its turn is gone
    assert framer.frames(now=2.0) == [] and framer.packets_late == 1


# VP8 RTP payloads: the descriptor (start of partition 0), then the frame tag's first byte.
VP8_KEY, VP8_DELTA = b"\x10\x00\x9d\x01\x2a", b"\x10\x01\x00\x00\x00"


def test_a_picture_cut_short_before_its_marker_is_dropped_not_written_torn() -> None:
    """A relay stopped mid-frame and went on with a keyframe, with no hole between."""
    framer = Framer("video", "vp8", Clock(90000, 0.0))
    framer.push(1, 0, True, VP8_KEY, 1.0)
    framer.push(2, 3000, False, VP8_DELTA, 1.03)  # its marker packet never came
    framer.push(3, 6000, True, VP8_KEY, 1.07)
    frames = framer.frames(now=1.08)
    assert [(f.pts, f.keyframe) for f in frames] == [(1.0, True), (pytest.approx(1 + 1 / 15), True)]
    assert framer.frames_lost == 1
