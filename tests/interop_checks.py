"""What the interop tests check in decoded media: stamped frame numbers, the right tone.

Third-party publishers stamp each picture with its frame number (tests/peers.py
`stamp`); a viewer that decodes them reads the numbers back, so a picture that
arrives damaged or out of place is caught, not just counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from tests.peers import NO_ICE_SERVERS, Signal, read_stamp

TONE_HZ = 440.0


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency in a mono signal, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def stamps_look_right(stamps: list[int], most: int, steady: int = 45) -> bool:
    """The last `steady` pictures carry the publisher's frame numbers, in order, few missing.

    The first pictures may be concealment while the decoder waits for a whole
    keyframe; once it has one, every picture must be the right one.
    """
    tail = stamps[-steady:]
    if len(tail) < steady:
        return False
    in_range = all(0 <= s < most for s in tail)
    gaps = [b - a for a, b in zip(tail, tail[1:], strict=False)]
    return in_range and all(1 <= gap <= 3 for gap in gaps)


@dataclass
class StampViewer:
    """A recvonly aiortc peer that decodes video stamps and audio samples."""

    pc: RTCPeerConnection
    stamps: list[int] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    audio_rate: int = 48000
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.stamps.append(read_stamp(frame.to_ndarray(format="gray")))
        except MediaStreamError:
            pass

    async def _audio(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, AudioFrame)
                self.audio_rate = frame.sample_rate
                data = frame.to_ndarray()
                channels = len(frame.layout.channels)
                self.audio.append(data.reshape(-1, channels)[:, 0].astype(np.float64))
        except MediaStreamError:
            pass

    def tone(self) -> float:
        """The dominant frequency of the last second of sound received."""
        samples = np.concatenate(self.audio)[-self.audio_rate :]
        return dominant_frequency(samples, self.audio_rate)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def start_stamp_viewer(signal: Signal, video_codec: str | None = None) -> StampViewer:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    viewer = StampViewer(pc)
    transceiver = pc.addTransceiver("video", direction="recvonly")
    if video_codec is not None:
        caps = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences(
            [c for c in caps if c.name == video_codec] + [c for c in caps if c.name == "rtx"]
        )
    pc.addTransceiver("audio", direction="recvonly")

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        reader = viewer._video if track.kind == "video" else viewer._audio
        viewer.tasks.append(asyncio.ensure_future(reader(track)))

    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return viewer
