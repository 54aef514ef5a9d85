"""The program mix of a meeting's recordings laid on one timeline: every decoded sample at
the place its timestamp says, silence where nothing was recorded or packets are missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np

from media.recording_reader import whole_packets

logger = logging.getLogger(__name__)

RATE = 48000
# A timestamp this close to where the previous chunk ended is the same place: decoders
# round, and an Opus packet's pre-skip moves its first samples a few milliseconds.
SLACK = RATE // 50


class ProgramAudio:
    """Mono float32 samples at 48 kHz from wall time `origin` on, read in order by `take`."""

    def __init__(self, files: Sequence[tuple[Path | None, float]], origin: float) -> None:
        """`files`: (program.mka or None, its recording's started_at), oldest first."""
        self._chunks = self._decode_all(files, origin)
        self._pending: list[tuple[int, np.ndarray]] = []  # (first sample, samples)
        self._position = 0
        self._written_to = 0  # where the previous chunk ended, to close tiny gaps
        self._exhausted = False

    def take(self, count: int) -> np.ndarray:
        """The next `count` samples of the timeline."""
        start, end = self._position, self._position + count
        out = np.zeros(count, dtype=np.float32)
        while not self._exhausted and (not self._pending or self._pending[-1][0] < end):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._exhausted = True
                break
            self._pending.append(chunk)
        kept = []
        for first, samples in self._pending:
            last = first + len(samples)
            lo, hi = max(first, start), min(last, end)
            if lo < hi:
                out[lo - start : hi - start] = samples[lo - first : hi - first]
            if last > end:
                kept.append((first, samples))
        self._pending = kept
        self._position = end
        return out

    def _decode_all(
        self, files: Sequence[tuple[Path | None, float]], origin: float
    ) -> Iterator[tuple[int, np.ndarray]]:
        for path, started_at in files:
            if path is not None:
                yield from self._decode(path, round((started_at - origin) * RATE))

    def _decode(self, path: Path, offset: int) -> Iterator[tuple[int, np.ndarray]]:
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, OSError) as exc:
            logger.warning("%s cannot be read: %s", path, exc)
            return
        with container:
            if not container.streams.audio:
                return
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            cursor: int | None = None
            for packet in whole_packets(container, stream, path):
                try:
                    frames = stream.decode(packet)
                except av.error.FFmpegError:
                    continue  # one bad packet: a few ms of silence
                for frame in frames:
                    for out in resampler.resample(frame):
                        samples = out.to_ndarray().reshape(-1)
                        at = offset + round(float(frame.time or 0.0) * RATE)
                        if cursor is not None and abs(at - cursor) <= SLACK:
                            at = cursor  # contiguous: keep the stream seamless
                        cursor = at + len(samples)
                        yield at, samples
