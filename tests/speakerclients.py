"""Loudspeaker receivers for tests: PyAV reading a stream over HTTP as ffplay does, a raw
client that stops reading, one that reconnects like VLC, and a page socket."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
import numpy as np

from tests.tones import tone_share

RATE = 48000


def decode_url(url: str, seconds: float) -> tuple[np.ndarray, str]:
    """The first `seconds` of the stream at `url`, decoded by FFmpeg's own HTTP client and
    demuxer (what ffplay uses), as int16-scaled mono samples; and the codec's name. Blocks."""
    container = av.open(url, timeout=15)
    try:
        stream = container.streams.audio[0]
        chunks: list[np.ndarray] = []
        total = 0
        for frame in container.decode(stream):
            chunks.append(_mono(frame))
            total += frame.samples
            if total >= seconds * frame.sample_rate:
                break
        return np.concatenate(chunks), stream.codec_context.name
    finally:
        container.close()


def decode_bytes(data: bytes) -> np.ndarray:
    """Everything decodable in a stream's bytes (a cut-off last frame is left out)."""
    chunks: list[np.ndarray] = []
    with contextlib.suppress(av.FFmpegError), av.open(io.BytesIO(data), "r") as container:
        for frame in container.decode(audio=0):
            chunks.append(_mono(frame))
    return np.concatenate(chunks) if chunks else np.zeros(0)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    samples = frame.to_ndarray()
    first = (
        samples[0]
        if frame.format.is_planar
        else samples.reshape(-1, frame.layout.nb_channels)[:, 0]
    )
    scale = 32767.0 if first.dtype.kind == "f" else 1.0
    return first.astype(np.float64) * scale


def has_tone(samples: np.ndarray, frequency: float, share: float = 0.2) -> bool:
    return tone_share(samples, frequency) > share


def tone_onset(samples: np.ndarray, frequency: float, window: int = 960) -> int | None:
    """The first sample of the first 20 ms window where `frequency` dominates, if any."""
    for start in range(0, len(samples) - window, window):
        if has_tone(samples[start : start + window * 2], frequency, 0.5):
            return start
    return None


@dataclass
class StalledReader:
    """Sends the request, reads the headers, then never reads again (a hung receiver).
    Its receive buffer is made small, so the bridge feels the stall soon."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int

    @classmethod
    async def open(cls, host: str, port: int, path: str) -> StalledReader:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        writer.transport.pause_reading()  # type: ignore[attr-defined]
        return cls(reader, writer, status)

    async def closed_by_peer(self, timeout: float) -> bool:
        """Read everything that is left; True once the bridge closed the connection."""
        self.writer.transport.resume_reading()  # type: ignore[attr-defined]
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
            return True
        except (TimeoutError, ConnectionError):
            return False

    def close(self) -> None:
        self.writer.close()


@dataclass
class ReconnectingClient:
    """Plays a stream like VLC: when the connection drops or fails, it waits and connects
    again, for as long as it runs. Keeps the bytes of each connection apart."""

    url: str
    retry: float = 0.5
    connections: list[bytearray] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                try:
                    async with http.get(self.url) as response:
                        self.statuses.append(response.status)
                        if response.status == 200:
                            received = bytearray()
                            self.connections.append(received)
                            async for chunk in response.content.iter_any():
                                received += chunk
                except (aiohttp.ClientError, TimeoutError, ConnectionError):
                    pass
                await asyncio.sleep(self.retry)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Page:
    """A page socket that sends commands and keeps the newest state."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.state: dict[str, Any] = {}
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if data["type"] == "state":
                    self.state = data

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def close(self) -> None:
        self._task.cancel()
        await self.ws.close()
