"""One loudspeaker receiver's HTTP stream: a bounded queue of chunks and the task writing it.

The stream's chunks are offered to every listener; a listener whose queue plus its
socket's unsent bytes would pass its bound is dropped at once (its connection is
aborted), so a stalled receiver costs its own stream and never slows the others.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

# The kernel's send buffer for a stream: small, so what a receiver has not taken stays
# in our count (backlog) instead of hiding in megabytes of auto-tuned buffer. 16 KiB
# (the kernel doubles it) is seconds of 64 kbps audio.
SEND_BUFFER = 16 * 1024


class IcyResponse(web.StreamResponse):
    """A stream sent raw until the connection closes, as Icecast sends it: some receivers
    read no chunked encoding. (aiohttp's WebSocketResponse turns the same check off.)"""

    _length_check = False


class Listener:
    """One receiver of one format of one cluster's stream."""

    def __init__(
        self,
        speaker_id: str,
        fmt: str,
        response: web.StreamResponse,
        transport: asyncio.Transport | None,
        limit: int,
        first: bytes = b"",
    ) -> None:
        self.speaker_id = speaker_id
        self.format = fmt
        self.limit = limit  # bytes it may have queued, ours and the socket's, before it is dropped
        self.opened_at = time.time()
        self.bytes_sent = 0
        self.slow = False  # dropped for not keeping up
        self.closed = False
        self._response = response
        self._queue: deque[bytes] = deque([first] if first else [])
        self._queued = len(first)
        self._wakeup = asyncio.Event()
        self._wakeup.set()
        self._transport = transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            except OSError:
                pass  # a socket type without one: the bound still holds for our queue

    def backlog(self) -> int:
        """Bytes made for this receiver and not yet handed to the kernel."""
        unsent = self._transport.get_write_buffer_size() if self._transport is not None else 0
        return self._queued + unsent

    def offer(self, chunk: bytes) -> bool:
        """Queue `chunk`; False (and the listener dropped) when it would pass the bound."""
        if self.closed:
            return False
        if self.backlog() + len(chunk) > self.limit:
            self.slow = True
            self.close()
            return False
        self._queue.append(chunk)
        self._queued += len(chunk)
        self._wakeup.set()
        return True

    async def run(self, on_sent: Callable[[int], None]) -> None:
        """Write what is queued until closed or the receiver goes."""
        try:
            while not self.closed:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue and not self.closed:
                    chunk = self._queue.popleft()
                    self._queued -= len(chunk)
                    await self._response.write(chunk)
                    self.bytes_sent += len(chunk)
                    on_sent(len(chunk))
        except (ConnectionError, RuntimeError):
            pass  # the receiver went, or we aborted it: aiohttp says so either way
        finally:
            self.close()

    def close(self) -> None:
        """End the stream, idempotently: abort, since a full socket would never drain."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued = 0
        self._wakeup.set()
        if self._transport is not None:
            self._transport.abort()
