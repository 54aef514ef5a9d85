"""The one stage of a meeting: every published source, and every consumer and what it follows.

A source is an opaque name the caller chooses for one publisher's stream; the
router never reads meaning into it. A source may send a kind in several
renditions (a camera full and light). Each consumer follows one source, or
none (it is paused and gets nothing), on the rendition its subscriber's link
fits. Who follows what is decided outside; the router only carries it out, so
a packet of a source nobody routed to a consumer never reaches that consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from .consumer import Consumer
from .emitter import Emitter
from .producer import Producer

# A replaced producer closes once its consumers have finished the frame they half sent.
RETIRE_TIMEOUT = 0.25


class Router(Emitter):
    """Emits `producerchange` (no payload) once per change of any source's producers."""

    def __init__(self) -> None:
        super().__init__()
        # source → kind → renditions, best first
        self.sources: dict[str, dict[str, list[Producer]]] = {}
        self.consumers: dict[str, Consumer] = {}
        self.closed = False
        self._retiring: set[asyncio.Task[None]] = set()

    def renditions(self, source: str, kind: str) -> list[Producer]:
        """What `source` sends of `kind`, best first; empty while it sends none."""
        return self.sources.get(source, {}).get(kind, [])

    def producer(self, source: str, kind: str) -> Producer | None:
        """The full rendition of `source`'s `kind`, if it sends one."""
        renditions = self.renditions(source, kind)
        return renditions[0] if renditions else None

    def publish(self, source: str, producers: Iterable[Producer]) -> None:
        """Make `producers` the current ones of `source`; the ones they replace close as
        soon as no consumer is left finishing a frame of theirs."""
        by_kind: dict[str, list[Producer]] = {}
        for producer in producers:
            by_kind.setdefault(producer.kind, []).append(producer)
        kinds = self.sources.setdefault(source, {})
        replaced: list[Producer] = []
        for kind, renditions in by_kind.items():
            renditions.sort(key=lambda p: p.rendition)
            replaced += [p for p in kinds.get(kind, []) if p not in renditions]
            kinds[kind] = renditions
            for producer in renditions:
                producer.once("close", lambda p=producer: self._producer_closed(source, p))
            for consumer in list(self.consumers.values()):
                if consumer.kind == kind and consumer.source == source:
                    consumer.follow(renditions)
        for old in replaced:
            if not old.finishing:
                old.close()
                continue
            task = asyncio.ensure_future(old.retire(RETIRE_TIMEOUT))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        if by_kind:
            self.emit("producerchange")

    def _producer_closed(self, source: str, producer: Producer) -> None:
        kinds = self.sources.get(source, {})
        renditions = kinds.get(producer.kind, [])
        if producer not in renditions:
            return
        full = renditions[0] is producer
        renditions.remove(producer)
        if not renditions:
            del kinds[producer.kind]
            if not kinds:
                self.sources.pop(source, None)
        if full:  # a lighter rendition ending moves its consumers, and changes nothing else
            self.emit("producerchange")

    def add_consumer(self, consumer: Consumer, source: str | None = None) -> None:
        self.consumers[consumer.id] = consumer
        consumer.once("close", lambda: self.consumers.pop(consumer.id, None))
        self.route(consumer, source)

    def route(self, consumer: Consumer, source: str | None) -> None:
        """Make `consumer` follow `source` (None: nothing). Routing it where it already goes
        changes nothing, so callers may re-route every consumer after any change."""
        if consumer.closed or (consumer.source == source and consumer.renditions):
            return
        consumer.source = source
        renditions = self.renditions(source, consumer.kind) if source is not None else []
        if renditions:
            consumer.follow(renditions)
        else:
            consumer.pause()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for consumer in list(self.consumers.values()):
            consumer.close()
        for kinds in list(self.sources.values()):
            for renditions in list(kinds.values()):
                for producer in list(renditions):
                    producer.close()
        for task in list(self._retiring):
            task.cancel()
        self.emit("close")
        self.remove_all_listeners()
