"""The chair console in Chromium says why a recording cannot start: too little free disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url
from web.config import Settings, load_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """No disk has this much free: every recording is refused."""
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "recording": {"min_free_gib": 99999},
        },
    )


async def test_the_console_shows_why_recording_refused_to_start(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.click("#meeting-open")
    await chair.wait_for_selector("#rec-start:not([disabled])", timeout=10_000)
    await chair.click("#rec-start")
    await chair.wait_for_selector("#rec-problem:not([hidden])", timeout=10_000)
    problem = await chair.text_content("#rec-problem") or ""
    assert "Không đủ chỗ trống" in problem and "99999 GiB" in problem
    assert await chair.is_hidden("#recording")  # nothing is being recorded
    assert await chair.is_visible("#rec-start")
    assert chair.errors == []
