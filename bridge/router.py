"""The one stage of a meeting: the current publisher's producers, and every consumer.

A publisher may send a kind in several renditions (the chair's camera full
and light). Consumers of a kind follow whichever publisher is current, each
on the rendition its subscriber's link fits, so a chair who reconnects, or a
second chair device, takes over every hall at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from .consumer import Consumer
from .emitter import Emitter
from .producer import Producer


class Router(Emitter):
    """Emits `producerchange` (no payload) once per change of the current producers."""

    def __init__(self) -> None:
        super().__init__()
        self.producers: dict[str, Producer] = {}  # per kind, the full rendition
        self.renditions: dict[str, list[Producer]] = {}  # per kind, best first
        self.consumers: dict[str, Consumer] = {}
        self.closed = False

    def publish(self, producers: Iterable[Producer]) -> None:
        """Make `producers` current for their kinds; the ones they replace close."""
        by_kind: dict[str, list[Producer]] = {}
        for producer in producers:
            by_kind.setdefault(producer.kind, []).append(producer)
        replaced: list[Producer] = []
        for kind, renditions in by_kind.items():
            renditions.sort(key=lambda p: p.rendition)
            replaced += [p for p in self.renditions.get(kind, []) if p not in renditions]
            self.renditions[kind] = renditions
            self.producers[kind] = renditions[0]
            for producer in renditions:
                producer.once("close", lambda p=producer: self._producer_closed(p))
            for consumer in list(self.consumers.values()):
                if consumer.kind == kind:
                    consumer.follow(renditions)
        for old in replaced:
            old.close()
        if by_kind:
            self.emit("producerchange")

    def set_producer(self, producer: Producer) -> None:
        self.publish([producer])

    def _producer_closed(self, producer: Producer) -> None:
        renditions = self.renditions.get(producer.kind, [])
        if producer not in renditions:
            return
        renditions.remove(producer)
        if self.producers.get(producer.kind) is not producer:
            return  # a lighter rendition ended; its consumers moved to another
        if renditions:
            self.producers[producer.kind] = renditions[0]
        else:
            del self.producers[producer.kind]
            del self.renditions[producer.kind]
        self.emit("producerchange")

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer
        consumer.once("close", lambda: self.consumers.pop(consumer.id, None))
        renditions = self.renditions.get(consumer.kind)
        if renditions:
            consumer.follow(renditions)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for consumer in list(self.consumers.values()):
            consumer.close()
        for renditions in list(self.renditions.values()):
            for producer in list(renditions):
                producer.close()
        self.emit("close")
        self.remove_all_listeners()
