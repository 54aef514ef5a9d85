"""A hall TV on its own network link, cut and restored: it must say so, then come back alone.

The TV's Chromium runs in a network namespace of its own, joined to this
machine by a veth pair; nft rules inside that namespace cut the link. No
traffic leaves this machine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium, wait_until_live
from tests.netlab import Netns, missing_network_tools, netns
from web.app import create_app
from web.config import Settings

pytestmark = pytest.mark.browser


def _require_network_tools() -> None:
    problem = missing_network_tools("nft")
    if not problem:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI must install iproute2 and nftables and run as root")
    pytest.skip(problem)


@pytest.fixture
def hall_host(ice_addresses: list[str]) -> Iterator[Netns]:
    _require_network_tools()
    with netns("cbh", 0, f"10.231.{os.getpid() % 250}") as host:
        ice_addresses.append(host.host_address)  # the TV reaches the bridge over this link
        yield host


@pytest.fixture
async def bridge_sites(
    settings: Settings, hall_host: Netns, unused_tcp_port: int
) -> AsyncIterator[int]:
    """The bridge on loopback (for the chair) and on the hall link (for the TV)."""
    runner = web.AppRunner(create_app(settings, bridge_options={"idle_timeout": 5.0}))
    await runner.setup()
    for address in ("127.0.0.1", hall_host.host_address):
        await web.TCPSite(runner, address, unused_tcp_port).start()
    yield unused_tcp_port
    await runner.cleanup()


async def launch(playwright: Any, executable: str) -> Any:
    return await playwright.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=True
    )


async def test_hall_tv_shows_the_cut_and_comes_back_by_itself_when_the_link_returns(
    settings: Settings, hall_host: Netns, bridge_sites: int, tmp_path: Path
) -> None:
    require_chromium()
    from playwright.async_api import async_playwright

    wrapper = tmp_path / "chromium-in-hall"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {hall_host.name} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    port = bridge_sites
    hall = settings.halls[0]
    async with async_playwright() as playwright:
        commune_room = await launch(playwright, CHROMIUM)
        village = await launch(playwright, str(wrapper))
        try:
            chair = await commune_room.new_page()
            await chair.goto(f"http://127.0.0.1:{port}/chair?key={settings.keys.chair}")
            await chair.click("#start")
            await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)

            tv = await village.new_page()
            await tv.goto(f"http://{hall_host.host_address}:{port}/hall/{hall.id}?key={hall.key}")
            await tv.wait_for_function("() => window.hallStats.framesRendered > 10", timeout=30_000)
            sessions = await tv.evaluate("window.hallStats.sessions")

            hall_host.cut()
            await tv.wait_for_selector("#status[data-state=reconnecting]", timeout=45_000)
            await chair.wait_for_selector(
                f"#halls [data-hall={hall.id}]:not([data-state=watching])", timeout=30_000
            )

            hall_host.restore()
            await tv.wait_for_function(
                "() => "
                f"window.hallStats.sessions > {sessions} && "
                "Date.now() - window.hallStats.lastFrameAt < 1000",
                timeout=90_000,
            )
            await wait_until_live(tv)
            assert await tv.get_attribute("#status", "data-state") == "live"
            await chair.wait_for_selector(
                f"#halls [data-hall={hall.id}][data-state=watching]", timeout=30_000
            )
        finally:
            await village.close()
            await commune_room.close()
