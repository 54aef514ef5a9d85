"""The one stage of a meeting: at most one producer per kind, and every consumer.

Consumers of a kind follow whichever producer of that kind is current, so a
chair who reconnects, or a second chair device, takes over every hall at once.
"""

from __future__ import annotations

from .consumer import Consumer
from .emitter import Emitter
from .producer import Producer


class Router(Emitter):
    """Emits `producerchange` (no payload) when the current producers change."""

    def __init__(self) -> None:
        super().__init__()
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self.closed = False

    def set_producer(self, producer: Producer) -> None:
        """Make `producer` current for its kind; the one it replaces closes."""
        old = self.producers.get(producer.kind)
        self.producers[producer.kind] = producer
        producer.once("close", lambda: self._producer_closed(producer))
        for consumer in list(self.consumers.values()):
            if consumer.kind == producer.kind:
                consumer.attach(producer)
        if old is not None and old is not producer:
            old.close()
        self.emit("producerchange")

    def _producer_closed(self, producer: Producer) -> None:
        if self.producers.get(producer.kind) is producer:
            del self.producers[producer.kind]
            self.emit("producerchange")

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer
        consumer.once("close", lambda: self.consumers.pop(consumer.id, None))
        producer = self.producers.get(consumer.kind)
        if producer is not None:
            consumer.attach(producer)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for consumer in list(self.consumers.values()):
            consumer.close()
        for producer in list(self.producers.values()):
            producer.close()
        self.emit("close")
        self.remove_all_listeners()
