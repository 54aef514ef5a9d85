"""One track the publisher sends, handed on as encoded packets to every consumer.

The producer keeps the current group of pictures (the last keyframe and every
packet since, up to a bound) so that a new subscriber can start decoding at
once, and it throttles keyframe requests (PLI) to the publisher: one a second
at most, however many subscribers ask. It keeps the publisher's numbering,
gaps included, so halls can ask for lost packets; it asks the publisher again
for holes that stay open, splits packets too large to send, and drops (and
counts) any packet it cannot handle rather than fail.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiortc.rtp import RtpPacket

from .codec import Codec
from .drops import Drops
from .emitter import Emitter
from .keyframes import keyframe_detector
from .losswatch import LossWatch
from .numbering import Numbering, unwrap
from .repacketize import PIECE_SIZE, SPLIT_ABOVE, splitter

if TYPE_CHECKING:
    from .consumer import Consumer

logger = logging.getLogger(__name__)

SendPli = Callable[[int], Awaitable[None]]
SendNack = Callable[[int, list[int]], Awaitable[None]]  # (media ssrc, lost 16-bit numbers)
PLI_INTERVAL = 1.0
SSRC_SILENCE = 2.0  # seconds our SSRC must be silent before another may take its place
# About 1.5 s of 2 Mbps video. A longer group is not replayed: the joiner waits for a keyframe.
MAX_REPLAY_PACKETS = 300


class Producer(Emitter):
    """An incoming audio or video track. Emits `close` once, when it closes."""

    def __init__(
        self,
        kind: str,
        codec: Codec,
        send_pli: SendPli,
        *,
        send_nack: SendNack | None = None,
        media_ssrc: int | None = None,
        pli_interval: float = PLI_INTERVAL,
        split_above: int = SPLIT_ABOVE,
    ) -> None:
        super().__init__()
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.codec = codec
        self._starts_keyframe = keyframe_detector(codec.name)
        self._split = splitter(codec.name)
        self._split_above = split_above
        self._piece_size = min(PIECE_SIZE, split_above)
        self.numbering = Numbering()
        # Only video is repaired packet by packet; lost audio is concealed by the decoder.
        self.losses: LossWatch | None = LossWatch() if kind == "video" else None
        self.drops = Drops(f"{kind} producer", logger)
        self.media_ssrc = media_ssrc
        self._ssrc_seen_at: float | None = None  # when media_ssrc last sent a packet
        self.closed = False
        self.rendition = 0  # 0: the publisher's full stream; higher: lighter ones
        self.consumers: dict[str, Consumer] = {}
        # Consumers moving here from another rendition, waiting for our next keyframe.
        self.waiting: dict[str, Consumer] = {}
        self.bitrate: float | None = None  # bits per second over the last second or so
        self._window_start = 0.0
        self._window_bytes = 0
        self.packets_received = 0
        self.keyframes_seen = 0
        self.plis_sent = 0
        self.nacks_sent = 0
        self.packets_split = 0
        self.last_packet_at: float | None = None
        self._send_pli = send_pli
        self._send_nack = send_nack
        self._pli_interval = pli_interval
        self._last_pli_at = -1e9
        self._pli_timer: asyncio.TimerHandle | None = None
        self._pli_waiting_for_ssrc = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._event_loop = asyncio.get_event_loop()
        self._left_alone: asyncio.Future[None] | None = None  # while retiring
        # The most recent keyframe's packets, and every packet since (None once too many).
        self._keyframe: list[RtpPacket] = []
        self._since_keyframe: list[RtpPacket] | None = []

    @property
    def replay(self) -> tuple[list[RtpPacket], bool]:
        """What lets a new consumer start now: the last keyframe, and every packet since
        when we still have them all. The flag says whether the packets reach the live edge."""
        if not self._keyframe:
            return [], False
        if self._since_keyframe is None:
            return list(self._keyframe), False
        return self._keyframe + self._since_keyframe, True

    def squeezed_replay(self) -> tuple[list[tuple[RtpPacket, int]], bool]:
        """The replay, each packet with the timestamp adjustment that squeezes its frames
        to one clock tick apart just behind the live edge: the decoder catches up at
        once and the player adds no delay. The flag is the replay's own."""
        packets, reaches_live = self.replay
        if not packets:
            return [], reaches_live
        frames = list(dict.fromkeys(p.timestamp for p in packets))
        newest = frames[-1]
        position = {ts: len(frames) - 1 - i for i, ts in enumerate(frames)}
        squeezed = [
            (p, (newest - p.timestamp - position[p.timestamp]) & 0xFFFFFFFF) for p in packets
        ]
        return squeezed, reaches_live

    def receive(self, packet: RtpPacket) -> None:
        """Hand one packet from the publisher on to every consumer. Called per packet.

        Whatever goes wrong with one packet costs that packet only: this runs inside
        aiortc's receive path, where an exception would stop the whole session."""
        if self.closed or not packet.payload:
            return
        try:
            self._receive(packet)
        except Exception as exc:
            self.drops.count("failed", repr(exc))

    def _receive(self, packet: RtpPacket) -> None:
        self.packets_received += 1
        now = self.last_packet_at = self._event_loop.time()
        self._window_bytes += len(packet.payload)
        if now - self._window_start >= 1.0:
            if self._window_start:
                self.bitrate = self._window_bytes * 8 / (now - self._window_start)
            self._window_start, self._window_bytes = now, 0
        if packet.ssrc != self.media_ssrc and not self._adopt(packet.ssrc, now):
            self.drops.count("packet from a second SSRC")
            return
        self._ssrc_seen_at = now
        if self.losses is not None:
            self._watch_losses(packet.sequence_number, now)
        pieces = self._pieces(packet)
        if pieces is None:
            return
        first = self.numbering.place(packet.sequence_number, len(pieces))
        if first is None:
            self.drops.count("late oversized packet: no room to split it")
            return
        if len(pieces) == 1:
            packet.sequence_number = first
            self._forward(packet)
            return
        self.packets_split += 1
        last = len(pieces) - 1
        for i, payload in enumerate(pieces):
            piece = RtpPacket(
                payload_type=packet.payload_type,
                marker=packet.marker if i == last else 0,
                sequence_number=(first + i) & 0xFFFF,
                timestamp=packet.timestamp,
                ssrc=packet.ssrc,
                payload=payload,
            )
            self._forward(piece)

    def _adopt(self, ssrc: int, now: float) -> bool:
        """Whether to follow a new SSRC: only when ours never sent a packet (the offer may
        name another) or has been silent a while (an encoder restarted). Two interleaved
        streams on one track would corrupt every hall's picture."""
        seen = self._ssrc_seen_at
        if seen is not None and now - seen < SSRC_SILENCE:
            return False
        if seen is not None:  # a new sequence space: start numbering and consumers afresh
            self.numbering = Numbering()
            if self.losses is not None:
                self.losses = LossWatch()
            self._keyframe, self._since_keyframe = [], []
            for consumer in list(self.consumers.values()):
                consumer.source_restarted()
        self.media_ssrc = ssrc
        if self._pli_waiting_for_ssrc:
            self._pli_waiting_for_ssrc = False
            self._send_pli_now()
        return True

    def _pieces(self, packet: RtpPacket) -> list[bytes] | None:
        """The payloads to forward for `packet`: itself, or its pieces when it is too large."""
        if len(packet.payload) <= self._split_above:
            return [packet.payload]
        pieces = self._split(packet.payload, self._piece_size) if self._split else None
        if not pieces:
            self.drops.count(f"{len(packet.payload)}-byte payload too large to send")
        return pieces

    def _forward(self, packet: RtpPacket) -> None:
        is_key = self._starts_keyframe(packet.payload)
        if self.kind == "video":
            self._remember_keyframe(packet, is_key)
        for consumer in list(self.consumers.values()):
            try:
                consumer.push(packet, is_key)
            except Exception as exc:  # one consumer's fault must not starve the others
                consumer.drops.count("failed to queue", repr(exc))
        if is_key and self.waiting:
            for consumer in list(self.waiting.values()):
                del self.waiting[consumer.id]
                consumer.switch_at_keyframe(self, packet)

    def _watch_losses(self, seq: int, now: float) -> None:
        assert self.losses is not None
        losses = self.losses
        burst = losses.arrived(unwrap(seq, losses.highest), now)
        again, give_up = losses.due(now)
        if again:
            self._nack([n & 0xFFFF for n in again])
        if burst or give_up:
            self.request_keyframe()

    def nack(self, forwarded: list[int]) -> None:
        """A subscriber lost these (producer-numbered) packets and we no longer have them:
        ask the publisher, unless we asked for them very recently."""
        if self.closed or self.losses is None:
            return
        now = self._event_loop.time()
        losses = self.losses
        wanted = []
        for seq in forwarded:
            origin = self.numbering.origin(seq)
            if losses.should_ask(unwrap(origin, losses.highest), now):
                wanted.append(origin)
        if wanted:
            self._nack(wanted)

    def _nack(self, seqs: list[int]) -> None:
        if self._send_nack is None or self.media_ssrc is None:
            return
        self.nacks_sent += 1
        self._spawn(self._send_nack(self.media_ssrc, sorted(set(seqs))))

    def _remember_keyframe(self, packet: RtpPacket, is_key: bool) -> None:
        current = self._keyframe[0].timestamp if self._keyframe else None
        if is_key and current != packet.timestamp:
            self.keyframes_seen += 1
            self._keyframe = [packet]
            self._since_keyframe = []
        elif current == packet.timestamp:
            self._keyframe.append(packet)  # the rest of the keyframe (e.g. SPS, then IDR)
        elif self._keyframe and self._since_keyframe is not None:
            if len(self._since_keyframe) < MAX_REPLAY_PACKETS:
                self._since_keyframe.append(packet)
            else:
                self._since_keyframe = None

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per interval; extra asks coalesce."""
        if self.closed or self.kind != "video":
            return
        wait = self._last_pli_at + self._pli_interval - self._event_loop.time()
        if wait <= 0:
            self._send_pli_now()
        elif self._pli_timer is None:
            self._pli_timer = self._event_loop.call_later(wait, self._send_pli_now)

    def _send_pli_now(self) -> None:
        self._pli_timer = None
        if self.closed:
            return
        if self.media_ssrc is None:
            # Chromium sends RTX padding before media; wait for the media SSRC.
            self._pli_waiting_for_ssrc = True
            return
        self._last_pli_at = self._event_loop.time()
        self.plis_sent += 1
        self._spawn(self._send_pli(self.media_ssrc))

    def _spawn(self, feedback: Awaitable[None]) -> None:
        """Send RTCP feedback to the publisher without waiting for it."""
        task = asyncio.ensure_future(feedback)
        self._tasks.add(task)
        task.add_done_callback(self._feedback_done)

    def _feedback_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("feedback not sent: %s", task.exception())

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer

    def add_waiting(self, consumer: Consumer) -> None:
        """`consumer` moves here at our next keyframe (it calls back switch_at_keyframe)."""
        self.waiting[consumer.id] = consumer

    def remove_consumer(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        self.waiting.pop(consumer.id, None)
        left_alone = self._left_alone
        if left_alone is not None and not left_alone.done() and not self.finishing:
            left_alone.set_result(None)

    @property
    def finishing(self) -> bool:
        """Whether a consumer that is leaving us still finishes a frame of ours."""
        return any(c.changing_source for c in self.consumers.values())

    async def retire(self, timeout: float) -> None:
        """Close once no consumer is left finishing a frame of ours, or after `timeout`.

        Consumers leaving us (the publisher was replaced, or its stream ends) move
        on as soon as the frame they have half sent is finished; closing at once
        would cut it, and a cut frame decodes as a damaged picture."""
        try:
            if not self.closed and self.finishing:
                if self._left_alone is None:
                    self._left_alone = self._event_loop.create_future()
                await asyncio.wait_for(asyncio.shield(self._left_alone), timeout)
        except TimeoutError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Close, idempotently; consumers follow and wait for the next producer."""
        if self.closed:
            return
        self.closed = True
        if self._pli_timer is not None:
            self._pli_timer.cancel()
            self._pli_timer = None
        for consumer in list(self.consumers.values()) + list(self.waiting.values()):
            try:
                consumer.producer_closed(self)
            except Exception:
                logger.exception("consumer failed to follow producer close")
        self.consumers.clear()
        self.waiting.clear()
        if self._left_alone is not None and not self._left_alone.done():
            self._left_alone.set_result(None)
        self._keyframe = []
        self._since_keyframe = []
        self.emit("close")
        self.remove_all_listeners()
