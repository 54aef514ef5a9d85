"""The loudspeaker streams carry the program, heard by real clients: FFmpeg's HTTP client and
demuxers (what ffplay and VLC use) decode the MP3 and Ogg/Opus streams while real aiortc
peers publish tones, and each decoded stream holds the chair's tone, and during a floor
the speaking hall's too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from tests.edge import chair_live, http_signal
from tests.floorpeers import start_tone_publisher
from tests.peers import Publisher, wait_for
from tests.speakerclients import Page, decode_url
from tests.tones import tone_share
from web.config import Settings, load_settings

pytestmark = pytest.mark.asyncio

CHAIR_HZ, THON2_HZ = 440.0, 660.0
SECONDS = 5.0
JUDGED = 3.0  # the last seconds of each decoded stretch: the first may hold the mix's start


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "speakers": [
                {"id": "loa-1", "name": "Cụm loa Thôn 1", "area": "thon-1"},
                {"id": "loa-2", "name": "Cụm loa Thôn 2", "area": "thon-2"},
            ],
        },
    )


def url(client: TestClient, settings: Settings, fmt: str, cluster: int = 0) -> str:
    speaker = settings.speakers.clusters[cluster]
    return str(client.make_url(f"/speakers/{speaker.id}/stream.{fmt}?key={speaker.key}"))


async def both_streams(client: TestClient, settings: Settings) -> dict[str, np.ndarray]:
    """SECONDS of each format, decoded at the same time; the last JUDGED seconds of each."""
    results = await asyncio.gather(
        *(asyncio.to_thread(decode_url, url(client, settings, f), SECONDS) for f in ("mp3", "ogg"))
    )
    heard = {}
    for fmt, (samples, codec) in zip(("mp3", "ogg"), results, strict=True):
        assert codec == {"mp3": "mp3float", "ogg": "opus"}[fmt] or codec.startswith(fmt[:3])
        assert len(samples) >= SECONDS * 48000 * 0.9
        heard[fmt] = samples[-int(JUDGED * 48000) :]
    return heard


async def test_streams_carry_the_chair_and_during_a_floor_the_hall_too(
    client: TestClient, settings: Settings
) -> None:
    publishers: list[Publisher] = []
    pages: list[Page] = []
    try:
        chair = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
        thon2 = Page(await client.ws_connect(f"/ws?key={settings.halls[1].key}"))
        pages += [chair, thon2]
        await chair.send(type="open-meeting", title="Họp dân")
        publishers.append(
            await start_tone_publisher(
                http_signal(client, "/whip", settings.keys.chair), CHAIR_HZ, 0
            )
        )
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        publishers.append(
            await start_tone_publisher(
                http_signal(client, "/whip", settings.halls[1].key), THON2_HZ, 2
            )
        )

        chair_only = await both_streams(client, settings)
        for fmt, samples in chair_only.items():
            assert tone_share(samples, CHAIR_HZ) > 0.5, fmt
            assert tone_share(samples, THON2_HZ) < 0.02, fmt

        await thon2.send(type="raise", topic="Đường mới")
        await wait_for(lambda: bool(chair.state.get("queue")), 5, "the raised hand")
        await chair.send(type="grant", entry=chair.state["queue"][0]["id"])
        await wait_for(lambda: chair.state.get("floor") is not None, 5, "the floor")
        await asyncio.sleep(1.0)  # the hall's jitter buffer fills in the mix

        with_floor = await both_streams(client, settings)
        for fmt, samples in with_floor.items():
            assert tone_share(samples, CHAIR_HZ) > 0.1, fmt
            assert tone_share(samples, THON2_HZ) > 0.1, fmt
    finally:
        for page in pages:
            await page.close()
        for publisher in publishers:
            await publisher.close()


async def test_streams_have_icecast_headers_and_no_length(
    client: TestClient, settings: Settings
) -> None:
    for fmt, content_type in (("mp3", "audio/mpeg"), ("ogg", "audio/ogg")):
        speaker = settings.speakers.clusters[0]
        response = await client.get(f"/speakers/{speaker.id}/stream.{fmt}?key={speaker.key}")
        try:
            assert response.status == 200
            assert response.headers["Content-Type"] == content_type
            assert response.headers["icy-name"] == "Cụm loa Thôn 1"
            assert "Cụm loa Thôn 1" in response.headers["icy-description"]
            assert "no-cache" in response.headers["Cache-Control"]
            assert "Content-Length" not in response.headers
            assert "Transfer-Encoding" not in response.headers  # raw, as Icecast sends
            first = await response.content.readexactly(4)
            # Between meetings (no chair, no mix input) the stream already carries sound.
            assert first[:4] == b"OggS" if fmt == "ogg" else first[0] == 0xFF
        finally:
            response.close()


async def test_between_meetings_the_stream_carries_silence(
    client: TestClient, settings: Settings
) -> None:
    samples: Any
    samples, _ = await asyncio.to_thread(decode_url, url(client, settings, "mp3"), 3.0)
    assert len(samples) >= 3.0 * 48000 * 0.9
    assert float(np.sqrt(np.mean(samples**2))) < 30  # silence, not noise
