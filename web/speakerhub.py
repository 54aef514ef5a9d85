"""The loudspeaker clusters live: who listens to which stream, the one program stream they
all share, each cluster's watch, and the history of which cluster carried which meeting.

The program stream (media/programstream.py) runs only while someone listens: its
consumer follows the mix, and the relay keeps the mix running for it. Each chunk is
made once and offered to every listener of its format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

from bridge.consumer import Consumer
from media.programstream import MP3, OGG, ProgramStream, load_idle
from rooms.routing import MIX

from .errors import Busy, Forbidden, NotFound, Unauthorized
from .meeting import Meeting
from .quietlog import RateLimitedLog
from .relay import OPUS
from .speakerconfig import SpeakerConfig, SpeakerSettings
from .speakerfeed import Listener
from .speakerhistory import AsyncSpeakerHistory
from .speakerwatch import Span, SpeakerWatch

logger = logging.getLogger(__name__)

HOLDER = "speakers"  # our name for the relay's mix
WATCH_EVERY = 1.0  # seconds between looks at the room's meeting
# Bytes per second of each format, for the listeners' bound in seconds: 64 kbps MP3,
# and Ogg/Opus at the mix's 64 kbps with about 5 % of page headers.
RATES = {MP3: 8000, OGG: 8400}


class SpeakerHub:
    """Every cluster's listeners and state, for one app."""

    def __init__(
        self, settings: SpeakerSettings, meeting: Meeting, history: AsyncSpeakerHistory
    ) -> None:
        self.settings = settings
        self.meeting = meeting
        self.history = history
        self.watch = SpeakerWatch(settings.clusters, settings.limits)
        self.listeners: dict[str, set[Listener]] = {c.id: set() for c in settings.clusters}
        self.stream: ProgramStream | None = None
        self._consumer: Consumer | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.idle: list[bytes] | None = None  # the idle file's packets, once loaded
        self.refused = RateLimitedLog(logger, per_minute=12)
        self.drops = RateLimitedLog(logger, per_minute=12)

    async def start(self) -> None:
        if self.settings.idle_file is not None:
            path = self.settings.idle_file
            try:
                self.idle = await asyncio.get_running_loop().run_in_executor(None, load_idle, path)
            except Exception as exc:  # a file it cannot play: silence, as without one
                logger.warning("speakers: idle file %s not played: %s", path, exc)
        ended = await self.history.interrupted(time.time())
        if ended:
            logger.info("speakers: %d spans a stopped bridge left open were ended", ended)
        self._look()
        self._ticker = asyncio.ensure_future(self._tick())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for listeners in self.listeners.values():
            for listener in list(listeners):
                listener.close()
        now = time.time()
        for speaker_id, listeners in self.listeners.items():
            for listener in list(listeners):
                listeners.discard(listener)
                self._store(self.watch.closed(speaker_id, now))
        await self._stop_stream()
        await asyncio.gather(*self._stopping, *self._writes, return_exceptions=True)

    # -- keys -------------------------------------------------------------------------

    def authorize(self, speaker_id: str, key: str | None, address: str | None) -> SpeakerConfig:
        """The cluster `speaker_id` if `key` is its own: 401 without a key, 403 for any
        other key (another cluster's too), logged; 404 only for its own key's wrong path."""
        if not key:
            self.refused.warning("speaker %s: no key, from %s", speaker_id[:40], address)
            raise Unauthorized("a key is required: use the cluster's stream link")
        cluster = self.settings.by_key(key)
        if cluster is None or cluster.id != speaker_id:
            owner = "another cluster's key" if cluster is not None else "a wrong key"
            self.refused.warning("speaker %s: %s, from %s", speaker_id[:40], owner, address)
            raise Forbidden("this key does not open this cluster")
        if cluster.id not in self.listeners:
            raise NotFound(f"there is no cluster {speaker_id[:40]!r}")
        return cluster

    # -- listeners --------------------------------------------------------------------

    def admit(self, speaker_id: str) -> None:
        """503 past the cap of listeners per cluster."""
        cap = self.settings.limits.listeners
        if len(self.listeners[speaker_id]) >= cap:
            self.refused.warning(
                "speaker %s: refused a listener past the cap of %d", speaker_id, cap
            )
            raise Busy(f"this cluster already has {cap} listeners", retry_after=10)

    def bound(self, fmt: str) -> int:
        """Bytes one listener of `fmt` may have waiting before it is dropped."""
        return self.settings.limits.buffer_seconds * RATES[fmt]

    def first_bytes(self, fmt: str) -> bytes:
        """What a new listener of `fmt` gets before the shared chunks: Ogg's header pages."""
        self._ensure_stream()
        assert self.stream is not None
        return self.stream.ogg_headers if fmt == OGG else b""

    def attach(self, listener: Listener) -> None:
        self._ensure_stream()
        assert self.stream is not None
        self.listeners[listener.speaker_id].add(listener)
        self.stream.formats.add(listener.format)
        self._look()  # the meeting as it is now, not as the last tick saw it
        self._store(self.watch.opened(listener.speaker_id, time.time()))
        logger.info("speaker %s: %s listener connected", listener.speaker_id, listener.format)

    def detach(self, listener: Listener) -> None:
        listeners = self.listeners[listener.speaker_id]
        if listener not in listeners:
            return
        listeners.discard(listener)
        self._look()
        self._store(self.watch.closed(listener.speaker_id, time.time(), slow=listener.slow))
        if listener.slow:
            self.drops.warning(
                "speaker %s: %s listener dropped: it fell %d s behind",
                listener.speaker_id,
                listener.format,
                self.settings.limits.buffer_seconds,
            )
        else:
            logger.info("speaker %s: %s listener left", listener.speaker_id, listener.format)
        self._formats_changed()

    def sent(self, speaker_id: str, size: int) -> None:
        self.watch.sent(speaker_id, size, time.time())

    def _on_chunk(self, fmt: str, data: bytes) -> None:
        for listeners in self.listeners.values():
            for listener in list(listeners):
                if listener.format == fmt:
                    listener.offer(data)  # one that cannot keep up closes; its run() detaches

    def _formats_changed(self) -> None:
        formats = {x.format for listeners in self.listeners.values() for x in listeners}
        if self.stream is not None:
            self.stream.formats.intersection_update(formats)
        if not formats:
            # Let go at once, so a receiver reconnecting right away gets a new stream.
            task = asyncio.ensure_future(self._stop_stream())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    # -- the shared stream --------------------------------------------------------------

    def _ensure_stream(self) -> None:
        if self.stream is not None:
            return
        stream = ProgramStream(self._on_chunk)
        consumer = Consumer("audio", stream.port, OPUS)
        self.stream, self._consumer = stream, consumer
        relay = self.meeting.relay
        relay.router.add_consumer(consumer, MIX)
        consumer.start()
        relay.hold_mix(HOLDER, True)
        task = asyncio.ensure_future(stream.start())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        logger.info("speakers: program stream started")

    def _stop_stream(self) -> Awaitable[None]:
        """Let go of the stream now (a listener coming next gets a new one); the returned
        awaitable ends its thread."""
        stream, consumer = self.stream, self._consumer
        self.stream, self._consumer = None, None
        if consumer is not None:
            consumer.close()
        if stream is None:
            return asyncio.sleep(0)
        self.meeting.relay.hold_mix(HOLDER, False)
        logger.info("speakers: program stream stopped: nobody listens")
        return stream.close()

    # -- the meeting and the history ---------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                self._look()
            except Exception:  # the watch must not die of one odd tick
                logger.exception("speakers: watch tick failed")

    def _look(self) -> None:
        room = self.meeting.room
        meeting = room.meeting
        self._store(self.watch.meeting(meeting.id if meeting is not None else None, time.time()))
        if self.stream is not None:
            between = meeting is None and not room.broadcast.live
            self.stream.idle = self.idle if between else None

    def _store(self, spans: list[Span]) -> None:
        if not spans:
            return
        task = asyncio.ensure_future(self.history.write(spans))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("speakers: history not written: %s", task.exception())

    def snapshot(self) -> dict[str, Any]:
        self._look()
        for speaker_id, listeners in self.listeners.items():
            self.watch.clusters[speaker_id].backlog = sum(x.backlog() for x in listeners)
        return self.watch.snapshot(time.time())
