"""A live 720p camera whose frames carry their capture time in their pixels, and the reader for it.

Like tests/peers.py it writes 40 bits of wall-clock milliseconds as black/white
blocks on the top rows, but each block fills a whole 16×16 macroblock, so a
relay that re-encodes at a low bitrate still leaves it readable. (Kept here
also because `mypy bench` follows imports and tests/peers.py does not type-check.)
"""

from __future__ import annotations

import asyncio
import fractions
import time

import numpy as np
from aiortc import VideoStreamTrack
from av import VideoFrame

STAMP_BITS = 40
BLOCK = 16  # one VP8 macroblock per bit
MAX_LATENCY_MS = 60_000  # anything larger is a misread stamp, not a latency
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


def read_stamp(rows: np.ndarray) -> int:
    """The value in the stamp: `rows` must hold at least the top BLOCK luma rows."""
    value = 0
    for bit in range(STAMP_BITS):
        if rows[4 : BLOCK - 4, bit * BLOCK + 4 : (bit + 1) * BLOCK - 4].mean() > 128:
            value |= 1 << bit
    return value


def now_stamp() -> int:
    return int(time.time() * 1000) % (1 << STAMP_BITS)


class StampedTrack(VideoStreamTrack):
    """A scrolling texture with a moving bar, paced at `fps`, each frame stamped as it is drawn.

    The texture gives the encoder real work, so aiortc's rate control settles
    near a camera's bitrate instead of the few dozen kbps a flat picture needs.
    """

    def __init__(self, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.sent = 0
        self._begin: float | None = None
        rng = np.random.default_rng(11)
        texture = rng.integers(40, 200, (height // 8 + 32, width // 8 + 32), dtype=np.uint8)
        self._texture = np.kron(texture, np.ones((8, 8), dtype=np.uint8))

    def _draw(self, n: int) -> VideoFrame:
        image = np.empty((self.height * 3 // 2, self.width), dtype=np.uint8)
        dx, dy = (n * 2) % 256, n % 256
        image[: self.height] = self._texture[dy : dy + self.height, dx : dx + self.width]
        image[self.height :] = 128  # neutral chroma
        bar = (n * 4) % max(self.width - 16, 1)
        image[BLOCK : self.height, bar : bar + 16] = 200  # motion, so frames differ
        value = now_stamp()
        for bit in range(STAMP_BITS):
            image[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if (value >> bit) & 1 else 0
        frame = VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = n * (90000 // self.fps)
        frame.time_base = VIDEO_TIME_BASE
        return frame

    async def recv(self) -> VideoFrame:  # type: ignore[override]
        if self._begin is None:
            self._begin = time.monotonic()
        delay = self._begin + self.sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # A whole 720p frame is built with numpy: off the event loop, per house style.
        frame = await asyncio.get_running_loop().run_in_executor(None, self._draw, self.sent)
        self.sent += 1
        return frame
