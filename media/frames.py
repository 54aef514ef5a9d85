"""A recorded camera read forward in time: the picture showing at any media time, scaled
to the size a layout asks for, decoded once and scaled once per size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import av

from media.canvas import Canvas, Planes, frame_planes
from media.recording_reader import whole_packets

logger = logging.getLogger(__name__)


class FrameSource:
    """The video of one file, decoded in order; `at(t)` never goes back in time."""

    def __init__(self, path: Path | None, threads: int = 1) -> None:
        self.path = path
        self._threads = threads
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None
        self._done = path is None
        self._scaled: dict[tuple[int, int], Planes] = {}
        self.bad_packets = 0

    @property
    def shown_since(self) -> float | None:
        """Media time of the picture `at` last returned."""
        return None if self._current is None else float(self._current.time or 0.0)

    def at(self, t: float) -> bool:
        """Move to the picture showing at media time `t`; False while there is none yet."""
        while not self._done:
            if self._next is None:
                self._next = self._read()
                if self._next is None:
                    break
            if (self._next.time or 0.0) > t:
                break
            self._current, self._next = self._next, None
            self._scaled.clear()
        return self._current is not None

    def picture(self, width: int, height: int) -> Planes:
        """The current picture fitted into width×height as 4:2:0 planes, black bars if
        the aspect differs."""
        assert self._current is not None
        cached = self._scaled.get((width, height))
        if cached is not None:
            return cached
        frame = self._current
        scale = min(width / frame.width, height / frame.height)
        w = max(2, round(frame.width * scale) // 2 * 2)
        h = max(2, round(frame.height * scale) // 2 * 2)
        if (w, h) == (frame.width, frame.height) and frame.format.name == "yuv420p":
            planes = frame_planes(frame)  # already the size and format: no copy
        else:
            planes = frame_planes(
                frame.reformat(width=w, height=h, format="yuv420p", interpolation="FAST_BILINEAR")
            )
        if (w, h) != (width, height):
            boxed = Canvas(width, height)
            boxed.fill((0, 0, 0))
            boxed.paste(planes, (width - w) // 4 * 2, (height - h) // 4 * 2)
            planes = boxed.planes
        self._scaled[(width, height)] = planes
        return planes

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._done = True

    def _read(self) -> av.VideoFrame | None:
        if self._frames is None:
            self._frames = self._decode()
        frame = next(self._frames, None)
        if frame is None:
            self.close()
        return frame

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Every decodable frame; a packet that cannot be decoded costs that packet only, and a
        file cut mid-cluster (kill -9) simply ends at its last whole packet."""
        assert self.path is not None
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as exc:
            logger.warning("%s cannot be read: %s", self.path, exc)
            return
        if not self._container.streams.video:
            return
        stream = self._container.streams.video[0]
        stream.thread_count = self._threads
        # Frame threads: two cores decode one camera about twice as fast.
        stream.thread_type = "AUTO" if self._threads > 1 else "SLICE"
        for packet in whole_packets(self._container, stream, self.path):
            try:
                yield from stream.decode(packet)
            except av.error.FFmpegError:
                self.bad_packets += 1
