"""The ports a consumer sends to, and a bounded queue in front of those that must be awaited.

A consumer hands packets on synchronously, as they arrive (SenderPort sends
them at once). A port that must be awaited gets them through this queue and
one task; the queue refuses packets once it holds too many or its oldest
waited too long, so a stuck port never holds more than a bounded amount of
media and never slows the consumers of other halls.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

from aiortc.rtp import RtpPacket

from .drops import Drops

logger = logging.getLogger(__name__)

# Every packet failing this many times in a row means the port is broken, not the packet.
MAX_FAILURES_IN_A_ROW = 100
# Room for a replayed group of pictures (producer.MAX_REPLAY_PACKETS) and what arrives
# while it goes out; more than this queued means the port is behind.
MAX_QUEUE_PACKETS = {"video": 500, "audio": 50}
MAX_QUEUE_DELAY = 0.25  # seconds a packet may wait before the queue counts as stuck


class Cleared(NamedTuple):
    """What a port's `clear` dropped."""

    first: int  # our sequence number of the first packet dropped
    # The last packet that left did not end its picture: leave one number out after it,
    # so the subscriber drops the picture cut short instead of showing it damaged.
    gap: bool


@runtime_checkable
class DirectPort(Protocol):
    """Where a consumer's packets go when sending takes no await (aiortc_internals.SenderPort)."""

    @property
    def ssrc(self) -> int: ...

    @property
    def started(self) -> bool: ...

    def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
        """Send `packet` as `seq`/`timestamp`; False when the way out is stuck (not sent)."""
        ...

    def clear(self) -> Cleared | None:
        """Drop what still waits to be sent (None: nothing waited)."""
        ...


class PacketPort(Protocol):
    """Where a consumer's rewritten packets go, when sending them takes an await."""

    payload_type: int
    ssrc: int

    @property
    def started(self) -> bool: ...

    async def send(self, packet: RtpPacket) -> None: ...


def direct(
    port: DirectPort | PacketPort,
    kind: str,
    max_packets: int | None,
    max_delay: float,
    drops: Drops,
    on_broken: Callable[[], None],
) -> DirectPort:
    """`port` itself, or a queue in front of it when its `send` must be awaited."""
    if isinstance(port, DirectPort):
        return port
    return QueuedPort(
        port,
        video=kind == "video",
        max_packets=max_packets or MAX_QUEUE_PACKETS.get(kind, 100),
        max_delay=max_delay,
        drops=drops,
        on_broken=on_broken,
    )


class QueuedPort:
    """Takes packets synchronously (`forward`) and sends them to `port` from its own task."""

    def __init__(
        self,
        port: PacketPort,
        *,
        video: bool,
        max_packets: int,
        max_delay: float,
        drops: Drops,
        on_broken: Callable[[], None],
    ) -> None:
        self.port = port
        self._max_packets = max_packets
        self._max_delay = max_delay
        self._drops = drops
        self._on_broken = on_broken
        self._event_loop = asyncio.get_event_loop()
        # (packet, our sequence number, our timestamp, when queued)
        self._queue: deque[tuple[RtpPacket, int, int, float]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures_in_a_row = 0
        self._video = video
        self._cut = False  # the last packet taken off the queue did not end its picture

    @property
    def payload_type(self) -> int:
        return self.port.payload_type

    @property
    def ssrc(self) -> int:
        return self.port.ssrc

    @property
    def started(self) -> bool:
        return self.port.started

    def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
        """Queue `packet` as `seq` and `timestamp`; False (and nothing queued) when the
        queue is full or stuck."""
        queue = self._queue
        now = self._event_loop.time()
        if queue and (len(queue) >= self._max_packets or now - queue[0][3] > self._max_delay):
            return False
        queue.append((packet, seq, timestamp, now))
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return True

    def clear(self) -> Cleared | None:
        """Drop what waits."""
        if not self._queue:
            return None
        first = self._queue[0][1]
        self._queue.clear()
        return Cleared(first, self._cut)

    async def _run(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    packet, seq, timestamp, _ = self._queue.popleft()
                    self._cut = self._video and not packet.marker
                    out = RtpPacket(
                        payload_type=self.port.payload_type,
                        marker=packet.marker,
                        sequence_number=seq,
                        timestamp=timestamp,
                        ssrc=self.port.ssrc,
                        payload=packet.payload,
                    )
                    out.extensions.audio_level = packet.extensions.audio_level
                    try:
                        await self.port.send(out)
                    except ConnectionError:
                        raise
                    except Exception as exc:  # costs this packet, unless every one fails
                        self._drops.count("not sent", repr(exc))
                        self._failures_in_a_row += 1
                        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                            raise
                    else:
                        self._failures_in_a_row = 0
        except asyncio.CancelledError:
            return
        except ConnectionError:
            logger.debug("queued port: transport gone")
        except Exception:
            logger.exception("queued port stopped")
        self._on_broken()

    def close(self) -> None:
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
