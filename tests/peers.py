"""Real aiortc peers for tests and benchmarks: a chair whose pictures can be checked, and viewers.

Every picture the chair sends is a known function of its frame number, which
it stamps into the top rows along with its wall-clock send time. A viewer
reads the stamp, redraws the picture it should have got, and so tells an
intact picture from a damaged one (a decoder's frame counter cannot), and it
measures end-to-end latency from the picture alone.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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

Signal = Callable[[str], Awaitable[str]]
# Without this, aiortc asks Google's STUN server: tests stay on this machine.
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])
# The stamp: first the send time (milliseconds since the epoch mod 2**40, which is all
# that a bare read_stamp() reads), then the frame number (6 days at 30 fps before it wraps).
TIME_BITS = 40
NUMBER_BITS = 24
BLOCK = 8  # stamp bits are BLOCK×BLOCK squares on small pictures
TILE = 16  # damage is judged per 16×16 tile (a VP8 macroblock), so a broken corner counts
# A picture with a tile further than this from the expected one (mean absolute luma
# difference) is damaged. Measured with aiortc's VP8 from 320×240 to 720p at 0.25-1.5 Mbps:
# clean pictures reach at most 18, or 28 when encoded twice (as the MediaRelay reference
# does); a picture decoded after a lost packet reaches 37 to 200, mostly over 70.
DAMAGED_TILE = 32.0
FREEZE_S = 0.3  # a gap between two intact pictures longer than this is a visible freeze
MAX_LATENCY_MS = 60_000  # anything larger is a misread stamp, not a latency
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


def now_ms() -> int:
    return int(time.time() * 1000) % (1 << TIME_BITS)


def stamp(image: np.ndarray, value: int, bits: int = 40, block: int = BLOCK) -> None:
    """Write `bits` bits of `value` into the top rows of a luma image as black/white blocks.

    Bits run left to right, then on to the next row of blocks.
    """
    per_row = image.shape[1] // block
    for bit in range(bits):
        row, col = divmod(bit, per_row)
        on = 255 if (value >> bit) & 1 else 0
        image[row * block : (row + 1) * block, col * block : (col + 1) * block] = on


def read_stamp(image: np.ndarray, bits: int = 40, block: int = BLOCK) -> int:
    """The value `stamp` wrote, read from the middle of each block in one numpy pass."""
    per_row = image.shape[1] // block
    rows, q = -(-bits // per_row), block // 4
    blocks = image[: rows * block, : per_row * block].reshape(rows, block, per_row, block)
    on = blocks[:, q : block - q, :, q : block - q].mean(axis=(1, 3)).ravel()[:bits] > 128
    return sum(1 << bit for bit in np.flatnonzero(on).tolist())


class Picture:
    """The chair's picture at one size: frame n drawn, its stamp read, a decoded one judged.

    A scrolling texture with a moving bar: the texture gives the encoder real
    work (so rate control settles near a camera's bitrate), and both depend
    only on n, so a viewer can redraw what it should see.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        # Stamp bits are 8 px blocks on small pictures, a whole macroblock from 640 px up,
        # so a relay that re-encodes at a low bitrate still leaves them readable.
        self.block = BLOCK if width < 640 else 16
        rows = -(-(TIME_BITS + NUMBER_BITS) // (width // self.block))
        self.top = rows * self.block  # the stamp's rows; the checked picture is below
        rng = np.random.default_rng(11)
        texture = rng.integers(40, 200, (-(-height // 8) + 33, -(-width // 8) + 33), dtype=np.uint8)
        self._texture = np.kron(texture, np.ones((8, 8), dtype=np.uint8))
        self._step = 2 if width * height <= 640 * 360 else 4  # sample grid for the check

    def body(self, n: int, step: int = 1) -> np.ndarray:
        """Frame n's luma below the stamp, every `step`-th pixel."""
        dx, dy = (n * 2) % 256, n % 256
        rows = slice(dy + self.top, dy + self.height, step)
        image = self._texture[rows, dx : dx + self.width : step].copy()
        bar = (n * 4) % max(self.width - 16, 1)
        image[:, -(-bar // step) : -(-(bar + 16) // step)] = 230  # motion, so frames differ
        return image

    def draw(self, n: int, sent_ms: int) -> VideoFrame:
        """Frame n as a yuv420p VideoFrame, stamped with n and `sent_ms`."""
        image = np.empty((self.height * 3 // 2, self.width), dtype=np.uint8)
        image[self.top : self.height] = self.body(n)
        image[self.height :] = 128  # neutral chroma
        image[: self.top] = 0
        value = sent_ms | ((n % (1 << NUMBER_BITS)) << TIME_BITS)
        stamp(image, value, TIME_BITS + NUMBER_BITS, self.block)
        return VideoFrame.from_ndarray(image, format="yuv420p")

    def read(self, luma: np.ndarray) -> tuple[int, int]:
        """The frame number and send time stamped in `luma` (at least the top rows)."""
        value = read_stamp(luma, TIME_BITS + NUMBER_BITS, self.block)
        return value >> TIME_BITS, value & ((1 << TIME_BITS) - 1)

    def damage(self, luma: np.ndarray, n: int) -> float:
        """How far `luma` is from frame n: the worst tile's mean absolute difference."""
        s, t = self._step, TILE // self._step
        got = luma[self.top : self.height : s, : self.width : s].astype(np.int16)
        want = self.body(n, s).astype(np.int16)
        rows, cols = got.shape[0] // t * t, got.shape[1] // t * t
        diff = np.abs(got[:rows, :cols] - want[:rows, :cols])
        return float(diff.reshape(rows // t, t, cols // t, t).mean(axis=(1, 3)).max())


    def judge(self, luma: np.ndarray, after: int | None = None) -> Verdict:
        """Which frame `luma` is, and how damaged; `after` is the last intact frame seen.

        At low bitrates VP8 sometimes blurs a stamp block or two, so an intact picture
        may carry a wrong number: it is intact too if it is exactly one of the frames
        following the last one seen (neighbours differ by over 40, so none passes for
        another), or the one whose number differs in the two fastest-flipping bits.
        """
        read, sent_ms = self.read(luma)
        candidates = [read, read ^ 1, read ^ 2, read ^ 3]
        if after is not None:
            candidates += [after + 1, after + 2, after + 3]
        for number in dict.fromkeys(candidates):
            damage = self.damage(luma, number)
            if damage <= DAMAGED_TILE:
                return Verdict(number, sent_ms, damage)
        return Verdict(read, sent_ms, self.damage(luma, read))

def luma_of(frame: VideoFrame) -> np.ndarray:
    """The decoded luma plane, read in place: no conversion of the whole frame."""
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8, count=frame.height * plane.line_size)
    return rows.reshape(frame.height, plane.line_size)[:, : frame.width]


@dataclass(frozen=True)
class Verdict:
    number: int
    sent_ms: int
    damage: float

    @property
    def intact(self) -> bool:
        return self.damage <= DAMAGED_TILE


@dataclass(frozen=True)
class Tally:
    """A viewer's picture counts at one moment; two tallies give a window's figures."""

    at: float
    decoded: int
    intact: int
    freezes: tuple[tuple[float, float], ...]  # (ended at, seconds) of every freeze so far
    last_intact_at: float | None

    def since(self, start: Tally) -> PictureWindow:
        freezes = [s for end, s in self.freezes if end > start.at]
        waiting = self.at - (self.last_intact_at if self.last_intact_at is not None else start.at)
        if waiting > FREEZE_S:
            freezes.append(waiting)  # a freeze still going on counts too
        intact = self.intact - start.intact
        decoded = self.decoded - start.decoded
        return PictureWindow(self.at - start.at, decoded, intact, freezes)


@dataclass(frozen=True)
class PictureWindow:
    seconds: float
    decoded: int
    intact: int
    freezes: list[float]

    @property
    def damaged(self) -> int:
        return self.decoded - self.intact

    @property
    def intact_share(self) -> float:
        return self.intact / self.decoded if self.decoded else 0.0

    @property
    def longest_freeze(self) -> float:
        return max(self.freezes, default=0.0)

    def __str__(self) -> str:
        return (
            f"{self.decoded} decoded, {self.intact} intact, {self.damaged} damaged in "
            f"{self.seconds:.1f} s; freezes over {FREEZE_S} s: "
            f"{', '.join(f'{s:.2f}' for s in self.freezes) or 'none'}"
        )


class PictureCheck:
    """Judges every decoded picture against the chair's and keeps a viewer's counts."""

    def __init__(self) -> None:
        self.decoded = 0
        self.intact = 0
        self.last_intact_at: float | None = None
        self.freezes: list[tuple[float, float]] = []
        self.latencies_ms: list[float] = []
        self.last: Verdict | None = None
        self.recent: deque[Verdict] = deque(maxlen=900)  # the last 30 s at 30 fps, in order
        self._pictures: dict[tuple[int, int], Picture] = {}

    def _judge(self, frame: VideoFrame, after: int | None) -> Verdict:
        size = (frame.width, frame.height)
        picture = self._pictures.get(size) or self._pictures.setdefault(size, Picture(*size))
        return picture.judge(luma_of(frame), after)

    async def see(self, frame: VideoFrame) -> Verdict:
        """Count one decoded picture; the comparison runs off the event loop."""
        at = time.time()
        after = self.last.number if self.last is not None and self.last.intact else None
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(None, self._judge, frame, after)
        self.decoded += 1
        self.last = verdict
        self.recent.append(verdict)
        if verdict.intact:
            if self.last_intact_at is not None and at - self.last_intact_at > FREEZE_S:
                self.freezes.append((at, at - self.last_intact_at))
            self.last_intact_at = at
            self.intact += 1
            latency = now_ms() - verdict.sent_ms
            if 0 <= latency <= MAX_LATENCY_MS:
                self.latencies_ms.append(latency)
        return verdict

    def tally(self) -> Tally:
        return Tally(
            time.time(), self.decoded, self.intact, tuple(self.freezes), self.last_intact_at
        )


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
        self._began: float | None = None

    async def recv(self) -> VideoFrame:  # type: ignore[override]
        if self._began is None:
            self._began = time.monotonic()
        delay = self._began + self.frames_sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = self.first + self.frames_sent
        # Drawing a whole frame with numpy: off the event loop, per house style.
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(None, self.picture.draw, n, now_ms())
        frame.pts = self.frames_sent * (90000 // self.fps)
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
    "Picture",
    "PictureCheck",
    "Publisher",
    "StampedVideoTrack",
    "Viewer",
    "start_publisher",
    "start_viewer",
    "wait_for",
]
