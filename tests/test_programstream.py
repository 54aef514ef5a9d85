"""The program stream on its own: the mix's packets become MP3 and Ogg/Opus chunks that decode
to the same tone, and when the mix stops coming the stream goes on with silence."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from media.programstream import MP3, OGG, ProgramStream
from tests.speakerclients import decode_bytes
from tests.tones import play, rms, rtp, tone_payloads, tone_share

pytestmark = pytest.mark.asyncio


async def test_the_mix_becomes_mp3_and_ogg_of_the_same_tone_then_silence() -> None:
    chunks: dict[str, list[bytes]] = {MP3: [], OGG: []}
    stream = ProgramStream(lambda fmt, data: chunks[fmt].append(data))
    stream.formats |= {MP3, OGG}
    await stream.start()
    try:
        loop = asyncio.get_running_loop()
        await play(stream.port, rtp(tone_payloads(440, 2.0)), loop.time())
        tone = {fmt: len(chunks[fmt]) for fmt in chunks}
        await asyncio.sleep(1.5)  # nothing comes: the stream must not stop
    finally:
        await stream.close()
    for fmt in (MP3, OGG):
        first = b"".join(chunks[fmt][: tone[fmt]])
        if fmt == OGG:
            first = stream.ogg_headers + first
        samples = decode_bytes(first)
        assert tone_share(samples[len(samples) // 4 :], 440) > 0.9, fmt
        whole = decode_bytes((stream.ogg_headers if fmt == OGG else b"") + b"".join(chunks[fmt]))
        tail = whole[-24000:]  # the last half second: made up, silent
        assert len(whole) >= len(samples) + 48000 and rms(tail.astype(np.int16)) < 30, fmt
    assert stream.silence_frames >= 40


async def test_a_format_nobody_listens_to_is_not_made() -> None:
    chunks: list[str] = []
    stream = ProgramStream(lambda fmt, data: chunks.append(fmt))
    stream.formats.add(OGG)
    await stream.start()
    try:
        await asyncio.sleep(0.8)
    finally:
        await stream.close()
    assert chunks and set(chunks) == {OGG}
    assert stream.bytes_out[MP3] == 0
