"""Talking to the edge in tests: keys, signaling over HTTP, sockets, peer processes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import psutil
from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.bridge import Bridge
from web.keys import MEETING


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}


def app_of(client: TestClient) -> web.Application:
    app = client.app
    assert app is not None
    return app


@dataclass(frozen=True)
class OnAir:
    """What the bridge forwards as the chair's stream (the router's source "chair")."""

    live: bool
    video_codec: str | None
    audio_codec: str | None
    session_id: str | None


def publishing(bridge: Bridge) -> OnAir:
    video = bridge.router.producer("chair", "video")
    audio = bridge.router.producer("chair", "audio")
    on_air = [p for p in (video, audio) if p is not None]
    session = next(
        (s for s in bridge.sessions.values() if any(p in s.producers for p in on_air)), None
    )
    return OnAir(
        live=bool(on_air),
        video_codec=video.codec.name if video else None,
        audio_codec=audio.codec.name if audio else None,
        session_id=session.id if session else None,
    )


def chair_live(client: TestClient) -> bool:
    """Whether the meeting has the chair's stream on air."""
    return bool(app_of(client)[MEETING].room.broadcast.live)


def http_signal(  # type: ignore[no-untyped-def]
    client: TestClient, path: str, key: str, connection: str | None = None
):
    """Signal over real HTTP; `connection` names the page socket (X-Connection)."""
    headers = bearer(key) if connection is None else {**bearer(key), "X-Connection": connection}

    async def signal(offer: str) -> str:
        response = await client.post(path, data=offer, headers=headers)
        assert response.status == 201, await response.text()
        assert response.headers["Location"].startswith(f"{path}/")
        return await response.text()

    return signal


def udp_sockets() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


async def ws_messages(ws: Any, count: int) -> list[dict[str, Any]]:
    return [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def next_besides_state(ws: Any, timeout: float = 15) -> dict[str, Any]:
    """The next message that is not a state snapshot (those come whenever anything moves)."""
    while True:
        message: dict[str, Any] = json.loads((await ws.receive(timeout=timeout)).data)
        if message["type"] != "state":
            return message


PEER_KEY_VARIABLE = "PEER_KEY"


def peer_command(endpoint: str, url: str, key: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start tests/peer_process.py. The key travels in the
    environment: a generated key may begin with "-", which argparse takes for an option."""
    argv = [sys.executable, "-m", "tests.peer_process", endpoint, url]
    return argv, {**os.environ, PEER_KEY_VARIABLE: key}


async def start_peer_process(
    client: TestClient, endpoint: str, key: str
) -> asyncio.subprocess.Process:
    """A peer in another process, running until it has moved 10 frames."""
    url = str(client.make_url("")).rstrip("/")
    argv, env = peer_command(endpoint, url, key)
    process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    frames = 0
    while frames < 10:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line, "the peer process ended early"
        frames = int(line.split()[1])
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()  # no BYE, no DTLS close: the peer just goes dark
        await process.wait()
