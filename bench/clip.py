"""A synthetic 720p VP8 clip encoded once with PyAV, replayed as a live track without re-encoding.

aiortc's sender only packetizes (`encoder.pack`) what a track returns as
`av.Packet`, so replaying the clip gives a steady ~2 Mbps stream for almost no
publisher CPU, which leaves the two cores to the relay and the subscribers.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc import MediaStreamTrack

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


def _frames(width: int, height: int, count: int, fps: int, tint: int) -> list[av.VideoFrame]:
    """Moving blocky texture plus fresh grain each frame, so the encoder has work at 2 Mbps;
    both chroma planes are `tint`, so a decoded frame tells whose clip it came from."""
    rng = np.random.default_rng(7)
    texture = rng.integers(30, 220, (height // 4 + 64, width // 4 + 64), dtype=np.uint8)
    texture = np.kron(texture, np.ones((4, 4), dtype=np.uint8))
    frames = []
    for n in range(count):
        dx, dy = (n * 3) % 256, (n * 2) % 256
        y = texture[dy : dy + height, dx : dx + width].astype(np.int16)
        y += rng.integers(-6, 7, (height, width), dtype=np.int16)
        bar = (n * 12) % (width - 64)
        y[:, bar : bar + 64] = 235
        image = np.empty((height * 3 // 2, width), dtype=np.uint8)
        image[:height] = np.clip(y, 0, 255)
        image[height:] = tint
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = n
        frame.time_base = fractions.Fraction(1, fps)
        frames.append(frame)
    return frames


def encode_clip(
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    seconds: float = 4.0,
    bitrate: int = 2_000_000,
    keyframe_every: int = 60,
    tint: int = 128,
) -> list[bytes]:
    """Encode the clip with libvpx (CBR, no lag) and return one VP8 frame per entry.

    Blocking for a few seconds: call it in an executor.
    """
    count = int(seconds * fps)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = keyframe_every
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        # No look-ahead: every input frame gives exactly one shown output frame.
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
        "undershoot-pct": "0",
    }
    encoded: list[bytes] = []
    for n, frame in enumerate(_frames(width, height, count, fps, tint)):
        if n % keyframe_every == 0:
            frame.pict_type = av.video.frame.PictureType.I
        encoded += [bytes(packet) for packet in codec.encode(frame)]
    encoded += [bytes(packet) for packet in codec.encode(None)]
    # The clip loops: its first frame must be a keyframe so a loop restart decodes cleanly.
    if not encoded or encoded[0][0] & 0x01:
        raise RuntimeError("the encoded clip does not start with a keyframe")
    return encoded


class ClipTrack(MediaStreamTrack):
    """Replays pre-encoded VP8 frames in a loop at `fps`, with continuous timestamps."""

    kind = "video"

    def __init__(self, frames: list[bytes], fps: int = 30) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.frames_sent = 0
        self.bytes_sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.frames_sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.frames[self.frames_sent % len(self.frames)]
        packet = av.Packet(data)
        packet.pts = self.frames_sent * (90000 // self.fps)
        packet.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        self.bytes_sent += len(data)
        return packet
