"""The chair's shared screen, with real aiortc peers: the slides are forwarded like any
other producer, large on the program and in each hall TV's slides slot, with the chair's
camera still on its own track; a speaking hall comes before them on the program."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection, RTCSessionDescription

from media.recording import Recording
from tests.edge import app_of, bearer, chair_live, http_signal
from tests.floorpeers import start_tone_publisher, start_watcher
from tests.peers import NO_ICE_SERVERS, StampedVideoTrack, wait_for
from tests.recorded_media import decode_file
from tests.test_floor_media import Page
from web.app import MEETING
from web.config import Settings

pytestmark = pytest.mark.asyncio

CHAIR, SLIDES, THON2 = 0, 7, 2  # each publisher's picture number range (floorpeers)


async def share_screen(client: TestClient, key: str) -> RTCPeerConnection:
    """A screen share as the chair page sends it: one video section, `?source=slides`."""
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    pc.addTransceiver(StampedVideoTrack(320, 240, fps=10, first=SLIDES * 1_000_000), "sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    response = await client.post(
        "/whip?source=slides", data=pc.localDescription.sdp, headers=bearer(key)
    )
    assert response.status == 201, await response.text()
    answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


async def test_shared_slides_reach_every_tv_and_the_program_beside_the_chair(
    client: TestClient, settings: Settings
) -> None:
    thon2, thon5 = settings.halls[1], settings.halls[4]
    closers: list = []
    try:
        chair_page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
        thon2_page = Page(await client.ws_connect(f"/ws?key={thon2.key}"))
        closers += [chair_page, thon2_page]
        camera = await start_tone_publisher(
            http_signal(client, "/whip", settings.keys.chair), 440.0, CHAIR
        )
        closers.append(camera)
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        closers.append(
            await start_tone_publisher(http_signal(client, "/whip", thon2.key), 660.0, THON2)
        )
        tv5 = await start_watcher(
            http_signal(client, "/whep", thon5.key), ["video", "audio", "video", "audio", "video"]
        )
        program = await start_watcher(
            http_signal(client, "/whep", settings.keys.viewer), ["video", "audio"]
        )
        closers += [tv5, program]
        tv5_chair, tv5_slides, program_video = tv5.tracks[0], tv5.tracks[4], program.tracks[0]
        await wait_for(lambda: bool(program_video.sources_seen(0)), 20, "the program picture")
        before = time.time()
        await asyncio.sleep(1.0)
        assert tv5_slides.sources_seen(before) == set()  # nothing shared yet

        await chair_page.send(type="record-start")
        await wait_for(lambda: chair_page.state.get("recording") is not None, 10, "recording")
        recording = chair_page.state["recording"]["id"]
        meeting = chair_page.state["meeting"]["id"]
        screen = await share_screen(client, settings.keys.chair)
        closers.append(screen)
        await wait_for(lambda: chair_page.state.get("slides") is True, 10, "slides in the state")
        shared = time.time()
        await wait_for(lambda: bool(tv5_slides.sources_seen(shared)), 15, "slides at Thôn 5")
        await wait_for(
            lambda: SLIDES in program_video.sources_seen(shared), 15, "slides on the program"
        )
        window = time.time() + 0.5
        await asyncio.sleep(1.5)
        assert tv5_slides.sources_seen(window) == {SLIDES}
        assert tv5_chair.sources_seen(window) == {CHAIR}  # the camera stays on its own track
        assert program_video.sources_seen(window) == {SLIDES}

        # A hall given the floor comes before the slides on the program; the TV keeps both.
        await thon2_page.send(type="raise")
        await wait_for(lambda: bool(chair_page.state.get("queue")), 5, "the raised hand")
        await chair_page.send(type="grant", entry=chair_page.state["queue"][0]["id"])
        granted = time.time()
        await wait_for(
            lambda: THON2 in program_video.sources_seen(granted), 15, "Thôn 2 on the program"
        )
        await wait_for(lambda: bool(tv5_slides.sources_seen(granted)), 10, "slides go on")
        assert tv5_slides.sources_seen(granted) == {SLIDES}

        # The share ends: the slides slot goes quiet and the room says so.
        await screen.close()
        closers.remove(screen)
        await wait_for(lambda: chair_page.state.get("slides") is False, 15, "slides gone")
        assert not app_of(client)[MEETING].room.routing().slides
        # The slides were recorded with the meeting, in a file of their own, intact.
        await chair_page.send(type="record-stop")
        await wait_for(lambda: chair_page.state.get("recording") is None, 10, "recording's end")
        folder = settings.data_dir / "recordings" / meeting / recording
        await wait_for(lambda: Recording.load(folder).state == "complete", 15, "the file closed")
        shown = decode_file(folder / "slides.mkv").pictures
        assert len(shown) > 10
        assert {number // 1_000_000 for _, number, _, _ in shown} == {SLIDES}
        assert all(damage < 32 for _, _, damage, _ in shown)  # every picture intact
    finally:
        for closer in reversed(closers):
            await closer.close()


async def test_a_hall_key_may_not_share_a_screen(client: TestClient, settings: Settings) -> None:
    response = await client.post(
        "/whip?source=slides", data="v=0\r\n", headers=bearer(settings.halls[0].key)
    )
    assert response.status == 403
    assert "share a screen" in (await response.text())
