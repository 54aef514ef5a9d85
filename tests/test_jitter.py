"""A mixer input's jitter buffer, driven tick by tick with real Opus packets: order is
restored, loss and garbage become silence, a burst is cut to size, a new numbering starts over."""

from __future__ import annotations

import numpy as np

from media.jitter import JitterBuffer
from tests.tones import rms, tone_payloads, tone_share


def _pull(buffer: JitterBuffer, ticks: int) -> list[np.ndarray | None]:
    return [buffer.pull() for _ in range(ticks)]


def _played(frames: list[np.ndarray | None]) -> np.ndarray:
    return np.concatenate([f for f in frames if f is not None])


def test_packets_put_back_in_order_play_as_one_clean_tone() -> None:
    tone = tone_payloads(440, 0.4)
    buffer = JitterBuffer()
    order = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18]
    frames: list[np.ndarray | None] = []
    for i in order:  # one arrives per tick, each pair swapped
        buffer.put(i, 1, tone[i])
        frames.append(buffer.pull())
    frames += _pull(buffer, 12)
    assert frames[0] is None  # prebuffering
    played = _played(frames)
    assert len(played) == 20 * 960 and tone_share(played[4800:], 440) > 0.9
    assert buffer.packets_played == 20 and buffer.lost == 0 and buffer.late == 0


def test_a_lost_or_broken_packet_is_one_frame_of_silence_and_late_ones_are_dropped() -> None:
    tone = tone_payloads(660, 0.2)
    buffer = JitterBuffer()
    for i in (0, 1, 2, 4, 6, 7, 8, 9):  # 3 and 5 missing
        buffer.put(i, 1, b"\xff\xff\xff\xff" if i == 6 else tone[i])
    frames = _pull(buffer, 10)
    assert all(f is not None for f in frames)
    assert [rms(f) < 1 for f in frames if f is not None] == [
        False,
        False,
        False,
        True,
        False,
        True,
        True,
        False,
        False,
        False,
    ]
    buffer.put(5, 1, tone[5])  # its turn is long gone
    assert buffer.lost == 2 and buffer.decode_errors == 1 and buffer.late == 1


def test_a_burst_is_cut_to_the_newest_sixty_ms_and_a_jump_starts_over() -> None:
    tone = tone_payloads(440, 1.0)
    buffer = JitterBuffer()
    for i in range(50):
        buffer.put(i, 1, tone[i])
    played = _played(_pull(buffer, 5))
    assert len(played) == 3 * 960 and buffer.dropped_behind == 47
    for i in range(3):
        buffer.put(40000 + i, 1, tone[i])
    assert buffer.resets == 1
    assert len(_played(_pull(buffer, 4))) == 3 * 960 and not buffer.playing
