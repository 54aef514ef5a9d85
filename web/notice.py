"""The sound every hall TV plays when recording starts: a short chime, then the spoken line
"Cuộc họp bắt đầu được ghi hình". Rendered once with Debian's espeak-ng (Vietnamese voice)
into data_dir and kept; without espeak-ng the chime alone says it. Served to any page.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
from aiohttp import web

logger = logging.getLogger(__name__)

LINE = "Cuộc họp bắt đầu được ghi hình"
VOICE = "vi"
# The file's name changes with what it says, so a changed line is rendered anew.
FILE_NAME = "recording-notice-v1.wav"
RATE = 22050  # espeak-ng's own rate; the chime is made at it too


def chime(rate: int = RATE) -> np.ndarray:
    """Two soft bell tones (E6 then C6), 0.9 s, as int16: heard over a room's murmur."""
    parts = []
    for freq, length in ((1318.5, 0.35), (1046.5, 0.55)):
        t = np.arange(int(rate * length)) / rate
        bell = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t)
        parts.append(bell * np.exp(-t * 5.0) * np.minimum(1.0, t * 200))
    wave_ = np.concatenate(parts + [np.zeros(int(rate * 0.25))])
    return (wave_ / np.abs(wave_).max() * 0.5 * 32767).astype(np.int16)


def spoken(text: str = LINE, voice: str = VOICE) -> tuple[np.ndarray, int] | None:
    """`text` read by espeak-ng as int16 samples and their rate; None without espeak-ng."""
    program = shutil.which("espeak-ng")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-v", voice, "-s", "150", "--stdout", text],
            capture_output=True,
            check=True,
            timeout=30,
        )
        with wave.open(io.BytesIO(done.stdout)) as reader:
            rate = reader.getframerate()
            samples = np.frombuffer(reader.readframes(reader.getnframes()), np.int16)
    except (OSError, subprocess.SubprocessError, wave.Error, EOFError) as exc:
        logger.warning("espeak-ng could not say the recording notice: %s", exc)
        return None
    return samples, rate


def render(folder: Path) -> Path:
    """The notice file in `folder`, made if it is not there yet (blocking: run it off the loop)."""
    path = folder / FILE_NAME
    if path.exists():
        return path
    voice = spoken()
    rate = voice[1] if voice is not None else RATE
    samples = chime(rate) if voice is None else np.concatenate([chime(rate), voice[0]])
    folder.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with wave.open(str(temporary), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    # The chime alone is not kept: once espeak-ng is installed, the line is rendered.
    if voice is None:
        temporary.replace(folder / ("chime-only-" + FILE_NAME))
        return folder / ("chime-only-" + FILE_NAME)
    temporary.replace(path)
    return path


class RecordingNotice:
    """Renders the notice once, on first request, and serves it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = asyncio.Lock()
        self._path: Path | None = None

    async def path(self) -> Path:
        async with self._lock:
            if self._path is None or not self._path.exists():
                loop = asyncio.get_running_loop()
                self._path = await loop.run_in_executor(None, render, self.folder)
            return self._path

    async def serve(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            await self.path(),
            headers={"Content-Type": "audio/wav", "Cache-Control": "public, max-age=86400"},
        )


NOTICE = web.AppKey("recording_notice", RecordingNotice)


def add_routes(app: web.Application, data_dir: Path) -> None:
    app[NOTICE] = RecordingNotice(data_dir)
    app.router.add_get("/recording-notice.wav", app[NOTICE].serve)
