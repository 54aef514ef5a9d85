"""The secretary's export panel in headless Chromium: the button, live progress, the ZIP."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, start_server, url
from tests.recording_fixtures import sample_meeting
from web.config import Settings
from web.eventlog import EventLog

pytestmark = pytest.mark.browser


@pytest.fixture
async def export_server(browser: Any, settings: Settings) -> AsyncIterator[TestServer]:
    log = EventLog(settings.data_dir)
    log.append("m1", sample_meeting(settings.data_dir))
    log.close()
    server = await start_server(settings)
    yield server
    for context in browser.contexts:
        await context.close()
    await server.close()


async def test_the_export_shows_progress_and_ends_with_a_zip_link_that_downloads(
    browser: Any, export_server: TestServer, settings: Settings, tmp_path: Path
) -> None:
    page = await open_page(browser, url(export_server, f"/secretary?key={settings.keys.secretary}"))
    row = ".export-row[data-meeting=m1]"
    await page.wait_for_selector(f"{row} button.export-start", timeout=10_000)
    assert "Họp dân tháng 11" in (await page.text_content(row) or "")
    await page.click(f"{row} button.export-start")
    await page.wait_for_selector(f"{row} progress.export-progress", timeout=10_000)
    await page.wait_for_selector(f"{row} .export-state[data-state=running]", timeout=30_000)
    assert await page.is_disabled(f"{row} button.export-start")  # no second export meanwhile
    link = await page.wait_for_selector(f"{row} a.export-link", timeout=120_000)
    assert float(await page.eval_on_selector(f"{row} progress", "p => p.value")) == 1.0
    assert await link.text_content() == "Tải hồ sơ (ZIP)"
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    saved = tmp_path / "download.zip"
    await download.save_as(saved)
    assert download.suggested_filename.endswith("_ho-so.zip")
    names = zipfile.ZipFile(saved).namelist()
    assert any(n.startswith("video/") for n in names) and "nhat-ky.json" in names
    assert page.errors == []


async def test_a_hall_key_does_not_open_the_secretary_page(
    browser: Any, export_server: TestServer, settings: Settings
) -> None:
    page = await open_page(browser, url(export_server, f"/secretary?key={settings.halls[0].key}"))
    assert "Mã truy cập không đúng" in (await page.text_content("h1") or "")
