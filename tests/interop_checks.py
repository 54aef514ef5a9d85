"""What the interop tests check in decoded media: stamped frame numbers, intact pictures, a tone.

Third-party publishers stamp each picture with its frame number in the layout
of tests/pictures.py's Picture; a viewer that decodes them reads the numbers
back and, where the publisher drew Picture's own body, judges every picture
against the one it should be, so a damaged or misplaced picture is caught.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from tests.peers import NO_ICE_SERVERS, Signal
from tests.pictures import PictureCheck, Verdict

TONE_HZ = 440.0


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency in a mono signal, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def pictures_look_right(
    verdicts: list[Verdict], most: int, *, whole: bool, steady: int = 45
) -> bool:
    """The last `steady` pictures carry the publisher's frame numbers, in order, few
    missing; and, when `whole` (the publisher drew Picture's body, so it can be
    compared), at least `steady` pictures in a row arrived intact.

    Not every picture must be intact: the first ones may be concealment while
    the decoder waits for a keyframe, and a publisher that neither resends nor
    answers keyframe requests (FFmpeg) shows damage after a lost packet until
    its next keyframe. A bridge that damages pictures all the time fails.
    """
    tail = verdicts[-steady:]
    if len(tail) < steady:
        return False
    numbers = [v.number for v in tail]
    in_range = all(0 <= n < most for n in numbers)
    gaps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
    in_order = in_range and all(1 <= gap <= 3 for gap in gaps)
    return in_order and (not whole or longest_intact_run(verdicts) >= steady)


def longest_intact_run(verdicts: list[Verdict]) -> int:
    longest = run = 0
    for verdict in verdicts:
        run = run + 1 if verdict.intact else 0
        longest = max(longest, run)
    return longest


@dataclass
class StampViewer:
    """A recvonly aiortc peer that judges every picture and keeps the audio samples."""

    pc: RTCPeerConnection
    pictures: PictureCheck = field(default_factory=PictureCheck)
    verdicts: list[Verdict] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    audio_rate: int = 48000
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.verdicts.append(await self.pictures.see(frame))
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
