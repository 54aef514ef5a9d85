"""GStreamer's webrtcbin (Debian 12, GStreamer 1.22) as a WHEP viewer and as a WHIP publisher.

webrtcbin offers a=setup:actpass with an RSA certificate, so it only works
when the bridge is the DTLS server. The client is tests/interop_gst.py, run with
Debian's /usr/bin/python3, which alone has the GStreamer bindings.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import app_of, http_signal, kill, publishing
from tests.interop_checks import TONE_HZ, pictures_look_right, start_stamp_viewer
from tests.peers import start_publisher, wait_for
from web.config import Settings
from web.keys import BRIDGE

GST_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("interop_gst.py")
NEEDS = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); "
    "gi.require_version('Nice', '0.1'); from gi.repository import Gst; Gst.init(None); "
    "assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('openh264enc'); "
    "assert hasattr(Gst.Structure, '__getitem__')"
)
DEBIAN = (
    "python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
    "gstreamer1.0-nice gstreamer1.0-libav"
)
SECONDS = 8.0


@pytest.fixture(autouse=True, scope="module")
def gstreamer() -> None:
    """Skip without GStreamer's webrtcbin and Python bindings, except under CI=true."""
    found = os.path.exists(GST_PYTHON) and (
        subprocess.run([GST_PYTHON, "-c", NEEDS], capture_output=True, timeout=30).returncode == 0
    )
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"GStreamer's webrtcbin for {GST_PYTHON} is missing; install {DEBIAN}")
    pytest.skip(f"GStreamer's webrtcbin for {GST_PYTHON} is missing (apt-get install -y {DEBIAN})")


@asynccontextmanager
async def gst(
    client: TestClient, mode: str, key: str, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        GST_PYTHON,
        str(SCRIPT),
        mode,
        str(client.make_url(f"/{mode}")),
        f"--bearer={key}",
        *args,
        "--seconds",
        str(SECONDS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        await kill(process)


async def report_of(process: asyncio.subprocess.Process) -> dict[str, Any]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), SECONDS + 20)
    lines = stdout.decode().strip().splitlines()
    assert lines, f"the GStreamer client printed no report: {stderr.decode()[-2000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_a_gstreamer_whep_viewer_decodes_the_chairs_pictures(
    client: TestClient, settings: Settings, codec: str
) -> None:
    # 640 px: the stamp's bits are whole 16 px macroblocks, readable even while the
    # chair's encoder is still at its low starting bitrate.
    chair = await start_publisher(
        http_signal(client, "/whip", settings.keys.chair), codec=codec, width=640, height=480
    )
    try:
        await wait_for(lambda: publishing(app_of(client)[BRIDGE]).live, 10, "the chair live")
        async with gst(client, "whep", settings.halls[0].key) as process:
            report = await report_of(process)
    finally:
        await chair.close()
    assert report["error"] is None, report["error"]
    assert report["offer_setup"] == ["actpass"]
    assert report["answer_setup"] == ["passive"]
    assert report["codec"] == codec
    assert report["frames"] >= 60, report["frames"]
    # The chair stamps each picture's number and send time: the last ones read back
    # in order and recent.
    numbers = report["numbers"][-45:]
    gaps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
    assert all(1 <= gap <= 3 for gap in gaps), str(numbers)
    assert all(0 <= age < 5000 for age in report["ages_ms"][-45:]), report["ages_ms"][-45:]
    assert report["audio_buffers"] > 0


@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_a_gstreamer_publisher_with_its_default_1400_byte_mtu_reaches_every_hall(
    client: TestClient, settings: Settings, codec: str
) -> None:
    bridge = app_of(client)[BRIDGE]
    async with gst(client, "whip", settings.keys.chair, "--codec", codec) as process:
        await wait_for(lambda: publishing(bridge).live, 15, "GStreamer's stream live")
        assert publishing(bridge).video_codec == codec
        halls = [
            await start_stamp_viewer(http_signal(client, "/whep", hall.key))
            for hall in settings.halls[:2]
        ]
        try:
            for hall in halls:
                await wait_for(lambda h=hall: len(h.verdicts) >= 100, 15, "100 pictures")  # type: ignore[misc]
                # GStreamer draws Picture's stamp on its own texture: numbers only.
                most = int(SECONDS * 30) + 30
                tail = hall.verdicts[-45:]
                assert pictures_look_right(hall.verdicts, most, whole=False), str(tail)
                await wait_for(lambda h=hall: len(h.audio) >= 60, 10, "1.2 s of sound")  # type: ignore[misc]
                assert abs(hall.tone() - TONE_HZ) < 20
        finally:
            for hall in halls:
                await hall.close()
        report = await report_of(process)
    assert report["error"] is None, report["error"]
    assert report["answer_setup"] == ["passive"]
