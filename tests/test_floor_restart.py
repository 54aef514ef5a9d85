"""A `kill -9` of the bridge in the middle of a meeting changes nothing people see: the
restarted bridge replays its event log, so the queue and the floor come back as they were."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.peers import wait_for

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int) -> dict[str, Any]:
    config = {
        "server": {"host": "127.0.0.1", "port": port, "tls": "off"},
        "data_dir": str(folder / "data"),
        "keys": {name: secrets.token_urlsafe(24) for name in ("chair", "secretary", "viewer")},
        "halls": [
            {"id": f"thon-{n}", "name": f"Thôn {n}", "key": secrets.token_urlsafe(24)}
            for n in range(1, 7)
        ],
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return config


async def start_bridge(folder: Path, port: int) -> asyncio.subprocess.Process:
    log = (folder / "bridge.log").open("ab")  # noqa: ASYNC230 - a local file, opened once
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "--config",
        str(folder / "config.yaml"),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()  # the child has its own copy
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError((folder / "bridge.log").read_text())


class Page:
    """A page socket keeping the newest state it was sent."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.state: dict[str, Any] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> Page:
        self.ws = await self.http.ws_connect(self.url)
        self._task = asyncio.ensure_future(self._read())
        await wait_for(lambda: bool(self.state), 5, "the first state")
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if data["type"] == "state":
                    self.state = data

    async def send(self, **message: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(message))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.ws is not None:
            await self.ws.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def meeting_view(state: dict[str, Any]) -> dict[str, Any]:
    """What people see of the meeting: its identity, the queue, the floor, the mutes."""
    floor = state["floor"]
    return {
        "meeting": state["meeting"],
        "queue": state["queue"],
        "floor": None
        if floor is None
        else {k: floor[k] for k in ("entry", "hall", "granted_at", "limit", "deadline", "consent")},
        "muted": state["muted"],
    }


async def test_kill_9_with_a_hall_on_the_floor_brings_back_the_queue_and_the_floor(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    base = f"ws://127.0.0.1:{port}/ws?key="
    halls = config["halls"]
    process = await start_bridge(tmp_path, port)
    pages: list[Page] = []
    try:
        chair = await Page(http, base + config["keys"]["chair"]).open()
        await chair.send(type="open-meeting", title="Họp dân tháng 11")
        await wait_for(lambda: chair.state.get("meeting") is not None, 5, "the meeting")
        for n, topic in ((2, "Đường mới"), (3, "Nước sạch"), (4, "<img src=x onerror=alert(1)>")):
            hall = await Page(http, base + halls[n - 1]["key"]).open()
            pages.append(hall)
            await hall.send(type="raise", name=f"Bà Lan {n}", topic=topic)
        await wait_for(lambda: len(chair.state["queue"]) == 3, 5, "three hands")
        await chair.send(type="grant", entry=chair.state["queue"][0]["id"])
        await chair.send(type="mute", hall="thon-4", muted=True)
        await wait_for(
            lambda: chair.state["floor"] is not None and chair.state["muted"] == ["thon-4"],
            5,
            "the floor and the mute",
        )
        await pages[0].send(type="consent", consent=True)
        await wait_for(lambda: chair.state["floor"]["consent"] is True, 5, "the consent")
        seen = meeting_view(chair.state)
        assert seen["floor"]["hall"] == "thon-2" and len(seen["queue"]) == 2

        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        for page in [chair, *pages]:
            await page.close()
        process = await start_bridge(tmp_path, port)

        again = await Page(http, base + config["keys"]["chair"]).open()
        pages = [again]
        assert meeting_view(again.state) == seen
        # A TV that rejoins sees its own place in the same queue.
        tv3 = await Page(http, base + halls[2]["key"]).open()
        pages.append(tv3)
        assert [e["topic"] for e in tv3.state["queue"]] == ["Nước sạch"]
        assert tv3.state["floor"]["hall"] == "thon-2"
    finally:
        for page in pages:
            await page.close()
        if process.returncode is None:
            process.terminate()
            await process.wait()
