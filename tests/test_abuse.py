"""Key guessing and junk against the real bridge: slowed down, logged briefly, no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

import aiohttp

from tests.bridgeproc import BridgeProcess, bridge_process, every_hall_works, session

WRONG_KEYS = 50


async def _status(bridge: BridgeProcess, key: str, source: str) -> tuple[int, str | None]:
    async with session(source) as http, http.get(f"{bridge.base}/view?key={key}") as response:
        return response.status, response.headers.get("Retry-After")


async def test_fifty_wrong_keys_get_429_and_one_warning_while_another_address_gets_in(
    tmp_path: Path,
) -> None:
    async with bridge_process(tmp_path) as bridge:
        answers = [
            await _status(bridge, f"wrong-key-{n:04d}-abcdefghijkl", "127.0.0.1")
            for n in range(WRONG_KEYS)
        ]
        statuses = [status for status, _ in answers]
        assert statuses[:10] == [403] * 10  # limits.failed_keys_per_minute
        assert statuses[10:] == [429] * (WRONG_KEYS - 10)
        assert all(int(retry or 0) >= 1 for status, retry in answers if status == 429)
        # The guesser's address is held off even with a right key; others are not.
        assert (await _status(bridge, bridge.keys["viewer"], "127.0.0.1"))[0] == 429
        assert (await _status(bridge, bridge.keys["viewer"], "127.0.0.2"))[0] == 200
        await every_hall_works(bridge, source="127.0.0.2")
        await asyncio.sleep(0.2)
        warnings = [line for line in bridge.log if "wrong keys from 127.0.0.1" in line]
        assert len(warnings) == 1, bridge.log_text()


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 5)
    except (ConnectionError, TimeoutError):
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_oversized_headers_nested_json_and_binary_junk_leave_a_short_log_and_no_traceback(
    tmp_path: Path,
) -> None:
    async with bridge_process(tmp_path) as bridge:
        lines_before = len(bridge.log)
        oversized = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        long_line = b"GET /" + b"b" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        answers = [await _raw(bridge.port, oversized) for _ in range(30)]
        answers += [await _raw(bridge.port, long_line) for _ in range(30)]
        answers += [await _raw(bridge.port, os.urandom(2000)) for _ in range(30)]
        assert all(not a or a[:12] in (b"HTTP/1.0 400", b"HTTP/1.1 400") for a in answers)
        assert not [a for a in answers if b"aiohttp" in a or b"Python" in a]  # no versions
        nested = "[" * 30000 + "]" * 30000
        async with session() as http:
            async with http.ws_connect(f"{bridge.base}/ws?key={bridge.keys['viewer']}") as ws:
                errors: list[str] = []
                for _ in range(20):
                    await ws.send_str(nested)
                    await ws.send_bytes(os.urandom(500))
                while len(errors) < 40:
                    message = json.loads((await ws.receive(timeout=10)).data)
                    if message["type"] == "error":
                        errors.append(message["code"])
                assert set(errors) == {"bad-json"}
            async with http.ws_connect(f"{bridge.base}/ws?key={bridge.keys['viewer']}") as ws:
                await ws.receive(timeout=10)
                await ws._writer.send_frame(b"\xff\xfe not utf-8", 0x1)  # type: ignore[union-attr]
                closing = await ws.receive(timeout=10)
                while closing.type == aiohttp.WSMsgType.TEXT:  # the state sent on connect
                    closing = await ws.receive(timeout=10)
                assert closing.type == aiohttp.WSMsgType.CLOSE, closing
                assert closing.data == 1007, closing  # invalid text: closed, not a crash
        await asyncio.sleep(0.5)
        new_lines = bridge.log[lines_before:]
        assert not [line for line in new_lines if "Traceback" in line], "\n".join(new_lines)
        assert len(new_lines) <= 15, "\n".join(new_lines)  # 110 attacks: a line a minute each
        await every_hall_works(bridge)
