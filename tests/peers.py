"""Real aiortc peers for tests and benchmarks: a synthetic chair and counting viewers.

The publisher encodes real frames (VP8 or H.264) and stamps each frame's
wall-clock send time into its pixels, so a viewer can measure end-to-end
latency from the decoded picture alone.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import VideoFrame

Signal = Callable[[str], Awaitable[str]]
# Without this, aiortc asks Google's STUN server: tests stay on this machine.
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])
STAMP_BITS = 40  # milliseconds since epoch mod 2**40, as black/white blocks
BLOCK = 8


def stamp(image: np.ndarray, value: int) -> None:
    """Write `value` into the top rows of a grey image as 8x8 black/white blocks."""
    for bit in range(STAMP_BITS):
        on = (value >> bit) & 1
        image[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if on else 0


def read_stamp(image: np.ndarray) -> int:
    value = 0
    for bit in range(STAMP_BITS):
        block = image[2 : BLOCK - 2, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2]
        if block.mean() > 128:
            value |= 1 << bit
    return value


class StampedVideoTrack(VideoStreamTrack):
    """Moving grey frames, each carrying its send time in milliseconds."""

    def __init__(self, width: int = 320, height: int = 240, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._count = 0
        self._began: float | None = None

    @property
    def frames_sent(self) -> int:
        return self._count

    async def recv(self) -> VideoFrame:
        if self._began is None:
            self._began = time.time()
        target = self._began + self._count / self.fps
        delay = target - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        y = np.full((self.height * 3 // 2, self.width), 60, dtype=np.uint8)
        bar = (self._count * 4) % max(self.width - 16, 1)
        y[BLOCK * 2 : self.height, bar : bar + 16] = 200  # motion, so frames differ
        stamp(y, int(time.time() * 1000) % (1 << STAMP_BITS))
        y[self.height :, :] = 128  # neutral chroma
        frame = VideoFrame.from_ndarray(y, format="yuv420p")
        frame.pts = self._count * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


@dataclass
class Publisher:
    pc: RTCPeerConnection
    video: StampedVideoTrack
    answer: str = ""

    async def close(self) -> None:
        await self.pc.close()


async def start_publisher(
    signal: Signal,
    *,
    codec: str = "VP8",
    width: int = 320,
    height: int = 240,
    audio: bool = True,
    audio_first: bool = False,
    video: bool = True,
) -> Publisher:
    """Create a chair peer, send its offer through `signal`, apply the answer.

    `audio_first` offers the audio section before the video one, as OBS and FFmpeg do;
    `video=False` makes a sound-only chair (its `video` track is made but never sent).
    """
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    if audio and audio_first:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    camera = StampedVideoTrack(width, height)
    if video:
        transceiver = pc.addTransceiver(camera, direction="sendonly")
        caps = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences(
            [c for c in caps if c.name == codec] + [c for c in caps if c.name == "rtx"]
        )
    if audio and not audio_first:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return Publisher(pc, camera, answer)


@dataclass
class Viewer:
    """A subscriber that decodes what it gets and counts frames, latency and audio."""

    pc: RTCPeerConnection
    created_at: float
    frames: int = 0
    audio_frames: int = 0
    first_frame_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    measure_latency: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _count_video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.time()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.frames += 1
                if self.measure_latency and self.frames % 5 == 0:
                    assert isinstance(frame, VideoFrame)
                    image = frame.to_ndarray(format="gray")
                    sent = read_stamp(image)
                    self.latencies_ms.append((int(now * 1000) % (1 << STAMP_BITS)) - sent)
        except MediaStreamError:
            pass

    async def _count_audio(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.audio_frames += 1
        except MediaStreamError:
            pass

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def start_viewer(
    signal: Signal,
    *,
    audio: bool = True,
    video_codecs: tuple[str, ...] | None = None,
    measure_latency: bool = False,
) -> Viewer:
    """Create a recvonly peer, send its offer through `signal`, count what arrives."""
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    viewer = Viewer(pc, time.time(), measure_latency=measure_latency)
    transceiver = pc.addTransceiver("video", direction="recvonly")
    if video_codecs is not None:
        caps = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences(
            [c for c in caps if c.name in video_codecs] + [c for c in caps if c.name == "rtx"]
        )
    if audio:
        pc.addTransceiver("audio", direction="recvonly")

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        counter = viewer._count_video if track.kind == "video" else viewer._count_audio
        viewer.tasks.append(asyncio.ensure_future(counter(track)))

    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return viewer


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until `predicate()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


__all__ = ["MediaBlackhole", "Publisher", "Viewer", "start_publisher", "start_viewer", "wait_for"]
