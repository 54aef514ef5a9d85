"""The recorder alone, fed real VP8/H.264 and Opus RTP packets: what its files hold when
read back with PyAV (stamped pictures, the tone, one clock), and how it takes loss."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from aiortc.rtp import RtpPacket

from media.recorder import Recorder
from media.recording import Recording, RecordingInfo, recordings_of
from tests.pictures import Picture
from tests.recorded_media import decode_file, video_packets
from tests.tones import rtp, tone_payloads, tone_share

FPS = 10


def feed(recorder: Recorder, slot: str, packets: list[tuple[float, RtpPacket]], t0: float) -> None:
    """Queue packets as if each arrived at t0 + its capture time (no waiting)."""
    queue = recorder.ports[slot].queue
    for at, p in packets:
        queue.append((t0 + at, p.sequence_number, p.timestamp, bool(p.marker), p.payload))


def new_recorder(tmp_path: Path, codec: str = "vp8") -> Recorder:
    folder = Recording.folder(tmp_path, "m-1", "r-1")
    info = RecordingInfo("m-1", "r-1", time.time(), folder=folder)
    return Recorder(info, codec)


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_chair_file_holds_the_stamped_pictures_and_tone_on_the_wall_clock(
    tmp_path: Path, codec: str
) -> None:
    recorder = new_recorder(tmp_path, codec)
    await recorder.start()
    picture = Picture(320, 240)
    t0 = recorder.info.started_at + 1.0  # the chair's first frame came a second in
    feed(recorder, "chair-video", video_packets(codec, picture, range(500, 530), FPS), t0)
    tone = rtp(tone_payloads(440, 3.0), seq=65500, ts=2**32 - 48000)  # both counters wrap
    feed(recorder, "chair-audio", [(i * 0.02, p) for i, p in enumerate(tone)], t0)
    info = await recorder.stop("stopped", time.time())

    assert info.state == "complete" and info.tracks["chair"] == {"video": codec, "audio": "opus"}
    assert Recording.load(info.folder) == info
    chair = decode_file(info.folder / "chair.mkv", picture)
    assert chair.codecs == {"video": codec, "audio": "opus"}
    assert [n for _, n, _, _ in chair.pictures] == list(range(500, 530))
    assert max(damage for _, _, damage, _ in chair.pictures) < 32  # every picture intact
    # Media time t is wall time started_at + t: the first frame sits at 1.0 s.
    assert chair.pictures[0][0] == pytest.approx(1.0, abs=0.01)
    assert chair.pictures[-1][0] == pytest.approx(1.0 + 29 / FPS, abs=0.01)
    assert tone_share(chair.samples_between(1.5, 3.5), 440) > 0.8
    lines = [json.loads(x) for x in (info.folder / "timeline.jsonl").read_text().splitlines()]
    video_sync = [x for x in lines if x["file"] == "chair.mkv" and x["stream"] == "video"]
    assert len(video_sync) >= 3  # one a second of a three-second stream
    assert all(abs(x["wall"] - (info.started_at + x["pts"])) < 0.1 for x in lines)
    assert not (info.folder / "floor.mkv").exists()  # nobody held the floor


async def test_lost_and_reordered_packets_cost_pictures_not_a_broken_one(tmp_path: Path) -> None:
    recorder = new_recorder(tmp_path)
    await recorder.start()
    picture = Picture(320, 240)
    packets = video_packets("vp8", picture, range(40), FPS)
    lost = packets[25]  # inside frame 9 or so
    shuffled = [p for p in packets if p is not lost]
    for i in range(0, len(shuffled) - 1, 7):  # late retransmissions: swapped neighbours
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    feed(recorder, "floor-video", shuffled, recorder.info.started_at)
    info = await recorder.stop("stopped", time.time())
    floor = decode_file(info.folder / "floor.mkv", picture)
    numbers = [n for _, n, _, _ in floor.pictures]
    assert numbers[:5] == [0, 1, 2, 3, 4]
    assert max(damage for _, _, damage, _ in floor.pictures) < 32  # no damaged picture written
    assert len(numbers) < 40  # the rest of the group after the loss waited for a keyframe
    assert info.tracks["floor"] == {"video": "vp8", "audio": "opus"}


async def test_program_file_is_the_mix_alone(tmp_path: Path) -> None:
    recorder = new_recorder(tmp_path)
    await recorder.start()
    tone = rtp(tone_payloads(660, 3.0))
    feed(
        recorder,
        "program-audio",
        [(i * 0.02, p) for i, p in enumerate(tone)],
        recorder.info.started_at,
    )
    info = await recorder.stop("stopped", time.time())
    program = decode_file(info.folder / "program.mka")
    assert program.codecs == {"audio": "opus"} and not program.pictures
    assert tone_share(program.samples_between(0.5, 2.5), 660) > 0.8
    assert recordings_of(tmp_path, "m-1")[0].tracks == {"program": {"audio": "opus"}}


async def test_the_writer_thread_keeps_up_while_packets_arrive_live(tmp_path: Path) -> None:
    """Packets sent through the port at their pace reach the file before stop."""
    recorder = new_recorder(tmp_path)
    await recorder.start()
    port = recorder.ports["chair-video"]
    picture = Picture(320, 240)
    begun = time.time()
    for at, packet in video_packets("vp8", picture, range(15), FPS):
        await asyncio.sleep(max(0.0, begun + at - time.time()))
        await port.send(packet)
    await asyncio.sleep(0.6)
    assert (recorder.info.folder / "chair.mkv").stat().st_size > 0
    info = await recorder.stop("stopped", time.time())
    numbers = [n for _, n, _, _ in decode_file(info.folder / "chair.mkv", picture).pictures]
    assert numbers == list(range(15))
