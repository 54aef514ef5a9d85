"""Opus in and out of 16-bit mono PCM at 48 kHz with PyAV's libopus, and into RTP packets.

An Opus RTP payload is one whole Opus packet (RFC 7587), so packetizing is
only numbering: sequence numbers go up by one per packet and timestamps by
the packet's samples, from random starting points (RFC 3550).
"""

from __future__ import annotations

import fractions
import random

import av
import numpy as np
from aiortc.rtp import RtpPacket
from av import AudioFrame, CodecContext

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms, what browsers send and what we send
PAYLOAD_TYPE = 111  # the number browsers and aiortc offer Opus under
BITRATE = 64000
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)

Pcm = np.ndarray  # one-dimensional int16 samples, mono, 48 kHz


class OpusDecoder:
    """Decodes any Opus packet (mono or stereo, 2.5 to 120 ms) into mono samples."""

    def __init__(self) -> None:
        self._codec = CodecContext.create("libopus", "r")
        self._codec.format = "s16"
        self._codec.layout = "mono"  # libopus mixes a stereo stream down for us
        self._codec.sample_rate = SAMPLE_RATE

    def decode(self, payload: bytes) -> Pcm:
        """The packet's samples; raises av.FFmpegError on a packet libopus rejects."""
        frames = self._codec.decode(av.Packet(payload))
        # A view of the frame's own buffer (which the view keeps alive): to_ndarray()
        # copies and stacks the planes, several times the cost of this.
        pcm = [np.frombuffer(memoryview(f.planes[0]), np.int16, f.samples) for f in frames]
        if len(pcm) == 1:
            return pcm[0]
        return np.concatenate(pcm) if pcm else np.zeros(0, np.int16)


class OpusEncoder:
    """Encodes 20 ms frames of mono samples into one Opus packet each."""

    def __init__(self, bitrate: int = BITRATE, *, complexity: int = 5) -> None:
        codec = CodecContext.create("libopus", "w")
        codec.bit_rate = bitrate
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        codec.time_base = TIME_BASE
        # 5 of 10 costs about a third less than libopus's default 10 (measured in a
        # tight loop), a small step in quality for voices at 64 kbps.
        codec.options = {"application": "audio", "compression_level": str(complexity)}
        codec.open()
        self._codec = codec
        self._pts = 0
        # PyAV's encode() runs every frame through a resampling filter graph, even one
        # already in the encoder's format, when the codec wants fixed-size frames (libopus
        # does). Our frames always fit, so send them straight to libopus: this private
        # generator of PyAV (18) is what encode() itself calls; a test checks that both
        # give the same packets. Older PyAV without it falls back to encode().
        self._send = getattr(codec, "_send_frame_and_recv", codec.encode)

    def encode(self, pcm: Pcm) -> list[bytes]:
        """The packets for FRAME_SAMPLES samples: one, once libopus is running."""
        frame = AudioFrame(format="s16", layout="mono", samples=len(pcm))
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += len(pcm)
        return [bytes(packet) for packet in self._send(frame)]


class RtpNumbering:
    """Numbers one stream's packets: random SSRC and starting points, then continuous."""

    def __init__(self, payload_type: int = PAYLOAD_TYPE, ssrc: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc if ssrc is not None else random.getrandbits(32)
        self.sequence_number = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self._marker = 1  # the first packet starts a talkspurt

    def packet(self, payload: bytes, samples: int = FRAME_SAMPLES) -> RtpPacket:
        """The next packet, carrying `samples` samples' worth of audio."""
        packet = RtpPacket(
            payload_type=self.payload_type,
            marker=self._marker,
            sequence_number=self.sequence_number,
            timestamp=self.timestamp,
            ssrc=self.ssrc,
            payload=payload,
        )
        self._marker = 0
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        self.skip(samples)
        return packet

    def skip(self, samples: int) -> None:
        """Let `samples` samples pass with nothing sent (the receiver sees a timestamp gap)."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
