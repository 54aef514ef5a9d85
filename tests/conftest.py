"""Shared fixtures: a temp data dir, ICE kept on this machine, a test client, a live chair, a
bridge of its own with signaling to it, and headless Chromium with a server for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.bridge import Bridge
from bridge.session import Session
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium, start_server
from tests.edge import chair_live, http_signal
from tests.peers import Publisher, start_publisher, wait_for
from web.app import create_app
from web.config import Settings, load_settings

LOOPBACK = "127.0.0.1"


def keep_ice_on(addresses: list[str]) -> None:
    """Make aioice offer only `addresses` as host candidates, in this process.

    aioice otherwise offers every interface except loopback, and tests must
    not send a packet anywhere but loopback or their own namespaces.
    """

    def host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return list(addresses)

    aioice.ice.get_host_addresses = host_addresses  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def ice_addresses() -> Iterator[list[str]]:
    """The addresses ICE may use; a test may add its own namespace's link address."""
    original = aioice.ice.get_host_addresses
    addresses = [LOOPBACK]
    keep_ice_on(addresses)
    yield addresses
    aioice.ice.get_host_addresses = original


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
        },
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    app = create_app(settings, bridge_options={"idle_timeout": 3.0})
    return await aiohttp_client(app)


@pytest.fixture
async def live_chair(client: TestClient, settings: Settings) -> AsyncIterator[Publisher]:
    """A chair publishing over real WHIP, already live at the bridge."""
    publisher = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    try:
        await wait_for(lambda: chair_live(client), 10, "the chair live")
        yield publisher
    finally:
        await publisher.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def server(browser: Any, settings: Settings) -> AsyncIterator[TestServer]:
    server = await start_server(settings)
    yield server
    # Pages first: the server otherwise waits out its shutdown timeout on their sockets.
    for context in browser.contexts:
        await context.close()
    await server.close()


@pytest.fixture
async def bridge() -> AsyncIterator[Bridge]:
    b = Bridge(idle_timeout=3.0)
    b.start()
    yield b
    await b.close()


CHAIR = "chair"


def put_on_air(bridge: Bridge, session: Session) -> None:
    """What web/ does for the chair, for tests of the bridge alone: once `session`
    connects its producers become the source "chair", and the stream it replaces closes."""

    def on_state() -> None:
        if session.state != "connected":
            return
        old = [p for p in bridge.router.sources.get(CHAIR, {}).get("video", [])]
        bridge.router.publish(CHAIR, session.producers)
        for s in list(bridge.sessions.values()):
            if s is not session and s.direction == "publish" and any(p in old for p in s.producers):
                s.close_soon("replaced")

    session.on("statechange", on_state)


def publish_via(bridge: Bridge):  # type: ignore[no-untyped-def]
    async def signal(offer: str) -> str:
        session = await bridge.publish(offer, "chair")
        put_on_air(bridge, session)
        return session.answer

    return signal


def subscribe_via(bridge: Bridge, label: str = "hall"):  # type: ignore[no-untyped-def]
    async def signal(offer: str) -> str:
        # As web/ does: the chair's codec, or a connecting chair's.
        chair = bridge.router.producer(CHAIR, "video")
        connecting = [
            p
            for s in bridge.sessions.values()
            if s.direction == "publish"
            for p in s.producers
            if p.kind == "video"
        ]
        codec = chair or (connecting[-1] if connecting else None)
        session = await bridge.subscribe(offer, label, codec.codec.name if codec else None)
        for consumer in session.consumers:
            bridge.router.route(consumer, CHAIR)
        return session.answer

    return signal
