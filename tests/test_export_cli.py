"""`commune-bridge export MEETING_ID`, run for real in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.recording_fixtures import sample_meeting
from web.eventlog import EventLog

COMMAND = [sys.executable, "-m", "web.cli"]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: ./data\nserver: {host: 127.0.0.1, port: 18444, tls: 'off'}\n", encoding="utf-8"
    )
    return config


def test_export_from_the_terminal_writes_the_same_zip_with_a_progress_bar(tmp_path: Path) -> None:
    config = _config(tmp_path)
    data_dir = tmp_path / "data"
    events = sample_meeting(data_dir)
    log = EventLog(data_dir)
    log.append("m1", events)
    log.close()
    done = subprocess.run(
        [*COMMAND, "--config", str(config), "export", "m1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # tqdm draws on stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.parent == data_dir / "exports" / "m1" and path.suffix == ".zip"
    names = zipfile.ZipFile(path).namelist()
    assert sum(n.startswith("video/") for n in names) == 1
    assert sum(n.startswith("clips/") for n in names) == 2
    assert "nhat-ky.json" in names


def test_export_of_an_unknown_meeting_says_so(tmp_path: Path) -> None:
    config = _config(tmp_path)
    done = subprocess.run(
        [*COMMAND, "--config", str(config), "export", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no meeting 'nope'" in done.stderr
