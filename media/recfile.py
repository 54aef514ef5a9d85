"""One Matroska file of a recording (chair.mkv, floor.mkv, program.mka): whole frames in,
muxed as they came, never transcoded. Runs on the recorder's thread only.

The file opens at its first frame that fixes its layout: a video keyframe (the header
needs the picture size, read by decoding that one frame), or OPEN_WITHOUT_VIDEO seconds
of sound with no picture. Clusters close every CLUSTER_MS and each write goes straight
to the file, so a killed bridge leaves a file that plays up to its last second or two.
"""

from __future__ import annotations

import fractions
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import av

from .framer import Frame

logger = logging.getLogger(__name__)

CLUSTER_MS = 1000
OPEN_WITHOUT_VIDEO = 2.0  # seconds of sound after which a file opens with no picture
MAX_WAITING = 500  # frames held while the layout is not known
SYNC_EVERY = 0.5  # seconds between two timeline lines of one stream (the contract: ≥ 1 a second)
MS = fractions.Fraction(1, 1000)
MUXER_OPTIONS = {
    "cluster_time_limit": str(CLUSTER_MS),
    "flush_packets": "1",  # each cluster reaches the file when it closes, not at 32 kB
    "max_interleave_delta": "300000",  # µs: a silent track holds the others back no longer
}


class RecordingFile:
    """`kinds`: "video" → "vp8" | "h264", "audio" → "opus" (what this file may carry)."""

    def __init__(
        self,
        path: Path,
        kinds: dict[str, str],
        timeline: IO[str],
        on_open: Callable[[dict[str, str]], None],
    ) -> None:
        self.path = path
        self.kinds = kinds
        self._timeline = timeline
        self._on_open = on_open
        self._container: Any = None  # av.container.OutputContainer once open
        self._streams: dict[str, Any] = {}
        self._waiting: list[tuple[str, Frame]] = []
        self._last_ms: dict[str, int] = {}
        self._synced: dict[str, float] = {}
        self.frames_written = 0
        self.frames_dropped = 0  # of a kind the open file has no track for, or while waiting

    @property
    def opened(self) -> bool:
        return self._container is not None

    def write(self, kind: str, frame: Frame) -> None:
        """Mux one frame; raises OSError (or av's error) when the file cannot be written."""
        if self._container is None:
            self._waiting.append((kind, frame))
            if not self._try_open():
                if len(self._waiting) > MAX_WAITING:
                    self._waiting.pop(0)
                    self.frames_dropped += 1
                return
            waiting, self._waiting = self._waiting, []
            for k, f in waiting:
                self._mux(k, f)
            return
        self._mux(kind, frame)

    def close(self) -> None:
        """Finish the file (cues, duration); idempotent. A file that never opened is none."""
        container, self._container = self._container, None
        if container is not None:
            container.close()

    # -- opening ------------------------------------------------------------------------

    def _try_open(self) -> bool:
        size = None
        if "video" in self.kinds:
            keyframe = next((f for k, f in self._waiting if k == "video" and f.keyframe), None)
            if keyframe is not None:
                size = _picture_size(self.kinds["video"], keyframe.data)
                if size is None:  # undecodable: wait for the next one
                    self._waiting = [(k, f) for k, f in self._waiting if f is not keyframe]
                    self.frames_dropped += 1
        sound = [f for k, f in self._waiting if k == "audio"]
        waited = len(sound) > 1 and sound[-1].pts - sound[0].pts >= OPEN_WITHOUT_VIDEO
        if size is None and not waited and "video" in self.kinds:
            return False
        self._open(size)
        return True

    def _open(self, size: tuple[int, int] | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(
            str(self.path), "w", format="matroska", container_options=dict(MUXER_OPTIONS)
        )
        try:
            tracks: dict[str, str] = {}
            if size is not None:
                codec = self.kinds["video"]
                stream = container.add_mux_stream(codec, width=size[0], height=size[1])
                stream.time_base = MS
                self._streams["video"] = stream
                tracks["video"] = codec
            if "audio" in self.kinds:
                # An encoder stream only for its header (OpusHead): nothing is encoded.
                audio = container.add_stream("libopus", rate=48000, layout="stereo")
                audio.time_base = MS
                self._streams["audio"] = audio
                tracks["audio"] = "opus"
        except BaseException:
            container.close()
            raise
        self._container = container
        # Video before sound: the keyframe the layout came from leads the file.
        self._waiting.sort(key=lambda kf: (kf[1].pts, kf[0] != "video"))
        self._on_open(tracks)

    # -- muxing -------------------------------------------------------------------------

    def _mux(self, kind: str, frame: Frame) -> None:
        stream = self._streams.get(kind)
        if stream is None:
            self.frames_dropped += 1
            return
        # One clock for every file: media time is wall time since the start, in ms, and
        # each track's times only go forward.
        ms = max(round(frame.pts * 1000), self._last_ms.get(kind, -1) + 1)
        self._last_ms[kind] = ms
        packet = av.Packet(frame.data)
        packet.stream = stream
        packet.pts = packet.dts = ms
        packet.time_base = MS
        if kind == "video":
            packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self.frames_written += 1
        if frame.wall - self._synced.get(kind, 0.0) >= SYNC_EVERY:
            self._synced[kind] = frame.wall
            line = {"wall": frame.wall, "file": self.path.name, "stream": kind, "pts": ms / 1000}
            self._timeline.write(json.dumps(line) + "\n")


def _picture_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """The width and height of a keyframe, by decoding it (once per file)."""
    try:
        decoder: Any = av.CodecContext.create(codec, "r")
        for picture in decoder.decode(av.Packet(data)):
            return picture.width, picture.height
        for picture in decoder.decode(None):
            return picture.width, picture.height
    except (av.FFmpegError, ValueError) as exc:
        logger.warning("a %s keyframe could not be decoded: %s", codec, exc)
    return None
