"""The export's ZIP built in this process: what it holds when little was recorded, and
what it leaves behind when the video pass fails."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import pytest

from media.errors import RenderFailed
from media.export import ExportSettings, MinutesWriter, export_meeting
from media.minutes import MinutesContext, write_minutes
from media.render import Progress
from media.render_job import RenderJob
from rooms.entry import Entry
from rooms.events import (
    ConsentGiven,
    Event,
    FloorEnded,
    FloorGranted,
    MeetingClosed,
    MeetingOpened,
)
from rooms.history import MeetingHistory
from tests.recording_fixtures import HALL_NAMES

EVENTS = [
    MeetingOpened("m9", "<script>alert(1)</script>", at=1000.0),
    FloorGranted(Entry("e1", "thon-1", '=HYPERLINK("x")', "Nước", 990.0), 180, "chair", at=1010.0),
    ConsentGiven("e1", True, at=1011.0),
    FloorEnded("e1", "thon-1", "chair", "ended", at=1040.0),
    MeetingClosed("m9", at=1100.0),
]


def _settings(data_dir: Path) -> ExportSettings:
    return ExportSettings(data_dir, "Xã Trực Khang", HALL_NAMES)


def test_a_meeting_never_recorded_exports_its_minutes_and_log_only(tmp_path: Path) -> None:
    shares: list[float] = []
    seen: dict[str, str | None] = {}

    def minutes(folder: Path, clips: Mapping[str, str | None]) -> list[Path]:
        seen.update(clips)
        return minutes_of(EVENTS)(folder, clips)

    path = export_meeting(_settings(tmp_path), "m9", "x1", EVENTS, minutes, shares.append)
    names = zipfile.ZipFile(path).namelist()
    assert sorted(names) == ["bien-ban.docx", "bien-ban.html", "bien-ban.json", "nhat-ky.json"]
    assert seen == {"e1": None}  # consent, but nothing recorded: "not recorded"
    log = json.loads(zipfile.ZipFile(path).read("nhat-ky.json"))
    assert log[0]["title"] == "<script>alert(1)</script>"  # kept as text, as logged
    assert shares[-1] == 1.0 and shares == sorted(shares)
    assert [p.name for p in path.parent.iterdir()] == ["x1.zip"]


def test_a_failed_video_pass_leaves_no_zip_and_no_work_folder(tmp_path: Path) -> None:
    def broken(job: RenderJob, progress: Progress | None) -> None:
        Path(job.composite or "").write_bytes(b"half")
        raise RenderFailed("disk full")

    with pytest.raises(RenderFailed):
        export_meeting(_settings(tmp_path), "m9", "x2", EVENTS, minutes_of(EVENTS), None, broken)
    assert list((tmp_path / "exports" / "m9").iterdir()) == []


def minutes_of(events: list[Event]) -> MinutesWriter:
    """The real minutes (DOCX, HTML, JSON) of `events`, as the bridge writes them."""
    context = MinutesContext("Xã Trực Khang", halls=HALL_NAMES)
    return partial(write_minutes, MeetingHistory.from_events(events), context)
