"""Slides in real Chromium: the chair shares a screen, every hall TV shows it large with the
chair in a corner, the public program shows it, and stopping the share brings the chair back.
The chair's camera, its screen and the hall's camera each have their own colour, so every
check reads whose picture it is."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url, wait_until_live
from tests.fake_devices import Device, fake_devices, wait_for_moving_picture
from tests.test_browser_floor import hall_page
from web.config import Settings

pytestmark = pytest.mark.browser

CHAIR = Device((40, 170, 40), 440.0)
SCREEN = Device((230, 200, 30), 0.0)
THON_5 = Device((40, 60, 210), 700.0)


async def test_shared_slides_fill_every_tv_with_the_chair_inset_until_the_share_stops(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(
        browser, url(server, f"/chair?key={settings.keys.chair}"), fake_devices(CHAIR, SCREEN)
    )
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
    thon5 = await hall_page(browser, server, settings, "thon-5", THON_5)
    board = await open_page(browser, url(server, f"/view?key={settings.keys.viewer}"))
    await wait_until_live(board)
    assert await thon5.evaluate("window.hallStats.layout") == "chair"

    await chair.click("#share")
    await chair.wait_for_selector("#unshare:not([hidden])", timeout=20_000)
    assert await chair.is_hidden("#share")
    await thon5.wait_for_function("() => window.hallStats.layout === 'slides'", timeout=20_000)
    assert await thon5.evaluate("document.body.dataset.layout") == "slides"
    await wait_for_moving_picture(thon5, "#slides-video", SCREEN)
    await wait_for_moving_picture(thon5, "#video", CHAIR)  # the chair, inset
    await wait_for_moving_picture(board, "#video", SCREEN)  # the program's one picture

    await chair.click("#unshare")
    await chair.wait_for_selector("#share:not([hidden])", timeout=10_000)
    await thon5.wait_for_function("() => window.hallStats.layout === 'chair'", timeout=20_000)
    await wait_for_moving_picture(board, "#video", CHAIR)
