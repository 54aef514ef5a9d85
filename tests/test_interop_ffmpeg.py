"""FFmpeg's own `whip` muxer (in PyAV's bundled FFmpeg) as the chair: halls decode what it sends.

FFmpeg offers `a=setup:passive`, audio first, and its own DTLS certificate;
it runs in a process of its own (tests/interop_ffmpeg.py), like a real encoder box.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, open_page, require_chromium
from tests.edge import app_of, http_signal, kill, publishing
from tests.interop_checks import TONE_HZ, pictures_look_right, start_stamp_viewer
from tests.peers import wait_for
from web.config import Settings
from web.keys import BRIDGE

SECONDS = 12.0
FPS = 30


def write_certificate(directory: Path, curve: ec.EllipticCurve) -> tuple[Path, Path]:
    """A self-signed certificate on `curve`, as PEM files FFmpeg's cert_file/key_file take."""
    key = ec.generate_private_key(curve)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ffmpeg-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@asynccontextmanager
async def ffmpeg(
    client: TestClient, key: str, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    url = str(client.make_url("/whip"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.interop_ffmpeg",
        url,
        f"--bearer={key}",
        "--seconds",
        str(SECONDS),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        await kill(process)


@pytest.fixture
async def p256(tmp_path: Path) -> tuple[Path, Path]:
    return write_certificate(tmp_path, ec.SECP256R1())


async def halls_decode_the_ffmpeg_chair(client: TestClient, settings: Settings) -> None:
    """Two aiortc halls get FFmpeg's pictures intact and in order, and the 440 Hz tone."""
    bridge = app_of(client)[BRIDGE]
    await wait_for(lambda: publishing(bridge).live, 20, "FFmpeg's stream live")
    halls = [
        await start_stamp_viewer(http_signal(client, "/whep", hall.key))
        for hall in settings.halls[:2]
    ]
    try:
        for hall in halls:
            await wait_for(lambda h=hall: len(h.verdicts) >= 100, 20, "100 decoded frames")  # type: ignore[misc]
            await wait_for(lambda h=hall: len(h.audio) >= 60, 10, "1.2 s of sound")  # type: ignore[misc]
            # One keyframe interval (FPS pictures) intact in a row, at least.
            damaged = [(v.number, round(v.damage)) for v in hall.verdicts if not v.intact]
            most = int(SECONDS * FPS)
            assert pictures_look_right(hall.verdicts, most, whole=True, steady=FPS), str(damaged)
            assert abs(hall.tone() - TONE_HZ) < 20
        assert publishing(bridge).video_codec == "H264"
    finally:
        for hall in halls:
            await hall.close()


async def test_ffmpeg_with_a_p256_certificate_publishes_h264_and_opus_that_halls_decode(
    client: TestClient, settings: Settings, p256: tuple[Path, Path]
) -> None:
    cert, key = p256
    async with ffmpeg(client, settings.keys.chair, "--cert", str(cert), "--cert-key", str(key)):
        await halls_decode_the_ffmpeg_chair(client, settings)


async def test_ffmpeg_with_1450_byte_packets_still_reaches_every_hall(
    client: TestClient, settings: Settings, p256: tuple[Path, Path]
) -> None:
    # Larger than SRTP can protect towards a viewer (~1356 bytes of RTP):
    # the bridge must re-split them, not drop the hall.
    cert, key = p256
    async with ffmpeg(
        client,
        settings.keys.chair,
        "--cert",
        str(cert),
        "--cert-key",
        str(key),
        "--pkt-size",
        "1450",
    ):
        await halls_decode_the_ffmpeg_chair(client, settings)


async def test_an_audio_first_ffmpeg_chair_shows_both_codecs_in_the_broadcast_state(
    client: TestClient, settings: Settings, p256: tuple[Path, Path]
) -> None:
    cert, key = p256
    async with ffmpeg(client, settings.keys.chair, "--cert", str(cert), "--cert-key", str(key)):
        async with client.ws_connect(f"/ws?key={settings.keys.secretary}") as ws:
            while True:
                message = await ws.receive_json(timeout=20)
                if message["type"] == "state" and message["broadcast"]["live"]:
                    break
            broadcast = message["broadcast"]
            assert broadcast["video_codec"] == "H264", broadcast
            assert broadcast["audio_codec"] == "opus", broadcast


async def test_ffmpeg_default_p224_certificate_fails_dtls_once_logged_and_the_session_closes(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # FFmpeg makes a P-224 certificate by itself, which the bridge's DTLS
    # (OpenSSL's default groups) refuses. What matters: one line saying why, and no leftover.
    caplog.set_level(logging.WARNING, logger="bridge.session")
    bridge = app_of(client)[BRIDGE]
    async with ffmpeg(client, settings.keys.chair):
        await wait_for(lambda: bool(bridge.sessions), 10, "FFmpeg's session")
        await wait_for(lambda: "DTLS handshake failed" in caplog.text, 15, "the DTLS error")
        await wait_for(lambda: not bridge.sessions, 10, "the session closed")
    lines = [r.getMessage() for r in caplog.records if "DTLS handshake failed" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "a=setup:passive" in lines[0]
    assert "sha-256" in lines[0]
    assert "DTLS client" in lines[0]
    assert "TLS error: OpenSSL gave no reason" in lines[0]
    assert not publishing(bridge).live


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Headless Chromium as tests/test_browser.py launches it."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


READ_NUMBERS = """async (count) => {
    // The frame number tests/pictures.py's Picture stamps on a 640 px picture: 24 bits
    // after the 40 of the send time, so one 16 px block each at the start of the
    // second row of blocks; read from each block's middle.
    const video = document.getElementById('video');
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d', {willReadFrequently: true});
    const numbers = [];
    while (numbers.length < count) {
        await new Promise((done) => video.requestVideoFrameCallback(done));
        context.drawImage(video, 0, 0);
        const pixels = context.getImageData(0, 16, 24 * 16, 16).data;
        let value = 0;
        for (let bit = 0; bit < 24; bit++) {
            let sum = 0, n = 0;
            for (let y = 4; y < 12; y++) {
                for (let x = bit * 16 + 4; x < bit * 16 + 12; x++) {
                    sum += pixels[(y * 24 * 16 + x) * 4];
                    n++;
                }
            }
            if (sum / n > 128) value += 2 ** bit;
        }
        numbers.push(value);
    }
    return numbers;
}"""


@pytest.mark.browser
async def test_a_chromium_hall_shows_the_ffmpeg_chairs_pictures_in_order(
    client: TestClient, settings: Settings, p256: tuple[Path, Path], chromium: Any
) -> None:
    cert, key = p256
    async with ffmpeg(client, settings.keys.chair, "--cert", str(cert), "--cert-key", str(key)):
        await wait_for(lambda: publishing(app_of(client)[BRIDGE]).live, 20, "FFmpeg live")
        hall = settings.halls[0]
        page = await open_page(chromium, str(client.make_url(f"/hall/{hall.id}?key={hall.key}")))
        await page.wait_for_function("() => window.hallStats.framesRendered > 45", timeout=20_000)
        numbers = await page.evaluate(READ_NUMBERS, 45)
        # Compositing may show a picture twice, but never an older one or a jump.
        gaps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
        assert all(0 <= gap <= 3 for gap in gaps), numbers
        assert 0 < numbers[0] < SECONDS * FPS, numbers
        await page.wait_for_function("() => window.hallStats.audioTracks >= 1", timeout=10_000)
        assert page.errors == []
