"""Hand-made RTP packets and recording ports for the consumer tests.

RecordingPort takes packets the way the bridge's SenderPort does, in the producer's
call; AwaitedPort the way the program mixer's inputs do, through the consumer's queue.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from aiortc.rtp import RtpPacket

from bridge.codec import Codec
from bridge.consumer import Consumer, DirectPort, PacketPort
from bridge.producer import Producer
from bridge.router import Router

KEY = bytes([0x10, 0x00, 0x9D])  # VP8: start of partition 0, keyframe
DELTA = bytes([0x10, 0x01, 0x00])  # VP8: start of partition 0, interframe
VP8 = Codec("VP8", 90000)


class RecordingPort:
    payload_type = 100
    ssrc = 4242
    started = True

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []
        self.stuck = False  # fault injection: the way out refuses packets

    def forward(self, packet: RtpPacket, seq: int, timestamp: int) -> bool:
        if self.stuck:
            return False
        out = RtpPacket(
            payload_type=self.payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=self.ssrc,
            payload=packet.payload,
        )
        self.sent.append(out)
        return True

    def clear(self) -> None:
        return None


class AwaitedPort:
    payload_type = 100
    ssrc = 4242
    started = True

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    async def send(self, packet: RtpPacket) -> None:
        self.sent.append(packet)


async def no_pli(ssrc: int) -> None:
    return None


def packet(seq: int, ts: int, payload: bytes, ssrc: int = 1, marker: bool = True) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=payload,
        marker=int(marker),
    )


Port = TypeVar("Port", bound=DirectPort | PacketPort)


def watching(port: Port, **options: Any) -> tuple[Producer, Port, Consumer]:
    """A VP8 producer, and a started consumer of it sending to `port`."""
    producer = Producer("video", VP8, no_pli)
    consumer = Consumer("video", port, VP8, **options)
    consumer.attach(producer)
    consumer.start()
    return producer, port, consumer


def chair_watched() -> tuple[Router, RecordingPort, Consumer, Producer]:
    """A router whose chair source has a started consumer and a first publisher."""
    router = Router()
    port = RecordingPort()
    consumer = Consumer("video", port, VP8)
    router.add_consumer(consumer, "chair")
    consumer.start()
    old = Producer("video", VP8, no_pli)
    router.publish("chair", [old])
    return router, port, consumer, old


async def drain() -> None:
    for _ in range(5):
        await asyncio.sleep(0)
