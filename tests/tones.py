"""Tones as Opus RTP packets, paced like a live track, and what a decoded stream holds.

Encoding and decoding go straight through PyAV's libopus here, not through
media/opus.py, so a mistake there cannot hide itself in the tests.
"""

from __future__ import annotations

import asyncio
import fractions
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc.rtp import RtpPacket
from av import AudioFrame, CodecContext

from bridge.consumer import PacketPort

RATE = 48000
FRAME = 960  # 20 ms
PACE = FRAME / RATE


def tone_payloads(freq: float, seconds: float, amplitude: int = 8000) -> list[bytes]:
    """`seconds` of a sine at `freq` Hz (0: digital silence), as 20 ms Opus packets."""
    codec = CodecContext.create("libopus", "w")
    codec.bit_rate = 64000
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = RATE
    codec.time_base = fractions.Fraction(1, RATE)
    codec.open()
    count = round(seconds / PACE)
    t = np.arange(count * FRAME) / RATE
    pcm = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    payloads: list[bytes] = []
    for i in range(count):
        frame = AudioFrame.from_ndarray(
            pcm[i * FRAME : (i + 1) * FRAME].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = i * FRAME
        payloads += [bytes(p) for p in codec.encode(frame)]
    return payloads


def rtp(payloads: list[bytes], *, ssrc: int = 1234, seq: int = 0, ts: int = 0) -> list[RtpPacket]:
    """Numbered packets, as a publisher would send them."""
    return [
        RtpPacket(
            payload_type=111,
            sequence_number=(seq + i) & 0xFFFF,
            timestamp=(ts + i * FRAME) & 0xFFFFFFFF,
            ssrc=ssrc,
            payload=payload,
        )
        for i, payload in enumerate(payloads)
    ]


async def play(port: PacketPort, packets: Sequence[RtpPacket | None], start: float) -> None:
    """Send one entry per 20 ms from loop time `start` (None: that slot sends nothing)."""
    loop = asyncio.get_running_loop()
    for i, packet in enumerate(packets):
        await asyncio.sleep(max(0.0, start + i * PACE - loop.time()))
        if packet is not None:
            await port.send(packet)


@dataclass
class Recorded:
    """Every packet a stream produced, with the loop time it came out."""

    packets: list[tuple[float, RtpPacket]] = field(default_factory=list)

    def __call__(self, packet: RtpPacket) -> None:
        self.packets.append((asyncio.get_running_loop().time(), packet))

    def decoded(self) -> list[tuple[float, np.ndarray]]:
        """Each packet's loop time and samples, the whole stream decoded in order, as a
        listener would."""
        codec = CodecContext.create("libopus", "r")
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = RATE
        out = []
        for at, packet in self.packets:
            frames = codec.decode(av.Packet(packet.payload))
            samples = [f.to_ndarray()[0] for f in frames]
            out.append((at, np.concatenate(samples) if samples else np.zeros(0, np.int16)))
        return out

    def between(self, start: float, end: float) -> np.ndarray:
        """The decoded samples of the packets that came out between two loop times."""
        chosen = [samples for at, samples in self.decoded() if start <= at <= end]
        return np.concatenate(chosen) if chosen else np.zeros(0, np.int16)

    def numbering_is_continuous(self) -> bool:
        """Sequence numbers go up by one; timestamps by 960 (more only where time was skipped)."""
        pairs = zip(self.packets, self.packets[1:], strict=False)
        return all(
            (b.sequence_number - a.sequence_number) & 0xFFFF == 1
            and (b.timestamp - a.timestamp) & 0xFFFFFFFF >= FRAME
            and (b.timestamp - a.timestamp) % FRAME == 0
            for (_, a), (_, b) in pairs
        )


def tone_share(samples: np.ndarray, freq: float) -> float:
    """The share of the signal's power within 20 Hz of `freq` (0 for silence)."""
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    total = float(spectrum[1:].sum())
    if total < 1e-3 * len(x):  # digital silence, or nearly
        return 0.0
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(spectrum[(freqs > freq - 20) & (freqs < freq + 20)].sum()) / total


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def damaged(packets: list[RtpPacket], seed: int = 7) -> tuple[list[RtpPacket | None], int]:
    """A lossy, reordering link with a broken sender: about 8% lost, one pair in ten
    swapped, one packet in twenty-five garbage. Returns the slots and how many were lost."""
    rng = random.Random(seed)
    slots: list[RtpPacket | None] = list(packets)
    lost = 0
    for i in range(len(slots)):
        roll = rng.random()
        if roll < 0.08:
            slots[i], lost = None, lost + 1
        elif roll < 0.12 and slots[i] is not None:
            packet = slots[i]
            assert packet is not None
            # Invalid framing: code 3 with 63 frames is more than Opus's 120 ms.
            packet.payload = b"\xff\xff" + bytes(rng.getrandbits(8) for _ in range(40))
    for i in range(1, len(slots) - 1, 10):
        slots[i], slots[i + 1] = slots[i + 1], slots[i]
    return slots, lost
