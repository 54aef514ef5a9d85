"""The chair's picture as a function of its frame number, and the check a viewer makes of it.

Every picture the chair sends is drawn from its frame number and stamped in
its top rows with that number and its wall-clock send time. A viewer reads
the stamp, redraws the picture it should have got, and so tells an intact
picture from a damaged one (a decoder's frame counter cannot), and it
measures end-to-end latency from the picture alone.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from av import VideoFrame

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
        following the last one seen, or one whose number differs from the one read in
        one bit, or in the two fastest-flipping bits. Only a picture that is a frame's
        body passes, so damage is never excused: each of these frames differs from the
        true one by over 40, and two frames share a body only thousands of frames apart
        (4864 at 320 px wide: the texture repeats every 256 frames, the bar every 76).
        Two one-bit misreads can be that far apart (bits 8 and 17), so the number given
        may, very rarely, be wrong; the verdict on damage is not.
        (A Chromium TV behind TURN misread bit 2, 5 or 8 of 3 of 85 pictures it showed
        whole, on a loaded machine.)
        """
        read, sent_ms = self.read(luma)
        candidates = [read, read ^ 3, *(read ^ (1 << bit) for bit in range(NUMBER_BITS))]
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
