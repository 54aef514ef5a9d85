"""The retention purge, with an injected clock: what is past its age goes, and is logged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from media.retention import DAY, Purge, RetentionPolicy
from web.config import load_settings
from web.errors import ConfigError

NOW = 1_800_000_000.0


class Recorded:
    """The access log as the purge sees it, for the test to read."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str, float]] = []

    def add(self, who_role: str, action: str, target: str, at: float) -> None:
        self.lines.append((who_role, action, target, at))


def _recording(data_dir: Path, meeting: str, rec: str, stopped_days_ago: float | None) -> Path:
    folder = data_dir / "recordings" / meeting / rec
    folder.mkdir(parents=True)
    started = NOW - (stopped_days_ago or 400) * DAY - 3600
    stopped = None if stopped_days_ago is None else NOW - stopped_days_ago * DAY
    info = {
        "meeting_id": meeting,
        "recording_id": rec,
        "started_at": started,
        "stopped_at": stopped,
        "state": "complete" if stopped else "interrupted",
        "reason": None,
        "tracks": {},
    }
    (folder / "recording.json").write_text(json.dumps(info))
    (folder / "chair.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
    return folder


def _file(path: Path, days_ago: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (NOW - days_ago * DAY, NOW - days_ago * DAY))
    return path


def test_purge_deletes_only_what_is_past_its_age_and_logs_each_deletion(tmp_path: Path) -> None:
    old_rec = _recording(tmp_path, "m1", "r1", stopped_days_ago=366)
    new_rec = _recording(tmp_path, "m2", "r1", stopped_days_ago=10)
    crashed = _recording(tmp_path, "m3", "r1", stopped_days_ago=None)  # never stopped: 400 d
    old_clip = _file(tmp_path / "clips/m1/a.mp4", 366)
    new_clip = _file(tmp_path / "clips/m2/b.mp4", 364)
    old_zip = _file(tmp_path / "exports/m1/x.zip", 31)
    new_zip = _file(tmp_path / "exports/m2/y.zip", 29)
    dead_part = _file(tmp_path / "exports/m2/z.zip.part", 2)
    work = tmp_path / "exports/m2/w.work"
    work.mkdir()
    os.utime(work, (NOW - 2 * DAY, NOW - 2 * DAY))
    log = Recorded()

    deleted = Purge(tmp_path, RetentionPolicy(), log, clock=lambda: NOW).run()

    assert set(deleted) == {old_rec, crashed, old_clip, old_zip, dead_part, work}
    for kept in (new_rec, new_clip, new_zip):
        assert kept.exists()
    for gone in deleted:
        assert not gone.exists()
    assert sorted(target for _, _, target, _ in log.lines) == sorted(
        str(p.relative_to(tmp_path)) for p in deleted
    )
    assert {(who, action, at) for who, action, _, at in log.lines} == {("system", "delete", NOW)}
    assert not (tmp_path / "clips/m1").exists()  # emptied meeting folders go too


def test_an_export_never_outlives_the_clips_inside_it(tmp_path: Path) -> None:
    export = _file(tmp_path / "exports/m1/x.zip", 8)
    policy = RetentionPolicy(clips_days=7, exports_days=30)
    assert Purge(tmp_path, policy, Recorded(), clock=lambda: NOW).run() == [export]


def test_the_purge_leaves_an_export_that_is_being_made(tmp_path: Path) -> None:
    work = tmp_path / "exports/m1/w.work"
    work.mkdir(parents=True)
    os.utime(work, (NOW - 3 * DAY, NOW - 3 * DAY))
    purge = Purge(tmp_path, RetentionPolicy(), Recorded(), clock=lambda: NOW, busy=lambda: {work})
    assert purge.run() == [] and work.exists()


def test_the_purge_never_follows_a_symlink_out_of_the_data_dir(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = _file(outside / "keep.mp4", 900)
    data_dir = tmp_path / "data"
    (data_dir / "clips").mkdir(parents=True)
    (data_dir / "clips" / "m1").symlink_to(outside)
    Purge(data_dir, RetentionPolicy(), Recorded(), clock=lambda: NOW).run()
    assert precious.exists()


def test_retention_is_read_from_the_config_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, {"data_dir": str(tmp_path), "retention": {"clips_days": 90}})
    assert settings.retention == RetentionPolicy(clips_days=90)
    with pytest.raises(ConfigError, match="retention.exports_days"):
        load_settings(None, {"data_dir": str(tmp_path), "retention": {"exports_days": 0}})
    with pytest.raises(ConfigError, match="retention.clip_days"):
        load_settings(None, {"data_dir": str(tmp_path), "retention": {"clip_days": 9}})
