"""Real aiortc peers for tests and benchmarks: a chair whose pictures can be checked
(tests/pictures.py), and viewers that check every picture they decode."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket
from av import VideoFrame

from tests.pictures import Picture, PictureCheck, now_ms

Signal = Callable[[str], Awaitable[str]]
# Without this, aiortc asks Google's STUN server: tests stay on this machine.
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


@dataclass
class Feedback:
    """The RTCP feedback one receiver sent: NACK packets, packets they asked for, PLIs."""

    nacks: int = 0
    nacked: int = 0
    plis: int = 0


def count_feedback(receiver: RTCRtpReceiver) -> Feedback:
    """Count what `receiver` asks its sender for (wraps two aiortc 1.16 private methods)."""
    feedback = Feedback()
    send_nack, send_pli = receiver._send_rtcp_nack, receiver._send_rtcp_pli

    async def nack(media_ssrc: int, lost: list[int]) -> None:
        feedback.nacks += 1
        feedback.nacked += len(lost)
        await send_nack(media_ssrc, lost)

    async def pli(media_ssrc: int) -> None:
        feedback.plis += 1
        await send_pli(media_ssrc)

    receiver._send_rtcp_nack = nack  # type: ignore[method-assign]
    receiver._send_rtcp_pli = pli  # type: ignore[method-assign]
    return feedback


class StampedVideoTrack(VideoStreamTrack):
    """The chair's camera: Picture frames numbered from `first`, paced at `fps`."""

    def __init__(
        self, width: int = 320, height: int = 240, fps: int = 30, *, first: int = 0
    ) -> None:
        super().__init__()
        self.picture = Picture(width, height)
        self.fps = fps
        self.first = first
        self.frames_sent = 0
        # frame number → the send time stamped in it (ms mod 2**40): the truth a test may
        # hold a received picture to, where the stamp itself could be read wrong (an
        # encoder that skips a macroblock leaves the last picture's stamp bits in it).
        self.sent_ms: dict[int, int] = {}
        self._began: float | None = None
        self._last_pts = -1

    async def recv(self) -> VideoFrame:  # type: ignore[override]
        if self._began is None:
            self._began = time.monotonic()
        delay = self._began + self.frames_sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = self.first + self.frames_sent
        # The capture moment, as a camera's: the stamp in the picture and its RTP time say
        # the same instant, even when a loaded machine draws or encodes it late.
        sent_ms, pts = now_ms(), round((time.monotonic() - self._began) * 90000)
        self.sent_ms[n] = sent_ms
        # Drawing a whole frame with numpy: off the event loop, per house style.
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(None, self.picture.draw, n, sent_ms)
        frame.pts = self._last_pts = max(pts, self._last_pts + 1)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame


@dataclass
class Publisher:
    pc: RTCPeerConnection
    video: StampedVideoTrack
    answer: str = ""

    async def close(self) -> None:
        await self.pc.close()


def keep_default_bitrate(sender: RTCRtpSender) -> None:
    """Hold `sender`'s encoder at aiortc's default 500 kbps, as the chair page caps its light
    rendition: aiortc would otherwise raise it to whatever the bridge's REMB allows."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if not (isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP):
            await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


async def start_publisher(
    signal: Signal,
    *,
    codec: str = "VP8",
    width: int = 320,
    height: int = 240,
    audio: bool = True,
    first: int = 0,
    light: tuple[int, int] | None = None,
    audio_first: bool = False,
    video: bool = True,
) -> Publisher:
    """Create a chair peer, send its offer through `signal`, apply the answer.

    `light` (width, height) adds a lighter second rendition of the camera, as the
    chair page does. `audio_first` offers the audio section before the video one, as
    OBS and FFmpeg do; `video=False` makes a sound-only chair (its `video` track is
    made but never sent).
    """
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    if audio and audio_first:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    camera = StampedVideoTrack(width, height, first=first)
    caps = RTCRtpSender.getCapabilities("video").codecs
    preferred = [c for c in caps if c.name == codec] + [c for c in caps if c.name == "rtx"]
    if video:
        pc.addTransceiver(camera, direction="sendonly").setCodecPreferences(preferred)
    if video and light is not None:  # a lighter second rendition, as the chair page sends
        second = pc.addTransceiver(StampedVideoTrack(*light, first=first), direction="sendonly")
        second.setCodecPreferences(preferred)
        keep_default_bitrate(second.sender)
    if audio and not audio_first:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return Publisher(pc, camera, answer)


@dataclass
class Viewer:
    """A subscriber that decodes what it gets, checks every picture, and counts audio."""

    pc: RTCPeerConnection
    created_at: float
    pictures: PictureCheck = field(default_factory=PictureCheck)
    feedback: Feedback = field(default_factory=Feedback)
    frame_size: tuple[int, int] | None = None  # (width, height) of the last decoded picture
    audio_frames: int = 0
    first_frame_at: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.pictures.decoded

    @property
    def latencies_ms(self) -> list[float]:
        return self.pictures.latencies_ms

    async def _count_video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if self.first_frame_at is None:
                    self.first_frame_at = time.time()
                assert isinstance(frame, VideoFrame)
                self.frame_size = (frame.width, frame.height)
                await self.pictures.see(frame)
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
) -> Viewer:
    """Create a recvonly peer, send its offer through `signal`, count what arrives."""
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    viewer = Viewer(pc, time.time())
    transceiver = pc.addTransceiver("video", direction="recvonly")
    viewer.feedback = count_feedback(transceiver.receiver)
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


__all__ = [
    "MediaBlackhole",
    "Publisher",
    "StampedVideoTrack",
    "Viewer",
    "start_publisher",
    "start_viewer",
    "wait_for",
]
