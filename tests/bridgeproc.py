"""The real `commune-bridge` in a subprocess, under a chosen fd limit, for the flood tests.

The flood tests attack it over loopback as a stranger would, then check that
every hall still loads its page, opens its socket and gets its WHEP answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import yaml
from aiortc import RTCPeerConnection

ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT = 10.0
# `commune-bridge` itself, with ICE kept to 127.0.0.1 like every other peer in the tests.
BRIDGE_ON_LOOPBACK = (
    "import sys; from bench.loopback import restrict_ice; restrict_ice(); "
    "from web.cli import main; sys.exit(main(sys.argv[1:]))"
)  # a bound for each hall check, not a speed target (that is bench's)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BridgeProcess:
    process: asyncio.subprocess.Process
    port: int
    keys: dict[str, str]
    halls: dict[str, str]
    log: list[str] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # trusts the bridge's own CA when it serves HTTPS
    _reader: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def log_text(self) -> str:
        return "\n".join(self.log)


async def _read_log(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace").rstrip("\n"))


@contextlib.asynccontextmanager
async def bridge_process(
    tmp_path: Path,
    *,
    nofile: int | str = 1024,
    limits: dict[str, Any] | None = None,
    tls: bool = False,
) -> AsyncIterator[BridgeProcess]:
    """Start the bridge on 127.0.0.1 (plain HTTP, or HTTPS with its own CA) under
    `prlimit --nofile`; stop it after."""
    port = free_port()
    config: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port, "tls": "auto" if tls else "off"},
        "data_dir": str(tmp_path / "data"),
    }
    if limits:
        config["limits"] = limits
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        "prlimit",
        f"--nofile={nofile}",
        sys.executable,
        "-c",
        BRIDGE_ON_LOOPBACK,
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    log: list[str] = []
    try:
        while not any("Ctrl+C" in line for line in log):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, "the bridge stopped at start:\n" + "\n".join(log)
            log.append(line.decode(errors="replace").rstrip("\n"))
        stored = yaml.safe_load((tmp_path / "data" / "keys.yaml").read_text(encoding="utf-8"))
        bridge = BridgeProcess(process, port, stored["keys"], stored["halls"], log)
        if tls:
            bridge.tls = ssl.create_default_context(
                cafile=str(tmp_path / "data" / "tls" / "ca.pem")
            )
        bridge._reader = asyncio.ensure_future(_read_log(process.stdout, log))
        await _wait_listening(port)
        yield bridge
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("the bridge never listened")


async def whep_offer() -> str:
    """A viewer's offer (video and audio to receive), candidates on loopback only."""
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


def session(source: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        local_addr=(source, 0), force_close=True, ssl=tls if tls is not None else True
    )
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15))


async def hall_works(bridge: BridgeProcess, hall_id: str, offer: str, source: str) -> None:
    """The hall loads its page, opens its socket (welcome for its hall) and gets WHEP 201."""
    key = bridge.halls[hall_id]
    async with asyncio.timeout(CHECK_TIMEOUT), session(source, bridge.tls) as http:
        async with http.get(f"{bridge.base}/hall/{hall_id}?key={key}") as page:
            assert page.status == 200, f"{hall_id} page: {page.status}"
            assert "<html" in (await page.text()).lower()
        async with http.ws_connect(f"{bridge.base}/ws?key={key}") as ws:
            welcome = await ws.receive_json()
            assert welcome["type"] == "welcome", welcome
            assert welcome["hall"]["id"] == hall_id
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
            async with http.post(f"{bridge.base}/whep", data=offer, headers=headers) as answer:
                text = await answer.text()
                assert answer.status == 201, f"{hall_id} WHEP: {answer.status} {text}"
                assert text.startswith("v=0")
                location = answer.headers["Location"]
            async with http.delete(f"{bridge.base}{location}", headers=headers) as gone:
                assert gone.status == 200


async def every_hall_works(bridge: BridgeProcess, source: str = "127.0.0.1") -> None:
    offer = await whep_offer()
    for hall_id in bridge.halls:
        await hall_works(bridge, hall_id, offer, source)
