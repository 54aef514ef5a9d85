"""Recording a meeting with real aiortc peers: a chair and a hall given the floor, then
every file read back with PyAV. Pictures carry their frame number and send time, each
publisher its own tone, so the checks say whose picture and voice landed where, and when."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from media.recording import Recording, recordings_of
from tests.edge import chair_live, http_signal
from tests.floorpeers import NUMBERS_PER_SOURCE, start_tone_publisher, start_watcher
from tests.peers import Publisher, StampedVideoTrack, start_publisher, wait_for
from tests.pictures import DAMAGED_TILE, TIME_BITS, Picture
from tests.recorded_media import Decoded, decode_file
from tests.test_floor_media import Page
from tests.tones import tone_share
from web.config import Settings

pytestmark = pytest.mark.asyncio

CHAIR_HZ, THON2_HZ = 440.0, 660.0
CHAIR, THON2 = 0, 2  # whose picture: frame number // NUMBERS_PER_SOURCE
PICTURE = Picture(320, 240)  # what floorpeers' cameras send


def sources(decoded: Decoded, since: float = 0.0, until: float = 1e9) -> set[int]:
    return {n // NUMBERS_PER_SOURCE for t, n, d, _ in decoded.pictures if since <= t <= until}


def damaged(decoded: Decoded) -> list[tuple[int, float, int, float]]:
    """(index, media time, number, damage) of each damaged picture."""
    return [(i, t, n, d) for i, (t, n, d, _) in enumerate(decoded.pictures) if d >= DAMAGED_TILE]


def check_clock(
    decoded: Decoded, camera: StampedVideoTrack, started_at: float, skip_before: float
) -> None:
    """Media time matches the send time within 100 ms: each picture's media time (as wall
    time) against the time its camera sent it, found by its frame number (checked whole
    against the picture). The first second of each run is skipped (a group replayed to start
    the picture). The send-to-bridge delay of a loaded test machine (encoding included) is
    the rest, so a rare late picture may pass it."""
    modulo = 1 << TIME_BITS  # stamped times are ms since the epoch mod 2**40
    errors = []
    for t, n, damage, _ in decoded.pictures:
        if t >= skip_before and damage < DAMAGED_TILE:
            apart_ms = ((started_at + t) * 1000 - camera.sent_ms[n]) % modulo
            errors.append((min(apart_ms, modulo - apart_ms) / 1000, t, n))
    ordered = sorted(e for e, _, _ in errors)
    assert ordered, "no whole picture to judge"
    median, p95 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]
    assert median < 0.05 and p95 < 0.1, [e for e in errors if e[0] >= 0.1]


async def test_recording_a_chair_and_a_hall_on_the_floor_keeps_each_picture_and_voice(
    client: TestClient, settings: Settings
) -> None:
    thon2 = settings.halls[1]
    publishers: list[Publisher] = []
    pages: list[Page] = []
    try:
        chair_page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
        thon2_page = Page(await client.ws_connect(f"/ws?key={thon2.key}"))
        pages += [chair_page, thon2_page]
        publishers.append(
            await start_tone_publisher(
                http_signal(client, "/whip", settings.keys.chair), CHAIR_HZ, CHAIR
            )
        )
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        publishers.append(
            await start_tone_publisher(http_signal(client, "/whip", thon2.key), THON2_HZ, THON2)
        )
        await thon2_page.send(type="record-start")  # a hall may not
        await wait_for(lambda: bool(thon2_page.errors), 5, "the hall's refusal")
        assert thon2_page.errors[0]["code"] == "forbidden"
        await chair_page.send(type="record-start")
        await wait_for(lambda: bool(chair_page.state.get("recording")), 5, "the recording")
        recording = chair_page.state["recording"]
        await asyncio.sleep(2.5)
        await thon2_page.send(type="raise", topic="Đường mới")
        await wait_for(lambda: bool(chair_page.state.get("queue")), 5, "the raised hand")
        await chair_page.send(type="grant", entry=chair_page.state["queue"][0]["id"])
        await wait_for(lambda: chair_page.state.get("floor") is not None, 5, "the floor")
        granted_at = chair_page.state["floor"]["granted_at"]
        await asyncio.sleep(3.0)
        await chair_page.send(type="end")
        await wait_for(lambda: chair_page.state.get("floor") is None, 5, "the floor to end")
        ended_at = time.time()
        await asyncio.sleep(1.5)
        await chair_page.send(type="record-stop")
        await wait_for(lambda: chair_page.state.get("recording") is None, 5, "the stop")
        folder = Recording.folder(
            settings.data_dir, chair_page.state["meeting"]["id"], recording["id"]
        )
        await wait_for(lambda: Recording.load(folder).state == "complete", 10, "the files closed")
        assert chair_page.errors == []
    finally:
        for page in pages:
            await page.close()
        for publisher in publishers:
            await publisher.close()

    chair_camera, hall_camera = (publisher.video for publisher in publishers)
    info = Recording.load(folder)
    assert recordings_of(settings.data_dir, info.meeting_id) == [info]
    assert info.started_at == recording["since"]
    assert info.tracks == {
        "chair": {"video": "vp8", "audio": "opus"},
        "floor": {"video": "vp8", "audio": "opus"},
        "program": {"audio": "opus"},
    }
    grant, end = granted_at - info.started_at, ended_at - info.started_at
    assert info.stopped_at is not None
    length = info.stopped_at - info.started_at

    chair = decode_file(folder / "chair.mkv", PICTURE)
    assert sources(chair) == {CHAIR}
    assert not damaged(chair), damaged(chair)  # every picture intact
    assert len(chair.pictures) >= 0.8 * 10 * length  # 10 fps, from start to stop
    assert chair.pictures[-1][0] > length - 1.0
    check_clock(chair, chair_camera, info.started_at, chair.pictures[0][0] + 1.0)
    assert tone_share(chair.samples_between(0.5, length - 0.5), CHAIR_HZ) > 0.5

    floor = decode_file(folder / "floor.mkv", PICTURE)
    assert sources(floor) == {THON2}
    assert not damaged(floor), damaged(floor)
    # The hall's turn on the recording's clock: from the logged grant to the end.
    first, last = floor.pictures[0][0], floor.pictures[-1][0]
    assert grant - 0.1 <= first <= grant + 0.5, (first, grant)
    assert end - 1.0 <= last <= end + 0.1, (last, end)
    check_clock(floor, hall_camera, info.started_at, first + 1.0)
    assert tone_share(floor.samples_between(grant + 0.5, end - 0.5), THON2_HZ) > 0.5

    program = decode_file(folder / "program.mka")
    assert program.codecs == {"audio": "opus"}
    before = program.samples_between(0.5, grant - 0.2)
    during = program.samples_between(grant + 0.5, end - 0.5)
    assert tone_share(before, CHAIR_HZ) > 0.5 and tone_share(before, THON2_HZ) < 0.05
    assert tone_share(during, CHAIR_HZ) > 0.2 and tone_share(during, THON2_HZ) > 0.2

    timeline = (folder / "timeline.jsonl").read_text().splitlines()
    assert len(timeline) >= length  # at least one sync point a second


async def test_a_watching_tv_keeps_its_picture_while_the_recorder_starts_and_stops(
    client: TestClient, settings: Settings, live_chair: Publisher
) -> None:
    """The recorder's consumers are extra subscribers: a TV's picture goes on."""
    hall = settings.halls[0]
    chair_page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    tv = await start_watcher(http_signal(client, "/whep", hall.key), ["video", "audio"])
    try:
        await wait_for(lambda: len(tv.tracks[0].numbers) > 5, 15, "the TV's picture")
        await chair_page.send(type="record-start")
        await wait_for(lambda: bool(chair_page.state.get("recording")), 5, "the recording")
        await asyncio.sleep(1.5)
        await chair_page.send(type="record-stop")
        await wait_for(lambda: chair_page.state.get("recording") is None, 5, "the stop")
        check = tv.tracks[0].pictures
        seen, decoded = check.intact, check.decoded
        await wait_for(lambda: check.intact > seen + 5, 10, "whole pictures after")
        assert check.intact - seen >= 0.8 * (check.decoded - decoded)
    finally:
        await chair_page.close()
        await tv.close()


async def test_a_recording_begun_before_an_h264_broadcast_starts_anew_in_h264(
    client: TestClient, settings: Settings
) -> None:
    """Recording before the chair broadcasts guesses VP8; OBS then sends H.264."""
    chair_page = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    publisher: Publisher | None = None
    try:
        await chair_page.send(type="open-meeting")
        await wait_for(lambda: chair_page.state.get("meeting") is not None, 5, "the meeting")
        await chair_page.send(type="record-start")
        await wait_for(lambda: bool(chair_page.state.get("recording")), 5, "the recording")
        first = chair_page.state["recording"]["id"]
        publisher = await start_publisher(
            http_signal(client, "/whip", settings.keys.chair), codec="H264"
        )
        await wait_for(
            lambda: (chair_page.state.get("recording") or {}).get("id", first) != first,
            15,
            "a new recording in the chair's codec",
        )
        second = chair_page.state["recording"]["id"]
        await asyncio.sleep(2.5)
        await chair_page.send(type="record-stop")
        await wait_for(lambda: chair_page.state.get("recording") is None, 5, "the stop")
        meeting_id = chair_page.state["meeting"]["id"]
        folder = Recording.folder(settings.data_dir, meeting_id, second)
        await wait_for(lambda: Recording.load(folder).state == "complete", 10, "the files closed")
    finally:
        await chair_page.close()
        if publisher is not None:
            await publisher.close()
    ended = Recording.load(Recording.folder(settings.data_dir, meeting_id, first))
    assert (ended.state, ended.reason) == ("complete", "codec-changed")
    info = Recording.load(folder)
    assert info.tracks["chair"]["video"] == "h264"
    chair = decode_file(folder / "chair.mkv", PICTURE)
    assert chair.codecs["video"] == "h264"
    assert len(chair.pictures) > 20
    assert all(damage < 32 for _, _, damage, _ in chair.pictures)
    assert [r.recording_id for r in recordings_of(settings.data_dir, meeting_id)] == [first, second]
