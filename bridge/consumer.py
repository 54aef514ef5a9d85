"""One track going to one subscriber, with its own bounded queue and numbering.

Each consumer rewrites SSRC, sequence numbers and timestamps into its own
space. Like mediasoup, it shifts sequence numbers by one offset that changes
only where the consumer itself skipped packets (a new publisher, or waiting
for a keyframe), so a subscriber sees no gap where we skipped, but does see
every gap the publisher's link made, and can ask for those packets again.
A consumer that falls behind drops its queue and waits for the next keyframe:
it never holds more than a bounded amount of media, and it never slows the
other consumers. A packet it cannot send costs that packet, not the session.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque
from typing import Protocol

from aiortc.rtp import RtpPacket

from .codec import Codec
from .drops import Drops
from .emitter import Emitter
from .picker import RenditionPicker
from .producer import Producer

logger = logging.getLogger(__name__)

# Room for a replayed group of pictures (producer.MAX_REPLAY_PACKETS) and what arrives
# while it goes out; more than this queued means we are behind.
MAX_QUEUE_PACKETS = {"video": 500, "audio": 50}
MAX_QUEUE_DELAY = 0.25  # seconds a packet may wait before the queue counts as stuck
# Every packet failing this many times in a row means the sender is broken, not the packet.
MAX_FAILURES_IN_A_ROW = 100
_HALF = 0x8000


def _newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number `a` comes after `b`."""
    return 0 < ((a - b) & 0xFFFF) < _HALF


class PacketPort(Protocol):
    """Where a consumer's rewritten packets go (an aiortc sender in production)."""

    payload_type: int
    ssrc: int

    @property
    def started(self) -> bool: ...

    async def send(self, packet: RtpPacket) -> None: ...


