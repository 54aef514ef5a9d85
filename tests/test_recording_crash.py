"""`kill -9` of the bridge process while it records: the files play up to the last two
seconds, and the next start lists the recording as interrupted."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from media.recording import Recording, recordings_of
from tests.bridge_process import free_port, start_bridge, write_config
from tests.floorpeers import start_tone_publisher
from tests.peers import Publisher, wait_for
from tests.pictures import Picture
from tests.recorded_media import decode_file
from tests.test_floor_restart import Page
from tests.tones import tone_share

pytestmark = pytest.mark.asyncio

CHAIR_HZ = 440.0
LOSES_AT_MOST = 2.0  # seconds


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def whip(http: aiohttp.ClientSession, port: int, key: str):  # type: ignore[no-untyped-def]
    async def signal(offer: str) -> str:
        async with http.post(
            f"http://127.0.0.1:{port}/whip",
            data=offer,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        ) as response:
            assert response.status == 201, await response.text()
            return await response.text()

    return signal


async def test_kill_9_while_recording_leaves_files_that_play_to_the_last_two_seconds(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    chair_key = config["keys"]["chair"]
    data_dir = Path(config["data_dir"])
    process = await start_bridge(tmp_path, port)
    publisher: Publisher | None = None
    pages: list[Page] = []
    try:
        chair = await Page(http, f"ws://127.0.0.1:{port}/ws?key={chair_key}").open()
        pages.append(chair)
        publisher = await start_tone_publisher(whip(http, port, chair_key), CHAIR_HZ, 0)
        await wait_for(lambda: bool(chair.state["broadcast"]["live"]), 15, "the chair live")
        await chair.send(type="record-start")
        await wait_for(lambda: bool(chair.state.get("recording")), 5, "the recording")
        meeting_id, recording = chair.state["meeting"]["id"], chair.state["recording"]
        await asyncio.sleep(6.0)
        killed_at = time.time()
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        await chair.close()
        pages = []

        folder = Recording.folder(data_dir, meeting_id, recording["id"])
        assert Recording.load(folder).state == "recording"  # nobody could say otherwise
        chair_file = decode_file(folder / "chair.mkv", Picture(320, 240))
        recorded = killed_at - recording["since"]
        assert chair_file.last_pts >= recorded - LOSES_AT_MOST, (chair_file.last_pts, recorded)
        assert all(damage < 32 for _, _, damage, _ in chair_file.pictures)
        assert len(chair_file.pictures) >= 10 * (recorded - LOSES_AT_MOST) * 0.8  # 10 fps
        assert tone_share(chair_file.samples_between(1.0, recorded - LOSES_AT_MOST), CHAIR_HZ) > 0.5
        program = decode_file(folder / "program.mka")
        assert program.last_pts >= recorded - LOSES_AT_MOST

        process = await start_bridge(tmp_path, port)
        again = await Page(http, f"ws://127.0.0.1:{port}/ws?key={chair_key}").open()
        pages.append(again)
        assert again.state["recording"] is None
        assert again.state["recording_stopped"]["reason"] == "interrupted"
        (listed,) = recordings_of(data_dir, meeting_id)
        assert (listed.recording_id, listed.state) == (recording["id"], "interrupted")
        assert listed.stopped_at is not None and listed.stopped_at <= killed_at + 0.5
    finally:
        for page in pages:
            await page.close()
        if publisher is not None:
            await publisher.close()
        if process.returncode is None:
            process.terminate()
            await process.wait()
