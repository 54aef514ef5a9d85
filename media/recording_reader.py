"""What only the export needs to know of a recording beyond media/recording.py: which
of its files hold anything, where one cut short really ends, and how to read it to there."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from media.recording import CHAIR_FILE, FLOOR_FILE, PROGRAM_FILE, RecordingInfo

logger = logging.getLogger(__name__)

MEDIA_FILES = (CHAIR_FILE, FLOOR_FILE, PROGRAM_FILE)


def last_media_time(path: Path) -> float:
    """The timestamp (seconds) of the last packet that can be read from `path`; 0 when none.
    Demuxing only, no decoding: a file cut mid-cluster ends at its last whole packet."""
    last = 0.0
    try:
        with av.open(str(path)) as container:
            for packet in container.demux():
                if packet.pts is not None and packet.time_base is not None:
                    end = float(packet.pts * packet.time_base)
                    if packet.duration:
                        end += float(packet.duration * packet.time_base)
                    last = max(last, end)
    except (av.error.FFmpegError, OSError) as exc:
        logger.info("%s: read up to %.1f s (%s)", path, last, exc)
    return last


def whole_packets(container: Any, stream: Any, path: Path) -> Iterator[av.Packet]:
    """`stream`'s packets from an open `container`, in file order; a file cut mid-cluster
    (kill -9, a full disk) simply ends at its last whole packet."""
    packets = container.demux(stream)
    while True:
        try:
            yield next(packets)
        except StopIteration:
            return
        except (av.error.FFmpegError, OSError) as exc:
            logger.info("%s ends early: %s", path, exc)
            return


def media_file(info: RecordingInfo, name: str) -> Path | None:
    """The recording's file `name` when it exists and holds anything at all (floor.mkv is
    missing or empty when nobody took the floor)."""
    path = info.folder / name
    return path if path.is_file() and path.stat().st_size > 0 else None


def span_end(info: RecordingInfo) -> float:
    """Wall time the recording ends: its stop, or for one cut short (kill -9, still
    "recording" or "interrupted"), its last readable packet."""
    if info.stopped_at is not None:
        return info.stopped_at
    media = [media_file(info, name) for name in MEDIA_FILES]
    return info.started_at + max((last_media_time(p) for p in media if p), default=0.0)