class Consumer(Emitter):
    """Emits `close` once; `incompatible` (no payload) when attached to a codec it can't
    take; `renditionchange` (read `.rendition`) when it moves to another rendition."""

    def __init__(
        self,
        kind: str,
        port: PacketPort,
        codec: Codec,
        *,
        max_queue_packets: int | None = None,
        max_queue_delay: float = MAX_QUEUE_DELAY,
        replay: bool = True,
    ) -> None:
        """`replay`: start a picture at once from the producer's replay, squeezed (a TV);
        without, wait for a fresh keyframe (the recorder: it keeps time faithfully)."""
        super().__init__()
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.codec = codec
        self.producer: Producer | None = None
        self.source: str | None = None  # the router's name for what we follow; None: nothing
        self.renditions: list[Producer] = []  # what the publisher sends of our kind, best first
        self.picker = RenditionPicker()
        self._switching_to: Producer | None = None
        self.started = False
        self.closed = False
        self.packets_sent = 0
        self.frames_sent = 0
        self.packets_dropped = 0
        self.queue_resets = 0
        self.keyframe_requests = 0
        self.nacks_passed_upstream = 0
        self.drops = Drops(f"{kind} consumer", logger)
        self.last_sent_at: float | None = None
        self._port = port
        self._event_loop = asyncio.get_event_loop()
        self._max_packets = max_queue_packets or MAX_QUEUE_PACKETS.get(kind, 100)
        self._max_delay = max_queue_delay
        self._replay = replay
        # (packet, when queued, timestamp adjustment for replayed frames, starts a new
        # numbering offset: the first packet after a skip or a change of publisher)
        self._queue: deque[tuple[RtpPacket, float, int, bool]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._need_keyframe = kind == "video"
        self._next_seq = random.randint(0, 0x7FFF)  # one past the newest number we sent
        self._seq_offset = 0
        self._sync_seq = 0  # producer number where the current offset began
        self._resync = True
        self._failures_in_a_row = 0
        self._mid_frame = False  # the last packet sent did not end its frame
        self._ts_offset = 0
        self._rebase = True
        self._last_out_ts: int | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def accepts(self, producer: Producer) -> bool:
        """Whether this consumer's negotiated codec can carry `producer`'s packets."""
        return producer.kind == self.kind and self.codec.carries(producer.codec)

    @property
    def rendition(self) -> int | None:
        """Which of the publisher's renditions this consumer forwards (0 is the full one)."""
        if self.producer is None or self.producer not in self.renditions:
            return None
        return self.renditions.index(self.producer)

    def follow(self, renditions: list[Producer]) -> None:
        """Take a (new) publisher's renditions: start on the one the hall's link fits."""
        self.renditions = list(renditions)
        if renditions:
            self.attach(renditions[min(self.picker.choice, len(renditions) - 1)])

    def pause(self) -> None:
        """Follow nothing: send no more packets until told to follow something again."""
        self.renditions = []
        self.detach(finish_frame=True)

    def attach(self, producer: Producer) -> None:
        """Follow `producer` from its next keyframe on, continuing our own numbering."""
        if self.closed:
            return
        self.detach(finish_frame=True)
        if not self.accepts(producer):
            self.emit("incompatible")
            return
        self.producer = producer
        producer.add_consumer(self)
        self._rebase = True
        self._resync = True
        self._need_keyframe = self.kind == "video"
        if self.started:
            self._prime()

    def detach(self, *, finish_frame: bool = False) -> None:
        """Stop following the producer and drop what is queued; with `finish_frame`, keep
        the queued rest of a frame already half sent, which a subscriber would otherwise
        decode cut short (a browser waits for the frame's last packet; aiortc does not)."""
        self._cancel_switch()
        if self.producer is not None:
            self.producer.remove_consumer(self)
            self.producer = None
        end = None
        if finish_frame and self._mid_frame:
            end = next((i for i, queued in enumerate(self._queue) if queued[0].marker), None)
        if end is None:
            self._queue.clear()
        else:
            while len(self._queue) > end + 1:
                self._queue.pop()

    def producer_closed(self, producer: Producer) -> None:
        if self._switching_to is producer:
            self._switching_to = None
        if producer in self.renditions:
            self.renditions.remove(producer)
        if self.producer is producer:
            self.producer = None
            self._queue.clear()
            if self.renditions:  # e.g. only the light stream ended: fall back to the full one
                self.attach(self.renditions[0])

    def source_restarted(self) -> None:
        """The producer's publisher restarted its stream (a new SSRC, new numbering): go on
        from its next keyframe as if it were a new producer."""
        self._queue.clear()
        self._rebase = True
        self._resync = True
        self._need_keyframe = self.kind == "video"

    # -- renditions ---------------------------------------------------------------------

    def link_report(self, fraction_lost: float) -> None:
        """The subscriber's receiver report for this stream."""
        self._choose(self.picker.report(fraction_lost, self._event_loop.time()))

    def link_estimate(self, bitrate: float) -> None:
        """The subscriber's REMB."""
        full = self.renditions[0].bitrate if self.renditions else None
        self._choose(self.picker.remb(bitrate, self._event_loop.time(), full))

    def _choose(self, choice: int) -> None:
        if len(self.renditions) < 2 or self.producer is None:
            return
        target = self.renditions[min(choice, len(self.renditions) - 1)]
        if target is self.producer:
            self._cancel_switch()
        elif target is not self._switching_to:
            # Keep showing the current rendition until the target's next keyframe.
            self._cancel_switch()
            self._switching_to = target
            target.add_waiting(self)
            target.request_keyframe()

    def _cancel_switch(self) -> None:
        if self._switching_to is not None:
            self._switching_to.remove_consumer(self)
            self._switching_to = None

    def switch_at_keyframe(self, producer: Producer, packet: RtpPacket) -> None:
        """`producer`, which we wait for, starts a keyframe: move to it on this very packet."""
        if self._switching_to is not producer or self.closed:
            return
        self._switching_to = None
        if self.producer is not None:
            self.producer.remove_consumer(self)
        self.producer = producer
        producer.add_consumer(self)
        self._rebase = True
        self._resync = True
        self._need_keyframe = False
        self.push(packet, True)
        self.emit("renditionchange")

    def start(self) -> None:
        """Begin sending: the subscriber's transport is up."""
        if self.started or self.closed:
            return
        self.started = True
        self._task = asyncio.ensure_future(self._run())
        self._prime()

    def _prime(self) -> None:
        """Start the picture at once from the producer's replay, and ask for a fresh keyframe.

        Replayed frames are squeezed to one clock tick apart, just behind the live
        edge, so the decoder catches up at once and the player adds no delay.
        """
        if self.producer is None or self.kind != "video":
            return
        packets, reaches_live = self.producer.replay if self._replay else ([], False)
        if packets:
            frames = list(dict.fromkeys(p.timestamp for p in packets))
            newest = frames[-1]
            position = {ts: len(frames) - 1 - i for i, ts in enumerate(frames)}
            for packet in packets:
                adjust = (newest - packet.timestamp - position[packet.timestamp]) & 0xFFFFFFFF
                self._enqueue(packet, adjust)
            # Without every packet since the keyframe, what comes next can't be decoded.
            self._need_keyframe = not reaches_live
        self.request_keyframe()

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        if self.producer is not None:
            self.producer.request_keyframe()

    def resend(self, lost: list[int]) -> None:
        """The subscriber lost these (our numbers) and the sender's history no longer has
        them: ask upstream, in the producer's numbers, for those of the current source."""
        if self.producer is None or not self.started:
            return
        wanted = []
        for seq in lost:
            source = (seq - self._seq_offset) & 0xFFFF
            if source == self._sync_seq or _newer(source, self._sync_seq):
                wanted.append(source)
        if wanted:
            self.nacks_passed_upstream += 1
            self.producer.nack(wanted)

    def push(self, packet: RtpPacket, starts_keyframe: bool) -> None:
        """Queue one packet from the producer. Called per packet per consumer: keep it cheap."""
        if not self.started:
            return
        if self._need_keyframe:
            if not starts_keyframe:
                self.packets_dropped += 1
                return
            self._need_keyframe = False
        queue = self._queue
        if queue:
            now = self._event_loop.time()
            if len(queue) >= self._max_packets or now - queue[0][1] > self._max_delay:
                self._fall_back_to_keyframe()
                if self.kind == "video" and not starts_keyframe:
                    self.packets_dropped += 1
                    return
                self._need_keyframe = False
        self._enqueue(packet)

    def _enqueue(self, packet: RtpPacket, adjust: int = 0) -> None:
        self._queue.append((packet, self._event_loop.time(), adjust, self._resync))
        self._resync = False
        self._wakeup.set()

    def _fall_back_to_keyframe(self) -> None:
        self.packets_dropped += len(self._queue)
        self._queue.clear()
        self._resync = True  # the subscriber must not see our skip as a loss
        self.queue_resets += 1
        if self.kind == "video":
            self._need_keyframe = True
            self.request_keyframe()
            self._choose(self.picker.stalled(self._event_loop.time()))

    async def _run(self) -> None:
        try:
            while not self._port.started:
                await asyncio.sleep(0.005)
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    packet, _, adjust, sync = self._queue.popleft()
                    # Inline, not a helper coroutine: this runs per packet per hall.
                    try:
                        await self._send(packet, adjust, sync)
                    except ConnectionError:
                        raise
                    except Exception as exc:  # costs this packet, unless every one fails
                        self._failed(exc)
                    else:
                        self._failures_in_a_row = 0
        except asyncio.CancelledError:
            return
        except ConnectionError:
            logger.debug("consumer %s: transport gone", self.id)
        except Exception:
            logger.exception("consumer %s stopped", self.id)
        # A consumer that cannot send is of no use to its hall: close it (and so its
        # session), so the TV sees the drop and rejoins instead of freezing.
        self.close()

    def _failed(self, exc: Exception) -> None:
        self.drops.count("not sent", repr(exc))
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            raise exc

    async def _send(self, packet: RtpPacket, adjust: int, sync: bool) -> None:
        source = packet.sequence_number
        if sync:
            self._seq_offset = (self._next_seq - source) & 0xFFFF
            self._sync_seq = source
        else:
            since_sync = (source - self._sync_seq) & 0xFFFF
            if since_sync >= _HALF:
                # A retransmission from before we (re)started: the subscriber never had
                # that stretch, so it has no slot for it.
                self.drops.count("late packet from before a skip")
                return
            if since_sync > _HALF // 2:
                self._sync_seq = (source - _HALF // 4) & 0xFFFF  # keep it in comparing range
        if sync and self._rebase:  # a new source: packets of the old one may still be queued
            self._rebase = False
            self._ts_offset = self._offset_for((packet.timestamp + adjust) & 0xFFFFFFFF)
        timestamp = (packet.timestamp + adjust + self._ts_offset) & 0xFFFFFFFF
        seq = (source + self._seq_offset) & 0xFFFF
        out = RtpPacket(
            payload_type=self._port.payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=self._port.ssrc,
            payload=packet.payload,
        )
        if packet.extensions.audio_level is not None:
            out.extensions.audio_level = packet.extensions.audio_level
        if sync or ((seq - self._next_seq) & 0xFFFF) < _HALF:  # not older than the newest
            self._next_seq = (seq + 1) & 0xFFFF
        await self._port.send(out)
        self._mid_frame = not packet.marker
        self._last_out_ts = timestamp
        self.last_sent_at = self._event_loop.time()
        self.packets_sent += 1
        if packet.marker:
            self.frames_sent += 1

    def _offset_for(self, timestamp: int) -> int:
        """Timestamp offset that makes the new source continue where the last one stopped."""
        if self._last_out_ts is None or self.last_sent_at is None:
            return 0
        elapsed = max(self._event_loop.time() - self.last_sent_at, 0.001)
        target = self._last_out_ts + int(elapsed * self.codec.clock_rate)
        return (target - timestamp) & 0xFFFFFFFF

    def close(self) -> None:
        """Stop, idempotently. Emits `close` and drops every listener."""
        if self.closed:
            return
        self.closed = True
        self.detach()
        if self._task is not None:
            self._task.cancel()
        self.emit("close")
        self.remove_all_listeners()
