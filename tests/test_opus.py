"""Opus helpers: the encoder's shortcut past PyAV's resampler gives PyAV's own packets,
what it encodes decodes back to the tone, stereo comes out mono, and RTP numbering runs on."""

from __future__ import annotations

import fractions

import numpy as np
from av import AudioFrame, CodecContext

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


def test_a_stereo_stream_decodes_to_both_channels_mixed_down() -> None:
    codec = CodecContext.create("libopus", "w")
    codec.bit_rate, codec.format, codec.layout = 96000, "s16", "stereo"
    codec.sample_rate, codec.time_base = RATE, fractions.Fraction(1, RATE)
    codec.open()
    left, right = _tone(440, 50), _tone(660, 50)
    both = np.stack([left, right], axis=1).reshape(1, -1)  # interleaved
    decoder = OpusDecoder()
    decoded = []
    for i in range(50):
        frame = AudioFrame.from_ndarray(
            both[:, i * 2 * FRAME_SAMPLES : (i + 1) * 2 * FRAME_SAMPLES],
            format="s16",
            layout="stereo",
        )
        frame.sample_rate, frame.pts = RATE, i * FRAME_SAMPLES
        decoded += [decoder.decode(bytes(p)) for p in codec.encode(frame)]
    pcm = np.concatenate(decoded)
    assert len(pcm) == len(left)  # mono: one sample per instant
    assert tone_share(pcm[4800:], 440) > 0.4 and tone_share(pcm[4800:], 660) > 0.4
