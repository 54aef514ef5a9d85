"""Between meetings a configured idle file plays in a loop on the loudspeaker streams instead
of silence; once the chair is on air the program takes over."""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path

import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from tests.edge import chair_live, http_signal
from tests.floorpeers import start_tone_publisher
from tests.peers import wait_for
from tests.speakerclients import decode_url
from tests.tones import tone_share
from web.config import Settings, load_settings

pytestmark = pytest.mark.asyncio

IDLE_HZ, CHAIR_HZ = 550.0, 440.0


def write_idle_file(path: Path, seconds: float = 1.0) -> None:
    """A stereo 44.1 kHz WAV of a tone: another rate and layout than the stream's."""
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=44100, layout="stereo")
        t = np.arange(int(44100 * seconds)) / 44100
        wave = (0.3 * 32767 * np.sin(2 * np.pi * IDLE_HZ * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(wave, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 44100
        frame.time_base = fractions.Fraction(1, 44100)
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    write_idle_file(tmp_path / "idle.wav")
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "speakers": [{"id": "loa-1", "name": "Cụm loa Thôn 1"}],
            "speaker_idle_file": str(tmp_path / "idle.wav"),
        },
    )


async def test_the_idle_file_plays_between_meetings_and_the_chair_replaces_it(
    client: TestClient, settings: Settings
) -> None:
    speaker = settings.speakers.clusters[0]
    url = str(client.make_url(f"/speakers/loa-1/stream.mp3?key={speaker.key}"))
    idle, _ = await asyncio.to_thread(decode_url, url, 3.0)  # the 1 s file, looped
    assert tone_share(idle[48000:], IDLE_HZ) > 0.5

    publisher = await start_tone_publisher(
        http_signal(client, "/whip", settings.keys.chair), CHAIR_HZ, 0
    )
    try:
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        live, _ = await asyncio.to_thread(decode_url, url, 4.0)
        assert tone_share(live[-2 * 48000 :], CHAIR_HZ) > 0.5
        assert tone_share(live[-2 * 48000 :], IDLE_HZ) < 0.02
    finally:
        await publisher.close()
