"""The floor in the media plane, with real aiortc peers: a hall is heard and seen only while
it holds the floor, never while muted, and never by itself. Each publisher sends a tone of
its own and pictures numbered in its own range, and every check reads the decoded media."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import chair_live, http_signal
from tests.floorpeers import Track, Watcher, start_tone_publisher, start_watcher
from tests.peers import Publisher, wait_for
from web.config import Settings

pytestmark = pytest.mark.asyncio

CHAIR_HZ, THON2_HZ, THON5_HZ = 440.0, 660.0, 880.0
CHAIR, THON2, THON5 = 0, 2, 5  # each publisher's picture number range (floorpeers)
HEARD, UNHEARD = 0.2, 0.02  # share of the received sound at a tone's frequency
LISTEN = 1.5  # seconds of sound judged after each change settles


class Page:
    """A page socket that sends commands and keeps the newest state."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.state: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if data["type"] == "state":
                self.state = data
            elif data["type"] == "error":
                self.errors.append(data)

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def close(self) -> None:
        self._task.cancel()
        await self.ws.close()


async def listen(since: float) -> tuple[float, float]:
    """Wait out LISTEN seconds of sound after `since`; the window to judge."""
    await asyncio.sleep(max(0.0, since + LISTEN - time.time()))
    return since, time.time()


def heard(track: Track, frequency: float, window: tuple[float, float]) -> float:
    return track.band_share(frequency, *window)


async def test_a_hall_is_heard_only_while_it_holds_the_floor_and_is_not_muted(
    client: TestClient, settings: Settings
) -> None:
    thon2, thon5 = settings.halls[1], settings.halls[4]
    publishers: list[Publisher] = []
    watchers: list[Watcher] = []
    pages: list[Page] = []
    try:
        chair_page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
        thon2_page = Page(await client.ws_connect(f"/ws?key={thon2.key}"))
        pages += [chair_page, thon2_page]
        publishers.append(
            await start_tone_publisher(
                http_signal(client, "/whip", settings.keys.chair), CHAIR_HZ, CHAIR
            )
        )
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        for hall, hz, index in ((thon2, THON2_HZ, THON2), (thon5, THON5_HZ, THON5)):
            publishers.append(
                await start_tone_publisher(http_signal(client, "/whip", hall.key), hz, index)
            )
        # Thôn 5's TV (chair, chair sound, floor, floor sound), the public program, and the
        # chair console's grid of the first five halls with the floor's sound.
        tv5 = await start_watcher(
            http_signal(client, "/whep", thon5.key), ["video", "audio", "video", "audio"]
        )
        tv2 = await start_watcher(
            http_signal(client, "/whep", thon2.key), ["video", "audio", "video", "audio"]
        )
        program = await start_watcher(
            http_signal(client, "/whep", settings.keys.viewer), ["video", "audio"]
        )
        console = await start_watcher(
            http_signal(client, "/whep", settings.keys.chair), ["video"] * 5 + ["audio"]
        )
        watchers += [tv5, tv2, program, console]
        tv5_chair, tv5_chair_audio, tv5_floor, tv5_floor_audio = tv5.tracks
        tv2_floor, tv2_floor_audio = tv2.tracks[2], tv2.tracks[3]
        program_video, program_audio = program.tracks
        grid_thon2, console_audio = console.tracks[1], console.tracks[5]

        await wait_for(lambda: len(program_audio.audio) > 100, 20, "the program's sound")
        await wait_for(lambda: bool(grid_thon2.sources_seen(0)), 20, "Thôn 2 in the grid")
        before = await listen(time.time())
        # Before the grant: Thôn 2 reaches only the chair console's grid, and nobody hears it.
        assert heard(tv5_chair_audio, CHAIR_HZ, before) > HEARD
        assert heard(program_audio, CHAIR_HZ, before) > HEARD
        for track in (tv5_chair_audio, tv5_floor_audio, program_audio, console_audio):
            assert heard(track, THON2_HZ, before) < UNHEARD
        assert tv5_floor.sources_seen(*before) == set()
        assert program_video.sources_seen(*before) == {CHAIR}
        assert grid_thon2.sources_seen(*before) == {THON2}

        await thon2_page.send(type="raise", topic="Đường mới")
        await wait_for(lambda: bool(chair_page.state.get("queue")), 5, "the raised hand")
        entry = chair_page.state["queue"][0]
        assert entry["hall"] == thon2.id
        await chair_page.send(type="grant", entry=entry["id"])
        await wait_for(lambda: chair_page.state.get("floor") is not None, 5, "the floor")
        granted = time.time()
        await wait_for(lambda: bool(tv5_floor.sources_seen(granted)), 10, "Thôn 2 at Thôn 5")
        await wait_for(
            lambda: THON2 in program_video.sources_seen(granted), 10, "Thôn 2 on the program"
        )
        during = await listen(time.time() + 0.5)
        # During the floor: every other hall, the program and the chair hear and see Thôn 2;
        # Thôn 2 hears neither itself nor gets its own picture back.
        assert heard(tv5_floor_audio, THON2_HZ, during) > HEARD
        assert heard(console_audio, THON2_HZ, during) > HEARD
        assert heard(program_audio, THON2_HZ, during) > HEARD / 2
        assert heard(program_audio, CHAIR_HZ, during) > HEARD / 2  # both voices in the mix
        assert heard(tv5_chair_audio, CHAIR_HZ, during) > HEARD
        assert tv5_floor.sources_seen(*during) == {THON2}
        assert program_video.sources_seen(*during) == {THON2}
        assert tv5_chair.sources_seen(*during) == {CHAIR}
        assert heard(tv2_floor_audio, THON2_HZ, during) < UNHEARD
        assert tv2_floor.sources_seen(*during) == set()
        assert heard(tv5_floor_audio, THON5_HZ, during) < UNHEARD  # Thôn 5 never on air

        await chair_page.send(type="mute", hall=thon2.id, muted=True)
        await wait_for(lambda: thon2.id in chair_page.state.get("muted", []), 5, "the mute")
        muted = await listen(time.time() + 0.5)
        for track in (tv5_floor_audio, console_audio, program_audio):
            assert heard(track, THON2_HZ, muted) < UNHEARD
        assert tv5_floor.sources_seen(*muted) == {THON2}  # still seen while muted

        await chair_page.send(type="mute", hall=thon2.id, muted=False)
        await chair_page.send(type="end")
        await wait_for(lambda: chair_page.state.get("floor") is None, 5, "the floor to end")
        ended = time.time()
        await wait_for(lambda: CHAIR in program_video.sources_seen(ended), 10, "the chair back")
        after = await listen(time.time() + 0.5)
        for track in (tv5_floor_audio, console_audio, program_audio, tv5_chair_audio):
            assert heard(track, THON2_HZ, after) < UNHEARD
        assert tv5_floor.sources_seen(*after) == set()
        assert program_video.sources_seen(*after) == {CHAIR}
        assert grid_thon2.sources_seen(*after) == {THON2}
        assert chair_page.errors == [] and thon2_page.errors == []
    finally:
        for page in pages:
            await page.close()
        for watcher in watchers:
            await watcher.close()
        for publisher in publishers:
            await publisher.close()
