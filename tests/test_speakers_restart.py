"""The bridge, run as people run it, is killed and started again while a loudspeaker listens:
a receiver that reconnects as VLC does plays the chair again, from the same link."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.bridge_process import free_port
from tests.bridgeproc import BRIDGE_ON_LOOPBACK
from tests.floorpeers import start_tone_publisher
from tests.peers import Publisher, wait_for
from tests.speakerclients import ReconnectingClient, decode_bytes
from tests.tones import tone_share

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent
CHAIR_HZ = 440.0
BYTES_PER_SECOND = 8000  # 64 kbps MP3


async def start(folder: Path) -> asyncio.subprocess.Process:
    log = (folder / "bridge.log").open("ab")  # noqa: ASYNC230 - a local file, opened once
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BRIDGE_ON_LOOPBACK,
        "--config",
        str(folder / "config.yaml"),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    return process


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def chair_on_air(port: int, key: str) -> Publisher:
    async def signal_whip(offer: str) -> str:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}/whip", data=offer, headers=headers) as answer,
        ):
            assert answer.status == 201, await answer.text()
            return await answer.text()

    return await start_tone_publisher(signal_whip, CHAIR_HZ, 0)


async def test_a_reconnecting_receiver_plays_again_after_the_bridge_restarts(
    tmp_path: Path,
) -> None:
    folder = tmp_path
    port = free_port()
    chair_key, speaker_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    config = {
        "server": {"host": "127.0.0.1", "port": port, "tls": "off"},
        "data_dir": str(folder / "data"),
        "keys": {"chair": chair_key},
        "speakers": [{"id": "loa-1", "name": "Cụm loa Thôn 1", "key": speaker_key}],
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    url = f"http://127.0.0.1:{port}/speakers/loa-1/stream.mp3?key={speaker_key}"
    process = await start(folder)
    receiver = ReconnectingClient(url)
    publishers: list[Publisher] = []
    try:
        await wait_for_async(lambda: healthy(port), 20, "the bridge up")
        publishers.append(await chair_on_air(port, chair_key))
        receiver.start()
        await wait_for(
            lambda: (
                bool(receiver.connections) and len(receiver.connections[-1]) > 4 * BYTES_PER_SECOND
            ),
            20,
            "four seconds of the stream",
        )
        before = decode_bytes(bytes(receiver.connections[0]))
        assert tone_share(before[-2 * 48000 :], CHAIR_HZ) > 0.5

        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        await publishers.pop().close()
        await asyncio.sleep(1.5)  # the receiver finds the bridge gone and keeps trying
        process = await start(folder)
        await wait_for_async(lambda: healthy(port), 20, "the bridge back")
        publishers.append(await chair_on_air(port, chair_key))
        await wait_for(
            lambda: (
                len(receiver.connections) >= 2
                and len(receiver.connections[-1]) > 4 * BYTES_PER_SECOND
            ),
            30,
            "four seconds of the stream after the restart",
        )
        after = decode_bytes(bytes(receiver.connections[-1]))
        assert tone_share(after[-2 * 48000 :], CHAIR_HZ) > 0.5
        assert len(receiver.connections) >= 2
    finally:
        await receiver.close()
        for publisher in publishers:
            await publisher.close()
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def wait_for_async(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.1)
