"""The real pages in headless Chromium: the chair broadcasts its fake camera, six hall TVs watch.

Chromium is a different WebRTC stack from aiortc (RTX padding first, mDNS,
its own jitter buffer), so these catch what the aiortc-only tests cannot.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import hall_frames, open_page, start_server, url, wait_until_live
from web.config import Settings
from web.keys import BRIDGE

pytestmark = pytest.mark.browser


async def audio_is_live(page: Any) -> bool:
    return bool(
        await page.evaluate(
            """() => {
                const stream = document.getElementById('video').srcObject;
                const tracks = stream ? stream.getAudioTracks() : [];
                return tracks.length > 0 && tracks[0].readyState === 'live' && !tracks[0].muted;
            }"""
        )
    )


async def test_chair_broadcasts_and_six_halls_show_the_picture_with_sound(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)

    halls = [
        await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        for hall in settings.halls
    ]
    for page in halls:
        await page.wait_for_function(
            "() => window.hallStats && window.hallStats.framesRendered > 10", timeout=30_000
        )
        await wait_until_live(page)
        assert await page.get_attribute("#status", "data-state") == "live"
    # The picture keeps advancing, everywhere, and sound arrives.
    before = [await hall_frames(page) for page in halls]
    await halls[0].wait_for_timeout(2000)
    after = [await hall_frames(page) for page in halls]
    assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)
    for page in halls:
        await page.wait_for_function("() => window.hallStats.audioTracks >= 1", timeout=10_000)
        assert await audio_is_live(page)
        assert "Thôn" in (await page.text_content("#hall-name") or "")
    # The chair sees every hall watching.
    await chair.wait_for_function(
        "() => document.querySelectorAll('#halls [data-state=watching]').length === 6",
        timeout=15_000,
    )
    # Chromium sends the camera twice, full and light; each hall on a clean link gets
    # the full one, and the console says so.
    full, light = server.app[BRIDGE].router.renditions("chair", "video")
    assert full.packets_received > 0 and light.packets_received > 0
    await chair.wait_for_function(
        "() => document.querySelectorAll('#halls [data-rendition=full]').length === 6",
        timeout=15_000,
    )
    for page in [chair, *halls]:
        assert page.errors == []

    # The chair stops: halls say they are waiting for the commune room.
    await chair.click("#stop")
    for page in halls:
        await page.wait_for_selector("#status[data-state=waiting]", timeout=15_000)


async def test_a_second_chair_device_takes_over_and_the_first_stops_instead_of_fighting(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    address = url(server, f"/chair?key={settings.keys.chair}")
    first = await open_page(browser, address)
    await first.click("#start")
    await first.wait_for_selector("#live[data-state=live]", timeout=20_000)
    second = await open_page(browser, address)
    await second.click("#start")
    await second.wait_for_selector("#live[data-state=live]", timeout=20_000)
    await first.wait_for_selector("#live[data-state=off]", timeout=15_000)
    assert "thiết bị khác" in (await first.text_content("#error") or "")
    # Well past the first page's retry back-off: it stays off, the second stays live.
    await first.wait_for_timeout(8000)
    assert await first.get_attribute("#live", "data-state") == "off"
    assert await second.get_attribute("#live", "data-state") == "live"


async def test_hall_rejoins_by_itself_after_the_bridge_restarts(
    browser: Any, settings: Settings
) -> None:
    server = await start_server(settings)
    port = server.port
    assert port is not None
    try:
        chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}&lang=en"))
        assert (await chair.text_content("#start") or "").strip() == "Start broadcast"
        await chair.click("#start")
        await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
        hall = settings.halls[0]
        tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        await tv.wait_for_function("() => window.hallStats.framesRendered > 10", timeout=30_000)
        sessions = await tv.evaluate("window.hallStats.sessions")
        published = await chair.evaluate("window.chairStats.publishes")
        assert published == 1

        await server.close()
        await tv.wait_for_selector(
            "#status[data-state=reconnecting], #status[data-state=connecting]", timeout=20_000
        )
        server = await start_server(settings, port=port)

        # Nobody touches the TV: the chair republishes and the TV comes back to live.
        await chair.wait_for_selector("#live[data-state=live]", timeout=60_000)
        await tv.wait_for_function(
            "() => "
            f"window.hallStats.sessions > {sessions} && "
            "Date.now() - window.hallStats.lastFrameAt < 1000",
            timeout=60_000,
        )
        await wait_until_live(tv)
        # What the screen says, not only the stats. (Waited for: a chair page that
        # publishes twice while the bridge comes back makes the TV wait for the newer
        # stream's first picture, and say so.)
        await tv.wait_for_selector("#status[data-state=live]", state="attached", timeout=30_000)
        # The chair page published once more, not twice: its pc and its socket both
        # noticed the restart, and the second must not replace the first's new stream.
        await asyncio.sleep(3)  # time for a late second publish to show
        assert await chair.evaluate("window.chairStats.publishes") == published + 1
    finally:
        await server.close()


# -- what each TV really shows, and honest TV states ----------------------------------

# Installed in a hall page by the test, independent of hall.js: notes when the video
# element presents each frame and every overlay state, both as wall-clock times.
