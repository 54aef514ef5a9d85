"""One recording on disk, as its `recording.json` describes it (the record contract):
data_dir/recordings/<meeting_id>/<recording_id>/ holds chair.mkv, floor.mkv, program.mka,
timeline.jsonl and recording.json. The recorder writes it; export and the pages read it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

RECORDINGS = "recordings"  # under data_dir
INFO = "recording.json"
PAD = 4096  # recording.json is padded to a multiple of this (see Recording.save)
CHAIR_FILE, FLOOR_FILE, PROGRAM_FILE, SLIDES_FILE, TIMELINE = (
    "chair.mkv",
    "floor.mkv",
    "program.mka",
    "slides.mkv",  # only when the chair shared a screen
    "timeline.jsonl",
)
# state: "recording" while a recorder writes it (or its bridge died: see mark_interrupted),
# then "complete", "interrupted" or "failed".
RECORDING, COMPLETE, INTERRUPTED, FAILED = "recording", "complete", "interrupted", "failed"


@dataclass(frozen=True)
class RecordingInfo:
    meeting_id: str
    recording_id: str
    started_at: float
    stopped_at: float | None = None
    state: str = RECORDING
    reason: str | None = None
    # "chair", "floor", "program" → {"video": "vp8" | "h264", "audio": "opus"}
    tracks: dict[str, dict[str, str]] = field(default_factory=dict)
    folder: Path = Path(".")  # where it was read from or is written to; not in the JSON

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["folder"]
        return out

    def file(self, name: str) -> Path:
        return self.folder / name


class Recording:
    """Reads and writes one recording's recording.json."""

    @staticmethod
    def folder(data_dir: Path, meeting_id: str, recording_id: str) -> Path:
        return data_dir / RECORDINGS / meeting_id / recording_id

    @staticmethod
    def load(folder: Path) -> RecordingInfo:
        """The recording.json in `folder`; OSError or ValueError when it is missing or garbled."""
        raw = json.loads((folder / INFO).read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"{folder / INFO} is not an object")
        stopped = raw.get("stopped_at")
        return RecordingInfo(
            meeting_id=str(raw["meeting_id"]),
            recording_id=str(raw["recording_id"]),
            started_at=float(raw["started_at"]),
            stopped_at=None if stopped is None else float(stopped),
            state=str(raw.get("state", RECORDING)),
            reason=raw.get("reason"),
            tracks={str(k): dict(v) for k, v in dict(raw.get("tracks") or {}).items()},
            folder=folder,
        )

    @staticmethod
    def save(info: RecordingInfo) -> None:
        """Write recording.json whole or not at all: a crash mid-write leaves the old one.
        On a full disk the new one is written over the old in place instead (it is padded
        to PAD bytes, so that needs no new space): the disk filling up is exactly when the
        recording must still be marked "failed"."""
        info.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(info.to_json(), ensure_ascii=False).encode()
        text += b" " * (-len(text) % PAD)  # spaces after the object: still the same JSON
        path = info.folder / INFO
        temporary = info.folder / (INFO + ".tmp")
        try:
            temporary.write_bytes(text)
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.exists():
                raise
            if len(text) > path.stat().st_size:
                raise
            with path.open("r+b") as file:
                file.write(text)
                file.truncate(len(text))


def recordings_of(data_dir: Path, meeting_id: str) -> list[RecordingInfo]:
    """Every readable recording of `meeting_id`, oldest first."""
    found: list[RecordingInfo] = []
    base = data_dir / RECORDINGS / meeting_id
    if not base.is_dir():
        return found
    for folder in base.iterdir():
        try:
            found.append(Recording.load(folder))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("recording %s is unreadable: %s", folder, exc)
    return sorted(found, key=lambda info: info.started_at)


def mark_interrupted(data_dir: Path) -> list[RecordingInfo]:
    """At start nothing records yet: a recording.json still saying "recording" was left by a
    bridge that died (kill -9, power cut). Mark each "interrupted"; return them."""
    marked: list[RecordingInfo] = []
    base = data_dir / RECORDINGS
    if not base.is_dir():
        return marked
    for info_file in base.glob(f"*/*/{INFO}"):
        try:
            info = Recording.load(info_file.parent)
            if info.state != RECORDING:
                continue
            info = replace(
                info, state=INTERRUPTED, reason=INTERRUPTED, stopped_at=_last_written(info)
            )
            Recording.save(info)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("recording %s could not be marked interrupted: %s", info_file, exc)
            continue
        logger.warning("recording %s/%s was interrupted", info.meeting_id, info.recording_id)
        marked.append(info)
    return marked


def _last_written(info: RecordingInfo) -> float | None:
    """When an interrupted recording stopped: its timeline's last sync point (written twice
    a second, beside the media), else the files' last change. The media's own clock comes
    first: a folder copied or restored from a backup has fresh change times."""
    last: float | None = None
    try:
        with (info.folder / TIMELINE).open(encoding="utf-8") as timeline:
            for line in timeline:
                try:
                    wall = json.loads(line).get("wall")
                except (ValueError, AttributeError):
                    continue  # the line the crash cut short
                if isinstance(wall, int | float):
                    last = max(last or wall, float(wall))
    except OSError:
        pass
    if last is not None:
        return last
    return max((f.stat().st_mtime for f in info.folder.iterdir()), default=None)
