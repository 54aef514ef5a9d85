"""A `kill -9` of the bridge in the middle of a meeting changes nothing people see: the
restarted bridge replays its event log, so the queue and the floor come back as they were."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge_process import free_port, start_bridge, write_config
from tests.peers import wait_for

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent


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
