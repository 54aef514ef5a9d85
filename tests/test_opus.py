"""Opus helpers: the encoder's shortcut past PyAV's resampler gives PyAV's own packets,
what it encodes decodes back to the tone, and RTP numbering runs on without gaps."""

from __future__ import annotations

import numpy as np

from media.opus import FRAME_SAMPLES, OpusDecoder, OpusEncoder, RtpNumbering
from tests.tones import RATE, tone_share


def _tone(freq: float, frames: int) -> np.ndarray:
    t = np.arange(frames * FRAME_SAMPLES) / RATE
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_the_encoders_shortcut_makes_the_same_packets_as_pyavs_encode() -> None:
    pcm = _tone(440, 25)
    shortcut, plain = OpusEncoder(), OpusEncoder()
    plain._send = plain._codec.encode  # PyAV's public path, resampler included
    for i in range(25):
        frame = pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        assert shortcut.encode(frame) == plain.encode(frame)


def test_what_the_encoder_makes_decodes_back_to_the_tone() -> None:
    pcm = _tone(660, 50)
    encoder, decoder = OpusEncoder(), OpusDecoder()
    payloads = [p for i in range(50) for p in encoder.encode(pcm[i * 960 : (i + 1) * 960])]
    assert len(payloads) == 50
    decoded = np.concatenate([decoder.decode(p) for p in payloads])
    assert len(decoded) == len(pcm) and tone_share(decoded[4800:], 660) > 0.9


def test_rtp_numbering_is_continuous_across_wraps_and_skips_time_without_numbers() -> None:
    numbering = RtpNumbering(ssrc=7)
    numbering.sequence_number, numbering.timestamp = 0xFFFF, 0xFFFFFFFF - 959
    first, second = numbering.packet(b"a"), numbering.packet(b"b")
    numbering.skip(3 * FRAME_SAMPLES)
    third = numbering.packet(b"c")
    assert [p.sequence_number for p in (first, second, third)] == [0xFFFF, 0, 1]
    assert [p.timestamp for p in (first, second, third)] == [0xFFFFFFFF - 959, 0, 3840]
    assert [p.marker for p in (first, second, third)] == [1, 0, 0]
    assert {p.ssrc for p in (first, second, third)} == {7} and first.payload_type == 111
