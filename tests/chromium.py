"""Headless Debian Chromium for the page tests: where it is, how it starts, and a page on it.

Launched with a fake camera and microphone, kept off the network but for this
machine; a page records its script errors and Content-Security-Policy violations.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from web.app import create_app
from web.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    # Keep ICE on this machine: no mDNS host names to resolve over multicast.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def require_chromium() -> None:
    if os.path.exists(CHROMIUM) and shutil.which(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


async def start_server(settings: Settings, port: int = 0) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    return server


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


async def open_page(browser: Any, address: str, init_script: str | None = None) -> Any:
    """`address` in a browser context of its own; `init_script` runs before the page's own."""
    context = await browser.new_context(viewport={"width": 960, "height": 540})
    if init_script is not None:
        await context.add_init_script(script=init_script)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A Content-Security-Policy violation is only a console message: count it as an error.
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.errors = errors
    await page.goto(address)
    return page


async def hall_frames(page: Any) -> int:
    return int(await page.evaluate("window.hallStats.framesRendered"))


async def wait_until_live(page: Any, timeout_ms: int = 30_000) -> None:
    """Wait for a TV page to say "live"; if it never does, fail with what it went through
    (its state log and stats), so a failure on a loaded machine can be read afterwards."""
    try:
        await page.wait_for_function("() => window.hallStats.state === 'live'", timeout=timeout_ms)
    except Exception as exc:
        stats = await page.evaluate("JSON.stringify(window.hallStats)")
        raise AssertionError(f"the TV never said live: {stats}") from exc
