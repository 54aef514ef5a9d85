"""Forwarding through the bridge with real aiortc peers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridge.bridge import Bridge
from tests.peers import start_publisher, start_viewer, wait_for


@pytest.fixture
async def bridge() -> AsyncIterator[Bridge]:
    b = Bridge(idle_timeout=3.0)
    b.start()
    yield b
    await b.close()


def publish_via(bridge: Bridge):  # type: ignore[no-untyped-def]
    async def signal(offer: str) -> str:
        return (await bridge.publish(offer, "chair")).answer

    return signal


def subscribe_via(bridge: Bridge, label: str = "hall"):  # type: ignore[no-untyped-def]
    async def signal(offer: str) -> str:
        return (await bridge.subscribe(offer, label)).answer

    return signal


async def test_six_viewers_each_receive_the_chairs_frames_and_audio(bridge: Bridge) -> None:
    publisher = await start_publisher(publish_via(bridge))
    viewers = [await start_viewer(subscribe_via(bridge, f"hall:thon-{i}")) for i in range(1, 7)]
    try:
        await wait_for(lambda: all(v.frames >= 30 for v in viewers), 20, "30 frames at every hall")
        await wait_for(
            lambda: all(v.audio_frames >= 20 for v in viewers), 10, "audio at every hall"
        )
        assert bridge.publishing.live and bridge.publishing.video_codec == "VP8"
    finally:
        for v in viewers:
            await v.close()
        await publisher.close()
