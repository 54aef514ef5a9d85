"""A reader of the recorder's folders (the contract's "recording on disk"), for the export.

The recorder's own `media/recording.py` exposes the same names (`Recording.load`,
`recordings_of`, `RecordingInfo`); this minimal reader stands in until both meet, and
adds what only the export needs: where an interrupted recording really ends.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import av

logger = logging.getLogger(__name__)

MEDIA_FILES = ("chair.mkv", "floor.mkv", "program.mka")


@dataclass(frozen=True)
class RecordingInfo:
    """What recording.json says, and the folder it sits in."""

    folder: Path
    meeting_id: str
    recording_id: str
    started_at: float
    stopped_at: float | None
    state: str  # "recording" | "complete" | "interrupted" | "failed"
    reason: str | None = None
    tracks: dict[str, dict[str, str]] = field(default_factory=dict)

    def file(self, name: str) -> Path:
        return self.folder / name


class Recording:
    @staticmethod
    def load(folder: Path) -> RecordingInfo:
        """Parse `folder/recording.json`; raises OSError or ValueError when it is unreadable."""
        raw = json.loads((folder / "recording.json").read_text(encoding="utf-8"))
        stopped = raw.get("stopped_at")
        return RecordingInfo(
            folder=folder,
            meeting_id=str(raw["meeting_id"]),
            recording_id=str(raw["recording_id"]),
            started_at=float(raw["started_at"]),
            stopped_at=None if stopped is None else float(stopped),
            state=str(raw.get("state") or "recording"),
            reason=raw.get("reason"),
            tracks=dict(raw.get("tracks") or {}),
        )


def recordings_of(data_dir: Path, meeting_id: str) -> list[RecordingInfo]:
    """Every readable recording of `meeting_id`, oldest first; unreadable ones are logged."""
    root = data_dir / "recordings" / meeting_id
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (folder / "recording.json").is_file():
            continue
        try:
            found.append(Recording.load(folder))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("recording %s skipped: %s", folder, exc)
    return sorted(found, key=lambda r: r.started_at)


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
