"""Reading back what the export wrote: stream facts and pictures at given times, by PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass(frozen=True)
class Mp4Facts:
    duration: float
    video_codec: str
    profile: str
    pix_fmt: str
    width: int
    height: int
    audio_codec: str
    audio_profile: str
    metadata: dict[str, str]


def facts(path: Path) -> Mp4Facts:
    with av.open(str(path)) as container:
        video = container.streams.video[0].codec_context
        audio = container.streams.audio[0].codec_context
        return Mp4Facts(
            duration=float(container.duration or 0) / av.time_base,
            video_codec=video.name,
            profile=str(video.profile),
            pix_fmt=str(video.pix_fmt),
            width=video.width,
            height=video.height,
            audio_codec=audio.name,
            audio_profile=str(audio.profile),
            metadata=dict(container.metadata),
        )


def pictures_at(path: Path, times: list[float]) -> dict[float, np.ndarray]:
    """The BGR picture showing at each of `times` (seconds from the file's start)."""
    wanted = sorted(times)
    found: dict[float, np.ndarray] = {}
    previous = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            while wanted and t > wanted[0] + 1e-6:
                if previous is not None:
                    found[wanted[0]] = previous
                wanted.pop(0)
            if not wanted:
                break
            previous = frame.to_ndarray(format="bgr24")
    for t in wanted:
        if previous is not None:
            found[t] = previous
    return found


def sound(path: Path) -> tuple[np.ndarray, int]:
    """The whole audio track as mono float samples, and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def near(colour: np.ndarray, expected: tuple[int, int, int], tolerance: float = 30) -> bool:
    return bool(np.abs(colour.astype(float) - np.array(expected, dtype=float)).max() <= tolerance)
