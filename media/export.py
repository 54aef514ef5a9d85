"""The secretary's export of one meeting: a ZIP with the composite video, the clips, the
minutes and the event log, at `data_dir/exports/<meeting_id>/<export_id>.zip`.

The video pass is the slow part; the caller chooses where it runs (in this process for
the terminal, in a niced child process beside a live meeting).
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from media.clips import clip_mapping
from media.errors import ExportFailed
from media.mp4writer import PRESET
from media.names import fold, stamp
from media.recording import recordings_of
from media.render import Progress
from media.render_job import RenderJob, run_job
from rooms import Event, event_to_wire
from rooms.history import MeetingHistory

logger = logging.getLogger(__name__)

# The minutes writer (media/minutes.py's write_minutes, bound to its context by the
# caller): writes bien-ban.* into the folder; gets each question's clip name or None.
MinutesWriter = Callable[[Path, Mapping[str, str | None]], list[Path]]
RenderRunner = Callable[[RenderJob, Progress | None], None]

RENDER_SHARE = 0.9  # of the progress bar: the rest is minutes and zipping
WORK_SUFFIX = ".work"
PART_SUFFIX = ".part"


@dataclass(frozen=True)
class ExportSettings:
    data_dir: Path
    commune: str
    hall_names: Mapping[str, str]
    fps: int = 15
    threads: int = 2
    preset: str = PRESET
    nice: int = 0


def exports_dir(data_dir: Path, meeting_id: str) -> Path:
    return data_dir / "exports" / meeting_id


def clips_dir(data_dir: Path, meeting_id: str) -> Path:
    return data_dir / "clips" / meeting_id


def composite_name(history: MeetingHistory, commune: str, origin: float) -> str:
    """`<date>_<time>_<commune>_hop.mp4`, stamped with the meeting's opening."""
    return f"{stamp(history.opened_at or origin)}_{fold(commune, 30)}_hop.mp4"


def export_meeting(
    settings: ExportSettings,
    meeting_id: str,
    export_id: str,
    events: Sequence[Event],
    minutes: MinutesWriter,
    progress: Progress | None = None,
    render: RenderRunner = run_job,
) -> Path:
    """Build the ZIP and return its path; the work folder is removed whatever happens."""
    report = progress or (lambda share: None)
    history = MeetingHistory.from_events(events)
    if history.meeting_id and history.meeting_id != meeting_id:
        raise ExportFailed(f"the log of {meeting_id} belongs to {history.meeting_id}")
    folder = exports_dir(settings.data_dir, meeting_id)
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / (export_id + WORK_SUFFIX)
    work.mkdir()
    try:
        recordings = recordings_of(settings.data_dir, meeting_id)
        origin = min((r.started_at for r in recordings), default=history.opened_at or 0.0)
        video = work / composite_name(history, settings.commune, origin)
        job = RenderJob(
            recordings=[str(r.folder) for r in recordings],
            questions=[asdict(q) for q in history.questions],
            hall_names=dict(settings.hall_names),
            title=history.title,
            commune=settings.commune,
            opened_at=history.opened_at,
            composite=str(video),
            clips_dir=str(clips_dir(settings.data_dir, meeting_id)),
            fps=settings.fps,
            threads=settings.threads,
            preset=settings.preset,
            nice=settings.nice,
            slides=[[since, until] for since, until in history.slides],
        )
        plans = job.plans(job.spans())
        render(job, lambda share: report(share * RENDER_SHARE))
        mapping = clip_mapping(history.questions, plans)
        written = minutes(work, mapping)
        report(0.95)
        log = work / "nhat-ky.json"
        log.write_text(
            json.dumps([event_to_wire(e) for e in events], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        members: list[tuple[Path, str]] = []
        if video.exists():
            members.append((video, f"video/{video.name}"))
        clip_folder = Path(job.clips_dir)
        members += [(clip_folder / p.file_name, f"clips/{p.file_name}") for p in plans]
        members += [(path, path.name) for path in written]
        members.append((log, log.name))
        target = folder / f"{export_id}.zip"
        _zip(members, target)
        report(1.0)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _zip(members: Sequence[tuple[Path, str]], target: Path) -> None:
    """Write the ZIP beside its place and rename it in: a half-written one never shows."""
    part = target.with_name(target.name + PART_SUFFIX)
    try:
        with zipfile.ZipFile(part, "w") as archive:
            for path, name in members:
                # Video is compressed already: storing it saves minutes of CPU for nothing lost.
                method = zipfile.ZIP_STORED if name.endswith(".mp4") else zipfile.ZIP_DEFLATED
                archive.write(path, name, compress_type=method)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
