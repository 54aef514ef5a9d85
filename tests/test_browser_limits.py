"""A page refused for having too many siblings open says so, in Vietnamese first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chromium import open_page, require_chromium, start_server, url
from web.config import load_settings

pytestmark = pytest.mark.asyncio


async def test_a_hall_page_past_its_keys_socket_cap_shows_why(browser: Any, tmp_path: Path) -> None:
    require_chromium()
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "limits": {"sockets": {"hall": 1}},
        },
    )
    server = await start_server(settings)
    try:
        hall = settings.halls[0]
        address = url(server, f"/hall/{hall.id}?key={hall.key}")
        first = await open_page(browser, address)
        await first.wait_for_function("window.hallStats.socket === 'open'", timeout=10000)
        second = await open_page(browser, address)
        detail = second.locator("#status-detail")
        await detail.wait_for(state="visible", timeout=10000)
        text = await detail.text_content()
        assert "quá nhiều trang mở bằng mã này" in text
        await second.wait_for_function("window.hallStats.socket === 'refused'", timeout=10000)
        assert await first.evaluate("window.hallStats.socket") == "open"
        assert not first.errors and not second.errors
    finally:
        for context in browser.contexts:
            await context.close()
        await server.close()
