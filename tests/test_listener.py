"""The guarded listener: timeouts for silent connections, eviction at the caps, the reserve."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.bridgeproc import session
from web.app import create_app
from web.config import Settings
from web.guard import ConnectionGuard
from web.limits import Limits
from web.listener import GuardedSite
from web.tls import ensure_certificate

pytestmark = pytest.mark.asyncio

SMALL = Limits(connections=64, connections_per_ip=16, reserve=4)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, guard: ConnectionGuard, tls: ssl.SSLContext | None = None
) -> AsyncIterator[GuardedSite]:
    runner = web.AppRunner(create_app(settings, guard=guard), keepalive_timeout=15)
    await runner.setup()
    site = GuardedSite(
        runner,
        "127.0.0.1",
        0,
        guard,
        ssl_context=tls,
        handshake_timeout=0.5,
        header_timeout=0.5,
    )
    await site.start()
    try:
        yield site
    finally:
        await runner.cleanup()


async def _closed_by_server(port: int, within: float) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(reader.read(100), within) == b""
    finally:
        writer.close()


async def test_a_connection_that_never_sends_a_request_is_closed(settings: Settings) -> None:
    guard = ConnectionGuard(SMALL, fd_limit=4096)
    async with serving(settings, guard) as site:
        assert await _closed_by_server(site.port, within=5)
        await asyncio.sleep(0.1)
        assert guard.total == 0


async def test_a_tls_connection_that_never_shakes_hands_is_closed(
    settings: Settings, tmp_path: Path
) -> None:
    paths = ensure_certificate(tmp_path / "tls-data", ["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths.cert, paths.key)
    guard = ConnectionGuard(SMALL, fd_limit=4096)
    async with serving(settings, guard, context) as site:
        assert await _closed_by_server(site.port, within=5)
        await asyncio.sleep(0.1)
        assert guard.total == 0


async def test_at_the_address_cap_the_oldest_idle_connection_makes_room(
    settings: Settings,
) -> None:
    guard = ConnectionGuard(SMALL, fd_limit=4096)
    async with serving(settings, guard) as site:
        base = f"http://127.0.0.1:{site.port}"
        async with session() as http:
            hall = settings.halls[0]
            ws = await http.ws_connect(f"{base}/ws?key={hall.key}")
            idle = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(40)]
            await asyncio.sleep(0.1)
            assert guard.counts.by_address["127.0.0.1"] == 16
            assert guard.counts.evicted >= 40 - 15
            # The hall's socket was busy, so never the one to go.
            assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT
            assert not ws.closed
            async with http.get(f"{base}/hall/{hall.id}?key={hall.key}") as page:
                assert page.status == 200
            await ws.close()
            for _, writer in idle:
                writer.close()


async def test_only_keys_of_halls_chair_and_secretary_get_the_reserve(settings: Settings) -> None:
    guard = ConnectionGuard(SMALL, fd_limit=4096)
    async with serving(settings, guard) as site:
        base = f"http://127.0.0.1:{site.port}"
        async with session() as http:
            viewers = []
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                for _ in range(16):  # the per-address cap
                    ws = await http.ws_connect(f"{base}/ws?key={settings.keys.viewer}")
                    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT
                    viewers.append(ws)
            # Viewer sockets may hold every connection but the reserve, which stays free.
            assert refused.value.status == 503
            assert len(viewers) == 16 - 4
            async with http.get(f"{base}/view?key={settings.keys.viewer}") as busy:
                assert busy.status == 503
                assert busy.headers["X-Error-Code"] == "busy"
                assert "Retry-After" in busy.headers
            for hall in settings.halls[:4]:
                async with http.get(f"{base}/hall/{hall.id}?key={hall.key}") as page:
                    assert page.status == 200
            for ws in viewers:
                await ws.close()
