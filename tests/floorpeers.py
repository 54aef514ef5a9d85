"""aiortc peers for floor tests: publishers with a tone of their own, and watchers that keep
what each received track carried, so a test can ask whose voice and whose picture it was."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame, VideoFrame

from tests.peers import NO_ICE_SERVERS, Publisher, Signal, StampedVideoTrack
from tests.pictures import PictureCheck

RATE = 48000
SAMPLES = 960  # 20 ms
# Frame numbers of each publisher start this far apart, so a picture tells whose it is.
NUMBERS_PER_SOURCE = 1_000_000


class ToneTrack(AudioStreamTrack):
    """A microphone that hears one pure tone of `frequency` Hz, paced in real time."""

    def __init__(self, frequency: float, level: float = 0.25) -> None:
        super().__init__()
        self.frequency = frequency
        self.level = level
        self._sent = 0
        self._began: float | None = None

    async def recv(self) -> AudioFrame:  # type: ignore[override]
        if self._began is None:
            self._began = time.monotonic()
        delay = self._began + self._sent / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (self._sent + np.arange(SAMPLES)) / RATE
        wave = (self.level * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += SAMPLES
        return frame


async def start_tone_publisher(signal: Signal, frequency: float, source_index: int) -> Publisher:
    """A camera numbered from `source_index` * NUMBERS_PER_SOURCE and a tone, over `signal`."""
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    # 10 fps: a test with seven decoders on two cores must keep up with what it judges.
    camera = StampedVideoTrack(320, 240, fps=10, first=source_index * NUMBERS_PER_SOURCE)
    pc.addTransceiver(camera, direction="sendonly")
    pc.addTransceiver(ToneTrack(frequency), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return Publisher(pc, camera, answer)


@dataclass
class Track:
    """What one received track carried: audio samples or picture verdicts, with arrival times."""

    kind: str
    audio: list[tuple[float, np.ndarray]] = field(default_factory=list)
    pictures: PictureCheck = field(default_factory=PictureCheck)
    numbers: list[tuple[float, int, bool]] = field(default_factory=list)  # (at, number, intact)

    def band_share(self, frequency: float, since: float, until: float | None = None) -> float:
        """Share of the sound heard in [since, until] that lies within 15 Hz of `frequency`;
        0 when nothing was heard at all."""
        until = time.time() if until is None else until
        chunks = [samples for at, samples in self.audio if since <= at <= until]
        if not chunks:
            return 0.0
        samples = np.concatenate(chunks)
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
        freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
        total = float(spectrum[freqs > 50].sum())
        if total <= 0 or np.sqrt(np.mean(samples**2)) < 100:  # below about -50 dBFS: silence
            return 0.0
        return float(spectrum[np.abs(freqs - frequency) < 15].sum()) / total

    def sources_seen(self, since: float, until: float | None = None) -> set[int]:
        """Whose intact pictures arrived in [since, until]: frame number // NUMBERS_PER_SOURCE."""
        until = time.time() if until is None else until
        return {
            number // NUMBERS_PER_SOURCE
            for at, number, intact in self.numbers
            if intact and since <= at <= until
        }


@dataclass
class Watcher:
    """A recvonly aiortc peer offering the sections `kinds`, in that order."""

    pc: RTCPeerConnection
    tracks: list[Track]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _read(self, track: MediaStreamTrack, into: Track) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    verdict = await into.pictures.see(frame)
                    into.numbers.append((time.time(), verdict.number, verdict.intact))
                else:
                    assert isinstance(frame, AudioFrame)
                    data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                    into.audio.append((time.time(), data.astype(np.float64)))
        except MediaStreamError:
            pass

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def start_watcher(signal: Signal, kinds: Sequence[str]) -> Watcher:
    # aiortc's balanced bundling loses a second track of a kind that follows another kind.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    transceivers: list[RTCRtpTransceiver] = [
        pc.addTransceiver(kind, direction="recvonly") for kind in kinds
    ]
    watcher = Watcher(pc, [Track(kind) for kind in kinds])

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)
        watcher.tasks.append(asyncio.ensure_future(watcher._read(track, watcher.tracks[index])))

    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return watcher
