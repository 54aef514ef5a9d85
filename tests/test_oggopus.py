"""Ogg pages made by hand are what FFmpeg's Ogg demuxer reads, from the start and from the
middle of the stream (a listener who joins late)."""

from __future__ import annotations

import io

import av
import numpy as np

from media.oggopus import OggOpusPager, ogg_crc, opus_samples
from tests.tones import tone_payloads, tone_share


def decoded(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data), "r") as container:
        frames = [f.to_ndarray()[0] for f in container.decode(audio=0)]
    return np.concatenate(frames) * 32767


def test_pages_from_the_start_decode_to_the_tone() -> None:
    payloads = tone_payloads(440, 2.0)
    pager = OggOpusPager()
    data = pager.headers + b"".join(pager.pages(payloads[i : i + 5]) for i in range(0, 100, 5))
    samples = decoded(data)
    assert len(samples) >= 2.0 * 48000 - 960
    assert tone_share(samples[4800:], 440) > 0.9
    assert pager.granule == 100 * 960


def test_a_listener_joining_mid_stream_gets_the_headers_then_plays() -> None:
    payloads = tone_payloads(660, 2.0)
    pager = OggOpusPager()
    pager.pages(payloads[:50])  # what others heard before this listener came
    late = pager.headers + b"".join(pager.pages(payloads[i : i + 5]) for i in range(50, 100, 5))
    samples = decoded(late)
    assert len(samples) >= 0.9 * 48000
    assert tone_share(samples[4800:], 660) > 0.9


def reference_crc(data: bytes) -> int:
    """Ogg's CRC bit by bit, straight from RFC 3533's description."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
    return crc


def test_the_crc_is_oggs_own_and_packet_lengths_are_read_from_the_toc() -> None:
    page = OggOpusPager().pages(tone_payloads(440, 0.1))
    zeroed = page[:22] + b"\0\0\0\0" + page[26:]
    assert ogg_crc(zeroed) == reference_crc(zeroed) == int.from_bytes(page[22:26], "little")
    assert opus_samples(tone_payloads(440, 0.04)[1]) == 960
    assert opus_samples(bytes([0xF8])) == 960  # CELT 20 ms, one frame
    assert opus_samples(bytes([0x18])) == 2880  # SILK 60 ms
    assert opus_samples(bytes([0xFB, 0x03])) == 2880  # code 3: three 20 ms frames
