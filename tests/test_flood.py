"""Floods without a hall's key, against the real bridge under `prlimit --nofile=1024`.

Each attack runs as a stranger would, over loopback; then every hall must still
load its page, open its socket and get its WHEP answer, and the bridge's log
must stay short and free of tracebacks. Run these under flock /tmp/heavy.lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aiohttp
import psutil

from tests.bridgeproc import BridgeProcess, bridge_process, every_hall_works, session

IDLE_CONNECTIONS = 1100
VIEWER_SOCKETS = 1100
CYCLES = 5000
SOURCES = ("127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5")


async def _open_idle(port: int, count: int, into: list[asyncio.StreamWriter]) -> int:
    """Open `count` bare TCP connections that never send a byte; returns how many opened."""

    async def one() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        into.append(writer)
        return True

    opened = 0
    for start in range(0, count, 100):
        results = await asyncio.gather(*(one() for _ in range(min(100, count - start))))
        opened += sum(results)
    return opened


def _connections_from(bridge: BridgeProcess) -> int:
    """TCP connections the bridge holds open (not its listening socket)."""
    found = psutil.Process(bridge.process.pid).net_connections(kind="tcp")
    return sum(1 for c in found if c.status == psutil.CONN_ESTABLISHED)


async def test_the_bridge_raises_its_soft_fd_limit_to_the_hard_one(tmp_path: Path) -> None:
    async with bridge_process(tmp_path, nofile="512:4096") as bridge:
        limits = psutil.Process(bridge.process.pid).rlimit(psutil.RLIMIT_NOFILE)
        assert limits == (4096, 4096)


async def test_a_thousand_idle_connections_from_one_address_leave_every_hall_on_the_air(
    tmp_path: Path,
) -> None:
    async with bridge_process(tmp_path, nofile=1024) as bridge:
        held: list[asyncio.StreamWriter] = []
        opened = await _open_idle(bridge.port, IDLE_CONNECTIONS, held)
        assert opened > 1000  # the kernel took them all: the bridge closed the surplus

        async def keep_flooding() -> None:
            while True:
                await _open_idle(bridge.port, 50, held)
                await asyncio.sleep(0.05)

        flood = asyncio.ensure_future(keep_flooding())
        try:
            await every_hall_works(bridge)
            held_by_bridge = _connections_from(bridge)
        finally:
            flood.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flood
            for writer in held:
                writer.close()
        assert held_by_bridge <= 200 + 10  # the per-address cap, and the halls' own
        assert "Traceback" not in bridge.log_text()
        assert "Too many open files" not in bridge.log_text()


Opened = tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse] | None


async def test_a_thousand_tls_connections_that_never_shake_hands_leave_every_hall_on_the_air(
    tmp_path: Path,
) -> None:
    async with bridge_process(tmp_path, nofile=1024, tls=True) as bridge:
        held: list[asyncio.StreamWriter] = []
        try:
            assert await _open_idle(bridge.port, IDLE_CONNECTIONS, held) > 1000
            await every_hall_works(bridge)
            assert _connections_from(bridge) <= 200 + 10
        finally:
            for writer in held:
                writer.close()
        assert "Traceback" not in bridge.log_text()


async def _viewer_socket(base: str, key: str, source: str) -> tuple[int, str, Opened]:
    """Open a viewer socket; (close code or 0 if open, reason, the open socket's parts)."""
    http = session(source)
    ws = await http.ws_connect(f"{base}/ws?key={key}")
    message = await ws.receive(timeout=10)
    if message.type == aiohttp.WSMsgType.CLOSE:
        await http.close()
        return int(message.data), str(message.extra), None
    assert json.loads(message.data)["type"] == "welcome"
    return 0, "", (http, ws)


async def test_a_thousand_viewer_sockets_are_capped_and_every_hall_stays_on_the_air(
    tmp_path: Path,
) -> None:
    async with bridge_process(tmp_path, nofile=1024) as bridge:
        viewer = bridge.keys["viewer"]
        outcomes: list[tuple[int, str, Opened]] = []
        per_source = VIEWER_SOCKETS // len(SOURCES)
        try:
            for source in SOURCES:
                for start in range(0, per_source, 25):
                    batch = min(25, per_source - start)
                    outcomes += await asyncio.gather(
                        *(_viewer_socket(bridge.base, viewer, source) for _ in range(batch))
                    )
            accepted = [o for o in outcomes if o[0] == 0]
            refused = [o for o in outcomes if o[0] != 0]
            assert len(accepted) == 50  # limits.sockets.viewer, from four addresses of 20 each
            assert {code for code, _, _ in refused} == {4429}
            assert "too many pages open with this key" in refused[0][1]
            await every_hall_works(bridge)
        finally:
            for _, _, parts in outcomes:
                if parts is not None:
                    await parts[1].close()
                    await parts[0].close()
        assert "Traceback" not in bridge.log_text()


async def _cycle(base: str, key: str, count: int) -> None:
    async with session() as http:
        for _ in range(count):
            async with http.ws_connect(f"{base}/ws?key={key}") as ws:
                assert json.loads((await ws.receive(timeout=10)).data)["type"] == "welcome"


async def test_five_thousand_viewer_socket_cycles_give_the_memory_back(tmp_path: Path) -> None:
    async with bridge_process(tmp_path, nofile=1024) as bridge:
        viewer = bridge.keys["viewer"]
        await asyncio.gather(*(_cycle(bridge.base, viewer, 50) for _ in range(10)))  # warm up
        before = bridge.rss()
        await asyncio.gather(*(_cycle(bridge.base, viewer, CYCLES // 10) for _ in range(10)))
        await asyncio.sleep(1)  # the last sockets' tasks finish
        after = bridge.rss()
        assert after - before < 5 * 1024 * 1024, f"{(after - before) / 1048576:.1f} MiB kept"
        await every_hall_works(bridge)
