"""The loudspeaker endpoints at the edge: keys, status reports, the cap of listeners, a stalled
receiver, and the clusters' state as the panel, /metrics and the history see it."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.peers import wait_for
from tests.speakerclients import Page, StalledReader, decode_bytes
from web.config import Settings, load_settings

pytestmark = pytest.mark.asyncio


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
            "speaker_limits": {"listeners": 2, "stale_after": 5, "buffer_seconds": 1},
        },
    )


def keys(settings: Settings) -> tuple[str, str]:
    first, second = settings.speakers.clusters
    return first.key, second.key


async def panel(client: TestClient, settings: Settings) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/speakers?key={settings.keys.secretary}")
    assert response.status == 200
    body = await response.json()
    return {c["id"]: c for c in body["clusters"]}


async def status(client: TestClient, speaker: str, key: str, body: bytes) -> int:
    response = await client.post(
        f"/speakers/{speaker}/status?key={key}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    return response.status


async def test_a_wrong_or_missing_key_is_refused_and_logged(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    own, other = keys(settings)
    report = json.dumps({"volume": 50}).encode()
    caplog.set_level(logging.WARNING, "web.speakerhub")
    for fmt in ("mp3", "ogg"):
        assert (await client.get(f"/speakers/loa-1/stream.{fmt}")).status == 401
        assert (await client.get(f"/speakers/loa-1/stream.{fmt}?key=x{own}")).status == 403
        # One cluster's key opens only its own stream and status.
        assert (await client.get(f"/speakers/loa-1/stream.{fmt}?key={other}")).status == 403
        hall = settings.halls[0].key
        assert (await client.get(f"/speakers/loa-1/stream.{fmt}?key={hall}")).status == 403
    assert await status(client, "loa-1", other, report) == 403
    assert await status(client, "loa-2", own, report) == 403
    assert (await client.post("/speakers/loa-1/status", data=report)).status == 401
    assert (await client.get(f"/speakers?key={settings.halls[0].key}")).status == 403
    assert (await client.get(f"/speakers?key={own}")).status == 403
    logged = [r.getMessage() for r in caplog.records if r.name == "web.speakerhub"]
    assert any("another cluster's key" in line for line in logged)
    assert any("a wrong key" in line for line in logged)
    assert any("no key" in line for line in logged)
    clusters = await panel(client, settings)
    assert clusters["loa-1"]["status"] is None and clusters["loa-2"]["status"] is None


async def test_status_reports_are_kept_and_bad_ones_change_nothing(
    client: TestClient, settings: Settings
) -> None:
    own, _ = keys(settings)
    good = {"volume": 70, "signal": -67.5, "power": "mains", "firmware": "2.1.4"}
    assert await status(client, "loa-1", own, json.dumps(good).encode()) == 200
    kept = (await panel(client, settings))["loa-1"]
    assert kept["status"] == good
    assert kept["last_seen"] is not None

    # Within the second: too frequent, even when well formed.
    assert await status(client, "loa-1", own, json.dumps({"volume": 10}).encode()) == 429
    await asyncio.sleep(1.1)
    for bad in (
        b"{not json",
        b"[1, 2]",
        b"{}",
        json.dumps({"volume": 101}).encode(),
        json.dumps({"volume": "loud"}).encode(),
        json.dumps({"signal": True}).encode(),
        json.dumps({"power": "x" * 33}).encode(),
        json.dumps({"volume": 5, "shell": "rm -rf /"}).encode(),
        json.dumps({"firmware": "1.0", "pad": "x" * 5000}).encode(),  # over 4 KiB
    ):
        assert await status(client, "loa-1", own, bad) == 400, bad[:40]
    assert (await panel(client, settings))["loa-1"]["status"] == good


async def test_past_the_cap_a_listener_gets_503(client: TestClient, settings: Settings) -> None:
    own, other = keys(settings)
    opened = [await client.get(f"/speakers/loa-1/stream.mp3?key={own}") for _ in range(2)]
    try:
        assert [r.status for r in opened] == [200, 200]
        refused = await client.get(f"/speakers/loa-1/stream.ogg?key={own}")
        assert refused.status == 503
        # The cap is per cluster: another cluster still gets its stream.
        elsewhere = await client.get(f"/speakers/loa-2/stream.mp3?key={other}")
        assert elsewhere.status == 200
        elsewhere.close()
    finally:
        for response in opened:
            response.close()


async def test_a_stalled_receiver_is_dropped_and_another_keeps_playing(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    own, other = keys(settings)
    caplog.set_level(logging.WARNING, "web.speakerhub")
    assert client.server.host is not None and client.port is not None
    stalled = await StalledReader.open(
        client.server.host, client.port, f"/speakers/loa-1/stream.mp3?key={own}"
    )
    assert stalled.status == 200
    steady = await client.get(f"/speakers/loa-2/stream.mp3?key={other}")
    received = bytearray()

    async def read() -> None:
        async for chunk in steady.content.iter_any():
            received.extend(chunk)

    reading = asyncio.ensure_future(read())
    try:
        await wait_for(
            lambda: any("dropped" in r.getMessage() for r in caplog.records),
            60,
            "the stalled receiver dropped",
        )
        assert await stalled.closed_by_peer(5)
        before = len(received)
        await wait_for(lambda: len(received) > before + 8000, 10, "more audio for the other")
        # What the steady receiver got is one unbroken MP3 stream: 1152 samples per
        # 192-byte frame of 64 kbps at 48 kHz, every byte of it decodable.
        samples = decode_bytes(bytes(received))
        assert len(samples) >= len(received) // 192 * 1152 - 1152
        clusters = await panel(client, settings)
        assert clusters["loa-1"]["dropped_slow"] == 1
        assert clusters["loa-1"]["connected"] is False
        assert clusters["loa-2"]["connected"] is True
    finally:
        reading.cancel()
        steady.close()
        stalled.close()


async def test_the_panel_metrics_and_history_follow_receivers(
    client: TestClient, settings: Settings
) -> None:
    own, _ = keys(settings)
    chair = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    try:
        before = await panel(client, settings)
        assert before["loa-1"]["connected"] is False
        assert "stale" in before["loa-1"]["flags"]  # never seen

        await chair.send(type="open-meeting", title="Họp dân")
        await wait_for(lambda: chair.state.get("meeting") is not None, 5, "the meeting")
        meeting_id = chair.state["meeting"]["id"]
        receiver = await client.get(f"/speakers/loa-1/stream.mp3?key={own}")
        await receiver.content.readexactly(2000)
        on = (await panel(client, settings))["loa-1"]
        assert on["connected"] is True and on["since"] is not None
        assert isinstance(on["bytes_sent"], int) and on["bytes_sent"] >= 2000
        assert on["flags"] == []
        metrics = await (await client.get("/metrics")).text()
        assert 'commune_speaker_connected{speaker="loa-1"} 1.0' in metrics
        assert 'commune_speaker_connected{speaker="loa-2"} 0.0' in metrics
        assert 'commune_speaker_stale{speaker="loa-2"} 1.0' in metrics

        receiver.close()  # the cluster drops during the meeting
        for _ in range(50):
            if not (await panel(client, settings))["loa-1"]["connected"]:
                break
            await asyncio.sleep(0.1)
        off = (await panel(client, settings))["loa-1"]
        assert off["connected"] is False and "dropped" in off["flags"]
        metrics = await (await client.get("/metrics")).text()
        assert 'commune_speaker_dropped{speaker="loa-1"} 1.0' in metrics

        await chair.send(type="close-meeting")
        await wait_for(lambda: chair.state.get("meeting") is None, 5, "the meeting closed")
        for _ in range(30):  # the history is written on its own thread
            response = await client.get(
                f"/speakers/history?meeting={meeting_id}&key={settings.keys.chair}"
            )
            spans = (await response.json())["history"]
            if spans and spans[0]["ended_at"] is not None:
                break
            await asyncio.sleep(0.1)
        assert len(spans) == 1
        assert spans[0]["speaker"] == "loa-1"
        assert spans[0]["started_at"] <= spans[0]["ended_at"]
    finally:
        await chair.close()


async def test_a_receiver_reconnecting_at_once_gets_a_stream_that_plays(
    client: TestClient, settings: Settings
) -> None:
    own, _ = keys(settings)
    path = f"/speakers/loa-1/stream.ogg?key={own}"
    for _ in range(3):  # the last listener leaves, and the next comes in the same moment
        receiver = await client.get(path)
        head = await receiver.content.readexactly(4)
        assert head == b"OggS"
        receiver.close()
    again = await client.get(path)
    data = bytearray()
    try:
        async with asyncio.timeout(2.5):
            async for chunk in again.content.iter_any():
                data += chunk
    except TimeoutError:
        pass
    finally:
        again.close()
    # About two seconds of Ogg/Opus (silence: no meeting), all of it decodable.
    assert len(decode_bytes(bytes(data))) >= 1.5 * 48000


async def test_a_head_request_gets_the_headers_and_holds_no_listener(
    client: TestClient, settings: Settings
) -> None:
    own, _ = keys(settings)
    response = await client.head(f"/speakers/loa-1/stream.mp3?key={own}")
    assert response.status == 200 and response.headers["Content-Type"] == "audio/mpeg"
    assert (await panel(client, settings))["loa-1"]["listeners"] == 0
