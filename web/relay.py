"""Carries the room's routing out on the bridge: which source each consumer follows.

The room decides who is heard (rooms/routing.py); this module only knows each
watching session's slots (from the layout its offer asked for) and, after any
change, routes every consumer to what the room says that slot carries now.
It also owns the program audio mix: two internal consumers feed the mixer,
whose output is published as the source "mix".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from bridge.bridge import Bridge
from bridge.codec import Codec
from bridge.consumer import Consumer
from bridge.producer import Producer
from bridge.session import Session
from media.mixer import Mixer
from rooms.routing import MIX, Routing, mix_inputs, source_for

from .errors import BadRequest

logger = logging.getLogger(__name__)

PROGRAM, HALL_TV, CHAIR_GRID = "program", "hall", "chair"
OPUS = Codec("opus", 48000, {"minptime": 10, "useinbandfec": 1})


@dataclass(frozen=True)
class Slot:
    """What one received track of a watching session is for, and whose page it is."""

    name: str  # a rooms.routing slot name, e.g. "floor-audio" or "hall-video:thon-2"
    own_hall: str | None


def layout_for(kinds: Sequence[str], role: str, hall_ids: Sequence[str]) -> list[str]:
    """The slot name of each section of a watching offer, in order (docs/protocol.md,
    "Media layouts"); BadRequest for a shape this key's pages never offer."""
    videos, audios = kinds.count("video"), kinds.count("audio")
    if videos <= 1 and audios <= 1:
        return [f"program-{kind}" for kind in kinds]
    if role == "hall" and list(kinds[:4]) == ["video", "audio", "video", "audio"]:
        tv = ["chair-video", "chair-audio", "floor-video", "floor-audio"]
        if list(kinds[4:]) in ([], ["video"]):  # a fifth section carries the slides
            return tv + ["slides-video"] * len(kinds[4:])
    if role == "chair" and audios <= 1 and 1 <= videos <= len(hall_ids):
        grid = iter(hall_ids)
        return [f"hall-video:{next(grid)}" if k == "video" else "floor-audio" for k in kinds]
    raise BadRequest(
        f"this key watches one video and one audio section (the program)"
        f"{', or video, audio, video, audio[, video] (a hall TV)' if role == 'hall' else ''}"
        f"{', or one video per hall and one audio (the chair console)' if role == 'chair' else ''}"
        f"; the offer has {videos} video and {audios} audio",
        code="bad-sdp",
    )


class Relay:
    """The slots of every watching session, and the mix; `apply` re-routes them all."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.router = bridge.router
        self.routing = Routing(floor_hall=None, muted=frozenset())
        self._slots: dict[str, Slot] = {}  # consumer id → its slot
        self._mix_consumers: list[Consumer] = []
        self._mixer: Mixer | None = None
        self._mix_producer: Producer | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._mix_holders: set[str] = set()  # outside listeners of the mix (loudspeakers)

    def watch(self, session: Session, slots: Sequence[str], own_hall: str | None) -> None:
        """Give a new watching session's consumers their slots and route them now."""
        for consumer, name in zip(session.consumers, slots, strict=True):
            self._slots[consumer.id] = Slot(name, own_hall)
            consumer.once("close", lambda c=consumer: self._unwatch(c))
            self._route(consumer)
        self._mix_as_needed()

    def attach(self, consumers: Sequence[Consumer], slots: Sequence[str]) -> None:
        """Route consumers of no session (the recorder's) by slot, like a watching session's."""
        for consumer, name in zip(consumers, slots, strict=True):
            self.router.add_consumer(consumer)
            self._slots[consumer.id] = Slot(name, None)
            consumer.once("close", lambda c=consumer: self._unwatch(c))
            self._route(consumer)
            consumer.start()
        self._mix_as_needed()

    def _unwatch(self, consumer: Consumer) -> None:
        self._slots.pop(consumer.id, None)
        self._mix_as_needed()

    def publish(self, source: str, session: Session) -> None:
        """Put a publishing session's producers on air as `source`."""
        self.router.publish(source, session.producers)
        # Consumers of this source that were paused (nothing to follow) follow it now.
        self.apply(self.routing)

    def apply(self, routing: Routing) -> None:
        """Route every consumer to what `routing` says its slot carries."""
        self.routing = routing
        for consumer_id in list(self._slots):
            consumer = self.router.consumers.get(consumer_id)
            if consumer is not None:
                self._route(consumer)
        for consumer, source in zip(self._mix_consumers, mix_inputs(routing), strict=False):
            self.router.route(consumer, source)

    def slot_of(self, consumer: Consumer) -> Slot | None:
        return self._slots.get(consumer.id)

    def _route(self, consumer: Consumer) -> None:
        slot = self._slots[consumer.id]
        # The router leaves a consumer already following this source as it is.
        source = source_for(slot.name, consumer.kind, self.routing, slot.own_hall)
        self.router.route(consumer, source)

    # -- the program audio mix -----------------------------------------------------

    def hold_mix(self, holder: str, held: bool) -> None:
        """Keep the mix running for `holder` (e.g. the loudspeaker streams) while `held`."""
        if held:
            self._mix_holders.add(holder)
        else:
            self._mix_holders.discard(holder)
        self._mix_as_needed()

    def _mix_as_needed(self) -> None:
        """Mix only while some watching session has a program-audio slot, or someone
        holds it."""
        wanted = bool(self._mix_holders) or any(
            slot.name == "program-audio" for slot in self._slots.values()
        )
        if wanted and self._mixer is None:
            self._start_mix()
        elif not wanted and self._mixer is not None:
            self._stopping = asyncio.ensure_future(self._stop_mix())

    def _start_mix(self) -> None:
        async def no_keyframes(_ssrc: int) -> None:
            return None

        producer = Producer("audio", OPUS, no_keyframes)
        mixer = Mixer(2, on_packet=producer.receive)
        self._mixer, self._mix_producer = mixer, producer
        for index in range(2):
            consumer = Consumer("audio", mixer.port(index), OPUS)
            self._mix_consumers.append(consumer)
            self.router.add_consumer(consumer)
            consumer.start()
        self.router.publish(MIX, [producer])
        mixer.start()
        self.apply(self.routing)
        logger.info("program audio mix started")

    @property
    def mixer(self) -> Mixer | None:
        return self._mixer

    async def close(self) -> None:
        await self._stop_mix()

    def _stop_mix(self) -> Awaitable[None]:
        """Forget this mix at once, so one wanted again while it ends starts anew; the
        awaitable ends its thread."""
        mixer, producer = self._mixer, self._mix_producer
        self._mixer, self._mix_producer = None, None
        if mixer is not None:
            logger.info("program audio mix stopped: nobody listens")
        for consumer in self._mix_consumers:
            consumer.close()
        self._mix_consumers = []
        return self._end_mix(mixer, producer)

    async def _end_mix(self, mixer: Mixer | None, producer: Producer | None) -> None:
        if mixer is not None:
            await mixer.close()
        if producer is not None:
            producer.close()
