"""The bridge as people run it: `python -m web.cli` in a process of its own, with a config of
random keys on loopback, for tests and benchmarks that kill it or measure its CPU."""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int) -> dict[str, Any]:
    config = {
        "server": {"host": "127.0.0.1", "port": port, "tls": "off"},
        "data_dir": str(folder / "data"),
        "keys": {name: secrets.token_urlsafe(24) for name in ("chair", "secretary", "viewer")},
        "halls": [
            {"id": f"thon-{n}", "name": f"Thôn {n}", "key": secrets.token_urlsafe(24)}
            for n in range(1, 7)
        ],
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return config


async def start_bridge(folder: Path, port: int) -> asyncio.subprocess.Process:
    log = (folder / "bridge.log").open("ab")  # noqa: ASYNC230 - a local file, opened once
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "--config",
        str(folder / "config.yaml"),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()  # the child has its own copy
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError((folder / "bridge.log").read_text())
