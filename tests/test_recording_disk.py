"""A disk that fills up while recording: the recorder stops and says so on the chair console,
the live meeting goes on, and what was written still plays. The "disk" is a small tmpfs
mounted over the recordings folder (the test needs root)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from media.recording import Recording
from tests.edge import http_signal
from tests.floorpeers import start_watcher
from tests.peers import Publisher, wait_for
from tests.pictures import Picture
from tests.recorded_media import decode_file
from tests.test_floor_media import Page
from web.config import Settings, load_settings

pytestmark = pytest.mark.asyncio

DISK = "400k"  # a few seconds of the test chair's camera


@pytest.fixture
def small_disk(settings: Settings) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = settings.data_dir / "recordings"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The tmpfs is far below the 2 GiB a recording needs by default."""
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "recording": {"min_free_gib": 0},
        },
    )


async def test_a_full_disk_stops_the_recording_with_a_visible_error_and_the_meeting_goes_on(
    small_disk: Path, client: TestClient, settings: Settings, live_chair: Publisher
) -> None:
    chair = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    tv = await start_watcher(
        http_signal(client, "/whep", settings.halls[0].key), ["video", "audio"]
    )
    try:
        await chair.send(type="record-start")
        await wait_for(lambda: bool(chair.state.get("recording")), 5, "the recording")
        recording_id = chair.state["recording"]["id"]
        await wait_for(
            lambda: chair.state.get("recording_stopped") is not None, 60, "the disk to fill up"
        )
        assert chair.state["recording_stopped"]["reason"] == "disk-full"
        assert chair.state["recording"] is None
        assert chair.state["meeting"] is not None  # the meeting goes on
        # The TV's picture goes on, whole. (Counted, not the last ten checked: on a loaded
        # test machine aiortc's own receiver may show one picture torn by a lost packet.)
        check = tv.tracks[0].pictures
        seen, decoded = check.intact, check.decoded
        await wait_for(lambda: check.intact > seen + 10, 10, "the TV's pictures")
        assert check.intact - seen >= 0.9 * (check.decoded - decoded)
        folder = Recording.folder(settings.data_dir, chair.state["meeting"]["id"], recording_id)
        await wait_for(lambda: Recording.load(folder).state == "failed", 10, "the files closed")
        assert Recording.load(folder).reason == "disk-full"
    finally:
        await chair.close()
        await tv.close()
    written = decode_file(folder / "chair.mkv", Picture(320, 240))
    assert len(written.pictures) > 10  # what was written plays
    assert all(damage < 32 for _, _, damage, _ in written.pictures)
