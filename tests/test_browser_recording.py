"""The recording notice in real Chromium: the chair presses "Bắt đầu ghi hình", every hall TV
and the public viewer show the red dot and "Cuộc họp đang được ghi hình" and the TV fetches
the spoken notice; "Dừng ghi hình" takes the notice away again."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url
from web.config import Settings

pytestmark = pytest.mark.browser

NOTICE = "Cuộc họp đang được ghi hình"


async def test_the_notice_appears_on_a_hall_tv_when_recording_starts_and_goes_when_it_stops(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    hall = settings.halls[0]
    tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
    viewer = await open_page(browser, url(server, f"/view?key={settings.keys.viewer}"))
    sounds: list[str] = []
    tv.on("request", lambda r: sounds.append(r.url) if r.url.endswith(".wav") else None)
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    for page in (tv, viewer):
        await page.wait_for_function("() => window.hallStats.socket === 'open'", timeout=15_000)
    assert await tv.is_hidden("#recording")

    await chair.click("#meeting-open")
    await chair.wait_for_selector("#rec-start:not([disabled])", timeout=10_000)
    await chair.click("#rec-start")
    for page in (tv, viewer, chair):
        await page.wait_for_selector("#recording:not([hidden])", timeout=10_000)
        assert NOTICE in (await page.text_content("#recording") or "")
        assert await page.is_visible("#recording .rec-dot")
    dot = await tv.eval_on_selector(
        "#recording .rec-dot", "el => getComputedStyle(el).backgroundColor"
    )
    assert dot == "rgb(224, 32, 27)"  # red
    await tv.wait_for_function("() => window.hallStats.chimes === 1", timeout=5_000)
    assert any(s.endswith("/recording-notice.wav") for s in sounds)  # the chime was played
    assert await chair.is_visible("#rec-stop") and await chair.is_hidden("#rec-start")

    await chair.click("#rec-stop")
    for page in (tv, viewer, chair):
        await page.wait_for_selector("#recording", state="hidden", timeout=10_000)
    assert await chair.is_visible("#rec-start")
    assert await chair.is_hidden("#rec-problem")  # stopped by the chair: no error
    for page in (tv, viewer, chair):
        assert page.errors == []


async def test_the_notice_speaks_english_on_an_english_page(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    hall = settings.halls[1]
    tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}&lang=en"))
    await tv.wait_for_function("() => window.hallStats.socket === 'open'", timeout=15_000)
    text = await tv.text_content("#recording")
    assert text is not None and "This meeting is being recorded" in text
