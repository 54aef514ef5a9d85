"""Mono 48 kHz samples into MP3 frames with libmp3lame (PyAV), at a constant bit rate.

A constant rate keeps every frame the same size, so a listener who joins at any
frame boundary decodes from there, and the bytes per second say how much audio
a receiver holds.
"""

from __future__ import annotations

import fractions

from av import AudioFrame, CodecContext

from .opus import SAMPLE_RATE, Pcm

MP3_BITRATE = 64000


class Mp3Encoder:
    """One MP3 encoder; `encode` takes any number of samples and returns whole frames."""

    def __init__(self, bitrate: int = MP3_BITRATE) -> None:
        codec = CodecContext.create("libmp3lame", "w")
        codec.bit_rate = bitrate
        codec.format = "s16p"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        codec.time_base = fractions.Fraction(1, SAMPLE_RATE)
        codec.open()
        self._codec = codec
        self._pts = 0

    def encode(self, pcm: Pcm) -> bytes:
        """The MP3 frames that `pcm` completes; PyAV keeps the rest for the next call."""
        if not len(pcm):
            return b""
        frame = AudioFrame(format="s16p", layout="mono", samples=len(pcm))
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += len(pcm)
        # encode() cuts what we give into the 1152-sample frames libmp3lame takes.
        return b"".join(bytes(packet) for packet in self._codec.encode(frame))
