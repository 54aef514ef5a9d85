"""Which of a publisher's renditions one consumer forwards, and its move to another one.

The subscriber's receiver reports and REMB say how much its link takes; the
picker turns them into a choice, and the move happens on the chosen
rendition's next keyframe, so the hall keeps showing the current rendition
until the new one can be decoded, with no gap in its numbering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiortc.rtp import RtpPacket

from .picker import RenditionPicker

if TYPE_CHECKING:
    from .consumer import Consumer
    from .producer import Producer


class RenditionSwitch:
    """One consumer's choice of rendition; `target` is the one it waits to move to."""

    def __init__(self, consumer: Consumer) -> None:
        self.picker = RenditionPicker()
        self.target: Producer | None = None  # waiting for its next keyframe
        self._consumer = consumer

    def link_report(self, fraction_lost: float, now: float) -> None:
        self.choose(self.picker.report(fraction_lost, now))

    def link_estimate(self, bitrate: float, now: float) -> None:
        renditions = self._consumer.renditions
        full = renditions[0].bitrate if renditions else None
        self.choose(self.picker.remb(bitrate, now, full))

    def stalled(self, now: float) -> None:
        self.choose(self.picker.stalled(now))

    def choose(self, choice: int) -> None:
        consumer = self._consumer
        renditions = consumer.renditions
        if len(renditions) < 2 or consumer.producer is None or consumer.changing_source:
            return
        target = renditions[min(choice, len(renditions) - 1)]
        if target is consumer.producer:
            self.cancel()
        elif target is not self.target:
            # Keep showing the current rendition until the target's next keyframe.
            self.cancel()
            self.target = target
            target.add_waiting(consumer)
            target.request_keyframe()

    def cancel(self) -> None:
        if self.target is not None:
            self.target.remove_consumer(self._consumer)
            self.target = None

    def producer_closed(self, producer: Producer) -> None:
        if self.target is producer:
            self.target = None

    def at_keyframe(self, producer: Producer, packet: RtpPacket) -> None:
        """`producer` starts a keyframe: move to it on this very packet, if it is the target."""
        consumer = self._consumer
        if self.target is not producer or consumer.closed:
            return
        self.target = None
        consumer.move_to(producer, packet)
