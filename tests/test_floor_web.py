"""The floor over the page socket: refusals name their reason and keep the socket open, text
stays text, a hall's second device takes its stream over and the first page is told."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import app_of, http_signal
from tests.floorpeers import start_tone_publisher
from tests.peers import wait_for
from web.config import Settings
from web.keys import BRIDGE

pytestmark = pytest.mark.asyncio


class Page:
    """A page socket keeping the newest state and every other message."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.welcome: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.others: list[dict[str, Any]] = []
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if data["type"] == "state":
                self.state = data
            elif data["type"] == "welcome":
                self.welcome = data
            else:
                self.others.append(data)

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def reply(self) -> dict[str, Any]:
        count = len(self.others)
        await wait_for(lambda: len(self.others) > count, 5, "a reply")
        return self.others[-1]

    async def close(self) -> None:
        self._task.cancel()
        await self.ws.close()


async def open_page(client: TestClient, key: str) -> Page:
    page = Page(await client.ws_connect(f"/ws?key={key}"))
    await wait_for(lambda: bool(page.state), 5, "the first state")
    return page


async def test_refused_floor_moves_name_why_and_the_socket_stays_open(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    chair = await open_page(client, settings.keys.chair)
    thon2 = await open_page(client, settings.halls[1].key)
    viewer = await open_page(client, settings.keys.viewer)
    try:
        await thon2.send(type="raise")
        assert (await thon2.reply())["code"] == "refused"  # no meeting is open yet
        await chair.send(type="open-meeting", title="Họp dân")
        await thon2.send(type="raise", name="<img src=x onerror=alert(1)>", topic="Đường\x07 mới")
        await wait_for(lambda: len(chair.state["queue"]) == 1, 5, "the hand")
        entry = chair.state["queue"][0]
        assert entry["name"] == "<img src=x onerror=alert(1)>"  # text, shown as text
        assert entry["topic"] == "Đường mới"  # the control character is gone
        assert [e["id"] for e in thon2.state["queue"]] == [entry["id"]]
        assert viewer.state["queue"] == []  # a public screen sees nobody's name in the queue

        for page, message, code in [
            (thon2, {"type": "grant", "entry": entry["id"]}, "forbidden"),
            (viewer, {"type": "mute", "hall": "thon-2", "muted": True}, "forbidden"),
            (viewer, {"type": "move", "entry": entry["id"], "position": 0}, "forbidden"),
            (thon2, {"type": "raise", "hall": "thon-3"}, "forbidden"),
            (chair, {"type": "grant", "entry": "e999"}, "not-found"),
            (thon2, {"type": "raise", "topic": "x" * 121}, "refused"),
            (chair, {"type": "grant"}, "bad-field"),
        ]:
            await page.send(**message)
            reply = await page.reply()
            assert reply["type"] == "error" and reply["code"] == code, (message, reply)
            assert reply["message"]
        assert not thon2.ws.closed and not viewer.ws.closed and not chair.ws.closed
        refusals = [r.getMessage() for r in caplog.records if "was refused" in r.getMessage()]
        assert any(m.startswith("hall page") and "grant" in m for m in refusals)
        assert any(m.startswith("viewer page") and "mute" in m for m in refusals)
        assert chair.state["floor"] is None and len(chair.state["queue"]) == 1
    finally:
        for page in (chair, thon2, viewer):
            await page.close()


async def test_two_grants_at_once_leave_exactly_one_floor(
    client: TestClient, settings: Settings
) -> None:
    chair = await open_page(client, settings.keys.chair)
    halls = [await open_page(client, h.key) for h in settings.halls[1:3]]
    try:
        await chair.send(type="open-meeting")
        for hall in halls:
            await hall.send(type="raise")
        await wait_for(lambda: len(chair.state["queue"]) == 2, 5, "two hands")
        first, second = chair.state["queue"]
        await asyncio.gather(
            chair.send(type="grant", entry=first["id"]),
            chair.send(type="grant", entry=second["id"]),
        )
        await wait_for(lambda: chair.state["floor"] is not None, 5, "a floor")
        await asyncio.sleep(0.3)
        assert chair.state["floor"]["entry"]["id"] == second["id"]
        assert chair.state["queue"] == []  # the first spoke; the second speaks now
        await halls[1].send(type="end")  # the hall holding the floor may end it
        await wait_for(lambda: chair.state["floor"] is None, 5, "the floor to end")
    finally:
        for page in (chair, *halls):
            await page.close()


async def test_a_second_device_with_a_halls_link_takes_its_stream_and_the_first_is_told(
    client: TestClient, settings: Settings
) -> None:
    hall = settings.halls[2]
    first_page = await open_page(client, hall.key)
    second_page = await open_page(client, hall.key)
    bridge = app_of(client)[BRIDGE]
    signal = http_signal(client, "/whip", hall.key, first_page.welcome["connection"])
    first = await start_tone_publisher(signal, 500, 3)
    second = None
    try:
        await wait_for(lambda: len(bridge.sessions) == 1, 5, "the first stream")
        (first_id,) = bridge.sessions
        await wait_for(
            lambda: bridge.router.producer("hall:thon-3", "video") is not None, 15, "on air"
        )
        signal = http_signal(client, "/whip", hall.key, second_page.welcome["connection"])
        second = await start_tone_publisher(signal, 600, 3)
        await wait_for(lambda: first_id not in bridge.sessions, 15, "the first stream closed")
        await wait_for(lambda: {"type": "replaced"} in first_page.others, 5, "the first told")
        assert {"type": "replaced"} not in second_page.others
        assert [s.direction for s in bridge.sessions.values()] == ["publish"]
    finally:
        for peer in (first, second):
            if peer is not None:
                await peer.close()
        await first_page.close()
        await second_page.close()
