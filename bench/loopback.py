"""What every benchmark process shares: loopback-only peers, HTTP signaling, and the stdio protocol.

Each child process talks to the orchestrator in JSON lines: it reads commands
on stdin and answers on stdout, and it exits when stdin closes, so a child can
never outlive the benchmark that started it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection

LOOPBACK = "127.0.0.1"
Command = Callable[[list[str]], Awaitable[dict[str, Any]]]


def restrict_ice(addresses: list[str] | None = None) -> None:
    """Make aioice offer only `addresses` (default 127.0.0.1), so no packet leaves the machine.

    aioice skips loopback and gathers every other interface by default; the
    benchmark must bind and send on 127.0.0.1 only, or on its own namespaces' links.
    """
    chosen = list(addresses or [LOOPBACK])

    def host_addresses(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
        return chosen

    aioice.ice.get_host_addresses = host_addresses  # type: ignore[assignment]


def new_peer() -> RTCPeerConnection:
    """A peer with no ICE servers: RTCPeerConnection() alone would ask Google's STUN server."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def http_signal(session: aiohttp.ClientSession, url: str) -> Callable[[str], Awaitable[str]]:
    """POST an SDP offer to `url` and return the SDP answer."""

    async def signal(offer_sdp: str) -> str:
        async with session.post(
            url, data=offer_sdp, headers={"Content-Type": "application/sdp"}
        ) as response:
            body = await response.text()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}: {body}")
            return body

    return signal


def emit(message: dict[str, Any]) -> None:
    """Send one JSON line to the orchestrator (a few per run, never per packet)."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve_commands(commands: dict[str, Command]) -> None:
    """Answer commands from stdin until it closes or `stop` arrives.

    Each command's reply is sent as one JSON line with `event` set to the command name;
    a failing command answers `{"event": name, "error": ...}` instead of killing the process.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return  # the orchestrator went away
        words = line.decode().split()
        if not words:
            continue
        name, args = words[0], words[1:]
        if name == "stop":
            return
        handler = commands.get(name)
        if handler is None:
            emit({"event": name, "error": f"unknown command {name}"})
            continue
        try:
            reply = await handler(args)
        except Exception as exc:  # report it to the orchestrator, which decides
            logging.getLogger(__name__).exception("command %s failed", name)
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        emit({"event": name, **reply})


def setup_logging() -> None:
    """Warnings only: stderr goes to a log file the orchestrator shows when a child fails."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
