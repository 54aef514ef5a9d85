"""The "Cụm loa" panel in headless Chromium on the chair console: a cluster goes on when a
receiver plays its stream, is flagged when it drops during the meeting, and shows its report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url
from web.config import Settings, load_settings
from web.keys import MEETING

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "speakers": [
                {"id": "loa-1", "name": "Cụm loa Thôn 1", "area": "thon-1"},
                {"id": "loa-2", "name": "Cụm loa Thôn 2", "area": "thon-2"},
            ],
        },
    )


def row(speaker: str) -> str:
    return f"#speakers-panel li[data-speaker='{speaker}']"


async def test_the_chair_sees_which_clusters_are_on(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    first = settings.speakers.clusters[0]
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.wait_for_selector(f"{row('loa-1')}[data-state=never]", timeout=10_000)
    assert "Cụm loa Thôn 2" in (await chair.text_content(row("loa-2")) or "")
    await chair.click("#meeting-open")
    await chair.wait_for_function(
        "() => document.getElementById('meeting-close').hidden === false",
        timeout=10_000,
    )
    async with aiohttp.ClientSession() as http:
        stream = url(server, f"/speakers/loa-1/stream.mp3?key={first.key}")
        async with http.get(stream) as receiver:
            await receiver.content.readexactly(1000)
            await chair.wait_for_selector(f"{row('loa-1')}[data-state=on]", timeout=10_000)
            assert "Đang phát" in (await chair.text_content(row("loa-1")) or "")
            report = {"volume": 65, "signal": -70, "power": "battery", "firmware": "3.0"}
            status = url(server, f"/speakers/loa-1/status?key={first.key}")
            async with http.post(status, json=report) as answer:
                assert answer.status == 200
            await chair.wait_for_function(
                f"() => document.querySelector({json.dumps(row('loa-1'))})"
                ".textContent.includes('âm lượng 65')",
                timeout=10_000,
            )
    # The receiver went away while the meeting is open: flagged on the console.
    await chair.wait_for_selector(f"{row('loa-1')}[data-state=dropped]", timeout=10_000)
    assert "Mất kết nối trong cuộc họp" in (await chair.text_content(row("loa-1")) or "")
    assert server.app[MEETING].room.meeting is not None
    assert chair.errors == []
