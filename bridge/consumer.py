"""One track going to one subscriber, renumbered into its own space and sent as it arrives.

Each consumer rewrites SSRC, sequence numbers and timestamps into its own
space (bridge/renumbering.py), so its subscriber sees one unbroken stream across
publishers and the keyframe waits in between. Packets go out the moment the
producer hands them over, in the same call: no queue, no task, no await per
packet. A consumer whose way out is stuck drops packets and waits for the next
keyframe: it never holds more than a bounded amount of media, and it never
slows the other consumers. A packet it cannot send costs that packet, not the
session.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from aiortc.rtp import RtpPacket

from .codec import Codec
from .drops import Drops
from .emitter import Emitter
from .picker import RenditionPicker
from .portqueue import (
    MAX_FAILURES_IN_A_ROW,
    MAX_QUEUE_DELAY,
    DirectPort,
    PacketPort,
    QueuedPort,
    direct,
)
from .producer import Producer
from .renumbering import Renumbering
from .switching import RenditionSwitch

__all__ = ["MAX_FAILURES_IN_A_ROW", "Consumer", "DirectPort", "PacketPort"]

logger = logging.getLogger(__name__)

# A half-sent frame of a publisher we leave is finished within this, or cut.
FINISH_FRAME_TIMEOUT = 0.2


class Consumer(Emitter):
    """Emits `close` once; `incompatible` (no payload) when attached to a codec it can't
    take; `renditionchange` (read `.rendition`) when it moves to another rendition."""

    def __init__(
        self,
        kind: str,
        port: DirectPort | PacketPort,
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
        self.switch = RenditionSwitch(self)
        self.started = False
        self.closed = False
        self.packets_sent = 0
        self.frames_sent = 0
        self.packets_dropped = 0
        self.queue_resets = 0
        self.keyframe_requests = 0
        self.nacks_passed_upstream = 0
        self.drops = Drops(f"{kind} consumer", logger)
        self.numbers = Renumbering(codec.clock_rate)
        self._event_loop = asyncio.get_event_loop()
        self._port = direct(
            port, kind, max_queue_packets, max_queue_delay, self.drops, self._broken
        )
        self._sending = False  # started, and the port knows its parameters
        self._waiting_for_port: asyncio.Task[None] | None = None
        self._replay = replay
        self._need_keyframe = kind == "video"
        self._failures_in_a_row = 0
        self._mid_frame = False  # the last packet sent did not end its frame
        # Runs once the half-sent frame is finished: the move to another publisher.
        self._after_frame: Callable[[], None] | None = None
        self._finish_timer: asyncio.TimerHandle | None = None

    @property
    def last_sent_at(self) -> float | None:
        """The event loop's time when the newest packet went out (None: none yet)."""
        return self.numbers.last_sent_at

    @property
    def picker(self) -> RenditionPicker:
        return self.switch.picker

    @property
    def changing_source(self) -> bool:
        """Whether we finish a frame of the producer we are leaving."""
        return self._after_frame is not None

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
        """Follow nothing: send no more packets (after the frame half sent, if any)."""
        self.renditions = []
        self._after_current_frame(self.detach)

    def attach(self, producer: Producer) -> None:
        """Follow `producer` from its next keyframe on (after the frame of the current
        one that is half sent, if any), continuing our own numbering."""
        if self.closed:
            return
        if not self.accepts(producer):
            self.detach()
            self.emit("incompatible")
            return
        if producer is self.producer and self._after_frame is None:
            return
        self._after_current_frame(lambda: self._take(producer))

    def _after_current_frame(self, then: Callable[[], None]) -> None:
        """Run `then` now, or once the frame half sent is finished: a subscriber decodes a
        frame cut short as a damaged picture (aiortc does; a browser drops it)."""
        self.switch.cancel()
        if self._mid_frame and self.producer is not None and not self.producer.closed:
            self._after_frame = then
            if self._finish_timer is None:
                self._finish_timer = self._event_loop.call_later(
                    FINISH_FRAME_TIMEOUT, self._frame_finished
                )
            return
        self._after_frame = None
        then()

    def _frame_finished(self) -> None:
        if self._finish_timer is not None:
            self._finish_timer.cancel()
            self._finish_timer = None
        then, self._after_frame = self._after_frame, None
        if then is not None and not self.closed:
            then()

    def _take(self, producer: Producer, keyframe: RtpPacket | None = None) -> None:
        """Follow `producer` from `keyframe` on, or from its replay (or next keyframe)."""
        self.detach()
        if producer.closed:
            return
        self.producer = producer
        producer.add_consumer(self)
        self.numbers.new_source()
        self._need_keyframe = self.kind == "video" and keyframe is None
        if keyframe is not None:
            self.push(keyframe, True)
        elif self._sending:
            self._prime()

    def detach(self) -> None:
        """Stop following the producer, at once."""
        self.switch.cancel()
        if self._finish_timer is not None:
            self._finish_timer.cancel()
            self._finish_timer = None
        self._after_frame = None
        self._mid_frame = False
        if self.producer is not None:
            self.producer.remove_consumer(self)
            self.producer = None

    def producer_closed(self, producer: Producer) -> None:
        self.switch.producer_closed(producer)
        if producer in self.renditions:
            self.renditions.remove(producer)
        if self.producer is producer:
            if self._after_frame is not None:  # its frame will never be finished now
                self._mid_frame = False
                self._frame_finished()
                return
            self.producer = None
            self._mid_frame = False
            if self.renditions:  # e.g. only the light stream ended: fall back to the full one
                self.attach(self.renditions[0])

    def source_restarted(self) -> None:
        """The producer's publisher restarted its stream (a new SSRC, new numbering): go on
        from its next keyframe as if it were a new producer."""
        self.numbers.new_source()
        self._mid_frame = False
        self._need_keyframe = self.kind == "video"

    # -- renditions (bridge/switching.py) -----------------------------------------------

    def link_report(self, fraction_lost: float) -> None:
        """The subscriber's receiver report for this stream."""
        self.switch.link_report(fraction_lost, self._event_loop.time())

    def link_estimate(self, bitrate: float) -> None:
        """The subscriber's REMB."""
        self.switch.link_estimate(bitrate, self._event_loop.time())

    def switch_at_keyframe(self, producer: Producer, packet: RtpPacket) -> None:
        """`producer`, which we wait for, starts a keyframe: move to it on this very packet."""
        self.switch.at_keyframe(producer, packet)

    def move_to(self, producer: Producer, keyframe: RtpPacket) -> None:
        """Follow another rendition from `keyframe`, its keyframe's first packet, on."""
        self._take(producer, keyframe)
        self.emit("renditionchange")

    # -- sending -------------------------------------------------------------------------

    def start(self) -> None:
        """Begin sending: the subscriber's transport is up."""
        if self.started or self.closed:
            return
        self.started = True
        if self._port.started:
            self._begin()
        else:
            self._waiting_for_port = asyncio.ensure_future(self._wait_for_port())

    async def _wait_for_port(self) -> None:
        while not self._port.started:
            await asyncio.sleep(0.005)
        self._begin()

    def _begin(self) -> None:
        if self.closed:
            return
        self._sending = True
        self._prime()

    def _prime(self) -> None:
        """Start the picture at once from the producer's replay, and ask for a fresh keyframe."""
        if self.producer is None or self.kind != "video":
            return
        packets, reaches_live = self.producer.squeezed_replay() if self._replay else ([], False)
        if packets:
            self._need_keyframe = False
            for packet, adjust in packets:
                self._forward(packet, adjust)
            # Without every packet since the keyframe, what comes next can't be decoded.
            self._need_keyframe = self._need_keyframe or not reaches_live
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
        wanted = self.numbers.source_numbers(lost)
        if wanted:
            self.nacks_passed_upstream += 1
            self.producer.nack(wanted)

    def push(self, packet: RtpPacket, starts_keyframe: bool) -> None:
        """Send one packet from the producer. Called per packet per consumer: keep it cheap."""
        if not self._sending:
            return
        if self._need_keyframe:
            if not starts_keyframe:
                self.packets_dropped += 1
                return
            self._need_keyframe = False
        self._forward(packet, 0)
        if self._after_frame is not None and not self._mid_frame:
            self._frame_finished()

    def _forward(self, packet: RtpPacket, adjust: int) -> None:
        now = self._event_loop.time()
        numbers = self.numbers.place(
            packet.sequence_number, (packet.timestamp + adjust) & 0xFFFFFFFF, now
        )
        if numbers is None:
            self.drops.count("late packet from before a skip")
            return
        seq, timestamp = numbers
        try:
            sent = self._port.forward(packet, seq, timestamp)
        except ConnectionError:
            self._broken()
            return
        except Exception as exc:  # costs this packet, unless every one fails
            self._failed(exc)
            return
        if not sent:
            self._stuck()
            return
        self.numbers.sent(seq, timestamp, now)
        self._failures_in_a_row = 0
        self._mid_frame = not packet.marker and self.kind == "video"
        self.packets_sent += 1
        if packet.marker:
            self.frames_sent += 1

    def _stuck(self) -> None:
        """The way out refused a packet: drop what waits, and (video) wait for a keyframe."""
        cleared = self._port.clear()
        if cleared is None:
            self.numbers.skip(cut=self._mid_frame)
        else:  # what waited in the port was not sent: the port knows where the wire stopped
            self.packets_dropped += self.numbers.unsent(cleared.first)
            self.numbers.skip(cut=cleared.gap)
        self.packets_dropped += 1
        self._mid_frame = False
        self.queue_resets += 1
        if self.kind == "video":
            self._need_keyframe = True
            self.request_keyframe()
            self.switch.stalled(self._event_loop.time())

    def _failed(self, exc: Exception) -> None:
        self.drops.count("not sent", repr(exc))
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            logger.error("consumer %s: every packet fails (%r); closing", self.id, exc)
            self._broken()

    def _broken(self) -> None:
        """A consumer that cannot send is of no use to its hall: close it (and so its
        session), so the TV sees the drop and rejoins instead of freezing."""
        if not self.closed:
            self._sending = False
            self._event_loop.call_soon(self.close)

    def close(self) -> None:
        """Stop, idempotently. Emits `close` and drops every listener."""
        if self.closed:
            return
        self.closed = True
        self._sending = False
        self.detach()
        if isinstance(self._port, QueuedPort):
            self._port.close()
        if self._waiting_for_port is not None:
            self._waiting_for_port.cancel()
        self.emit("close")
        self.remove_all_listeners()
