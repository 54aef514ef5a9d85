"""Recording at the edge: the config section, the free-space refusal, auto start, a closed
meeting's recording, the spoken notice, and recordings a dead bridge left behind."""

from __future__ import annotations

import io
import json
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from media.recording import Recording, RecordingInfo, mark_interrupted, recordings_of
from tests.peers import wait_for
from tests.test_floor_media import Page
from tests.tones import tone_share
from web.app import create_app
from web.config import Settings, load_settings
from web.errors import ConfigError
from web.eventlog import EventLog
from web.notice import chime


def settings_with(tmp_path: Path, recording: dict[str, Any]) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "recording": recording,
        },
    )


def test_the_recording_section_has_defaults_and_names_a_bad_entry(tmp_path: Path) -> None:
    assert settings_with(tmp_path, {}).recording.auto is False
    assert settings_with(tmp_path, {}).recording.min_free_gib == 2.0
    assert settings_with(tmp_path, {"auto": True, "min_free_gib": 0}).recording.auto
    for bad, key in (
        ({"auto": "yes"}, "auto"),
        ({"min_free_gib": -1}, "min_free_gib"),
        ({"keep": 3}, "keep"),
    ):
        with pytest.raises(ConfigError, match=f"recording.{key}|{key}"):
            settings_with(tmp_path, bad)


async def chair_page(client: TestClient, settings: Settings) -> Page:
    page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    await wait_for(lambda: bool(page.state), 5, "the first state")
    return page


async def test_below_the_free_space_threshold_recording_refuses_and_says_why(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, {"min_free_gib": 99999})
    client = await aiohttp_client(create_app(settings))
    page = await chair_page(client, settings)
    try:
        await page.send(type="open-meeting")
        await wait_for(lambda: page.state.get("meeting") is not None, 5, "the meeting")
        await page.send(type="record-start")
        await wait_for(lambda: bool(page.errors), 5, "the refusal")
        error = page.errors[0]
        assert error["code"] == "no-space"
        assert "GiB" in error["message"] and "99999" in error["message"]
        assert page.state["recording"] is None
        assert not (settings.data_dir / "recordings").exists()
    finally:
        await page.close()


async def test_auto_records_every_meeting_and_closing_it_stops_the_recording(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, {"auto": True, "min_free_gib": 0})
    client = await aiohttp_client(create_app(settings))
    page = await chair_page(client, settings)
    try:
        await page.send(type="open-meeting", title="Họp dân")
        await wait_for(lambda: bool(page.state.get("recording")), 5, "the automatic recording")
        meeting_id, recording_id = page.state["meeting"]["id"], page.state["recording"]["id"]
        await page.send(type="close-meeting")
        await wait_for(lambda: page.state.get("meeting") is None, 5, "the close")
        assert page.state["recording"] is None
        assert page.state["recording_stopped"]["reason"] == "meeting-closed"
        folder = Recording.folder(settings.data_dir, meeting_id, recording_id)
        await wait_for(lambda: Recording.load(folder).state == "complete", 5, "the files closed")
        assert Recording.load(folder).reason == "meeting-closed"
    finally:
        await page.close()


async def test_the_notice_is_a_chime_then_the_spoken_line(client: TestClient) -> None:
    response = await client.get("/recording-notice.wav")
    assert response.status == 200 and response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(await response.read())) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), np.int16)
    chime_length = len(chime(rate))
    assert tone_share_at(samples[: int(rate * 0.3)], 1318.5, rate) > 0.5  # the first bell
    spoken = samples[chime_length:]
    # espeak-ng said a whole line (Debian's espeak-ng; without it the chime stands alone).
    assert len(spoken) > rate * 1.0 and np.abs(spoken).max() > 1000
    again = await client.get("/recording-notice.wav")
    assert await again.read() == await response.read()  # rendered once, kept


def tone_share_at(samples: np.ndarray, freq: float, rate: int) -> float:
    if rate == 48000:
        return tone_share(samples, freq)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - freq) < 30].sum() / spectrum[1:].sum())


def test_a_recording_a_dead_bridge_left_is_listed_as_interrupted(tmp_path: Path) -> None:
    folder = Recording.folder(tmp_path, "m-1", "r-1")
    Recording.save(RecordingInfo("m-1", "r-1", time.time() - 60, folder=folder))
    (folder / "chair.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
    done = Recording.folder(tmp_path, "m-1", "r-0")
    Recording.save(
        RecordingInfo(
            "m-1", "r-0", time.time() - 120, time.time() - 100, "complete", "stopped", folder=done
        )
    )
    marked = mark_interrupted(tmp_path)
    assert [m.recording_id for m in marked] == ["r-1"]
    listed = recordings_of(tmp_path, "m-1")
    assert [(r.recording_id, r.state) for r in listed] == [
        ("r-0", "complete"),
        ("r-1", "interrupted"),
    ]
    assert listed[1].stopped_at == pytest.approx((folder / "chair.mkv").stat().st_mtime, abs=1)
    assert json.loads((folder / "recording.json").read_text())["state"] == "interrupted"
    assert mark_interrupted(tmp_path) == []  # once


async def test_a_bridge_that_stops_while_recording_logs_it_interrupted_and_closes_the_files(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, {"min_free_gib": 0})
    client = await aiohttp_client(create_app(settings))
    page = await chair_page(client, settings)
    await page.send(type="open-meeting")
    await wait_for(lambda: page.state.get("meeting") is not None, 5, "the meeting")
    await page.send(type="record-start")
    await wait_for(lambda: bool(page.state.get("recording")), 5, "the recording")
    meeting_id, recording_id = page.state["meeting"]["id"], page.state["recording"]["id"]
    await page.close()
    await client.close()  # the app's cleanup: what SIGTERM and Ctrl+C run
    info = Recording.load(Recording.folder(settings.data_dir, meeting_id, recording_id))
    assert (info.state, info.reason) == ("interrupted", "interrupted")
    log = EventLog(settings.data_dir)
    try:
        kinds = [
            (e.event.__class__.__name__, getattr(e.event, "reason", None))
            for e in log.events(meeting_id)
        ]
    finally:
        log.close()
    assert kinds[-1] == ("RecordingStopped", "interrupted")


async def test_a_recordings_folder_that_cannot_be_made_stops_the_recording_with_an_error(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, {"min_free_gib": 0})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "recordings").write_text("not a folder")  # root ignores modes
    client = await aiohttp_client(create_app(settings))
    page = await chair_page(client, settings)
    try:
        await page.send(type="open-meeting")
        await wait_for(lambda: page.state.get("meeting") is not None, 5, "the meeting")
        await page.send(type="record-start")
        await wait_for(lambda: page.state.get("recording_stopped") is not None, 5, "the failure")
        assert page.state["recording_stopped"]["reason"] == "error"
        assert page.state["recording"] is None and page.state["meeting"] is not None
    finally:
        await page.close()
