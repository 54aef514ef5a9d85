"""Issue 9's whole record, end to end, with real aiortc peers: a 30-second meeting is
recorded, two questions are granted and ended (one hall agrees to be recorded, one does
not), and the secretary's export is read back with PyAV and python-docx: the composite's
length and codecs, exactly one clip of the right length, and minutes naming both
questions, the one without consent marked as not recorded."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from pathlib import Path

import av
import docx
import pytest
from aiohttp.test_utils import TestClient

from tests.edge import chair_live, http_signal
from tests.floorpeers import start_tone_publisher
from tests.peers import Publisher, wait_for
from tests.test_floor_media import Page
from web.config import Settings

pytestmark = pytest.mark.asyncio

MEETING_SECONDS = 30.0
NOT_RECORDED = "Không ghi hình theo đề nghị của người dân"


async def question(chair: Page, hall: Page, topic: str, consent: bool, seconds: float) -> float:
    """Raise, grant, answer the consent question, speak, end; how long the floor lasted."""
    await hall.send(type="raise", topic=topic)
    await wait_for(lambda: any(e["topic"] == topic for e in chair.state.get("queue", [])), 5, topic)
    entry = next(e for e in chair.state["queue"] if e["topic"] == topic)
    await chair.send(type="grant", entry=entry["id"])
    await wait_for(
        lambda: (chair.state.get("floor") or {}).get("entry", {}).get("id") == entry["id"],
        5,
        "floor",
    )
    granted = chair.state["floor"]["granted_at"]
    await hall.send(type="consent", consent=consent)
    await wait_for(lambda: chair.state["floor"]["consent"] is consent, 5, "the consent")
    await asyncio.sleep(seconds)
    await chair.send(type="end")
    await wait_for(lambda: chair.state.get("floor") is None, 5, "the floor's end")
    return float(chair.state["now"]) - granted


def seconds_of(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        last = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return last


def codecs_of(path: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with av.open(str(path)) as container:
        return {
            s.type: (
                s.codec_context.name,
                s.codec_context.profile,
                getattr(s.codec_context, "pix_fmt", None),
            )
            for s in container.streams
        }


async def test_a_recorded_meeting_exports_one_composite_one_clip_and_minutes_of_both_questions(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    thon2, thon5 = settings.halls[1], settings.halls[4]
    publishers: list[Publisher] = []
    chair = Page(await client.ws_connect(f"/ws?key={settings.keys.chair}"))
    hall2 = Page(await client.ws_connect(f"/ws?key={thon2.key}"))
    hall5 = Page(await client.ws_connect(f"/ws?key={thon5.key}"))
    try:
        publishers.append(
            await start_tone_publisher(http_signal(client, "/whip", settings.keys.chair), 440.0, 0)
        )
        await wait_for(lambda: chair_live(client), 15, "the chair live")
        for hall, hz, index in ((thon2, 660.0, 2), (thon5, 880.0, 5)):
            publishers.append(
                await start_tone_publisher(http_signal(client, "/whip", hall.key), hz, index)
            )
        await wait_for(lambda: chair.state.get("meeting") is not None, 10, "the meeting")
        meeting_id = chair.state["meeting"]["id"]
        await chair.send(type="record-start")
        await wait_for(lambda: chair.state.get("recording") is not None, 10, "the recording")
        began = chair.state["recording"]["since"]

        await asyncio.sleep(3)
        with_consent = await question(chair, hall2, "Đường liên thôn", True, 6.0)
        await asyncio.sleep(2)
        await question(chair, hall5, "Giá điện", False, 5.0)
        await asyncio.sleep(max(0.0, began + MEETING_SECONDS - time.time()))
        await chair.send(type="close-meeting")
        await wait_for(lambda: chair.state.get("recording") is None, 10, "the recording's end")
        recorded = float(chair.state["now"]) - began
    finally:
        for publisher in publishers:
            await publisher.close()
        for page in (chair, hall2, hall5):
            await page.close()

    key = settings.keys.secretary
    started = await client.post(f"/meetings/{meeting_id}/export?key={key}")
    assert started.status == 202, await started.text()
    job = await started.json()
    for _ in range(1200):
        status = await (await client.get(f"/exports/{job['id']}?key={key}")).json()
        if status["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.25)
    assert status["state"] == "done", status
    download = await client.get(f"{status['download']}?key={key}")
    assert download.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await download.read()))
    archive.extractall(tmp_path)
    names = archive.namelist()

    videos = [tmp_path / n for n in names if n.startswith("video/")]
    assert len(videos) == 1
    composite = videos[0]
    assert abs(seconds_of(composite, "video") - recorded) < 1.0, (recorded, names)
    streams = codecs_of(composite)
    assert streams["video"][0] == "h264" and streams["video"][2] == "yuv420p"
    assert streams["video"][1] in ("Baseline", "Constrained Baseline", "Main", "High")
    assert streams["audio"][0] == "aac" and streams["audio"][1] == "LC"

    clips = [tmp_path / n for n in names if n.startswith("clips/") and n.endswith(".mp4")]
    assert len(clips) == 1, names  # Thôn 5 said no
    assert "thon-2" in clips[0].name and "duong-lien-thon" in clips[0].name
    assert abs(seconds_of(clips[0], "video") - with_consent) < 1.0

    minutes = docx.Document(str(tmp_path / "bien-ban.docx"))
    words = "\n".join(
        [p.text for p in minutes.paragraphs]
        + [cell.text for table in minutes.tables for row in table.rows for cell in row.cells]
    )
    assert "BIÊN BẢN" in words
    assert "Đường liên thôn" in words and "Giá điện" in words
    assert NOT_RECORDED in words
    assert clips[0].name in words
