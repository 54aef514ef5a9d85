"""Recordings on disk in the recorder's format (the contract's "recording on disk"), made
with PyAV for the export's tests until the recorder itself can make them.

Every picture is a flat colour that says whose camera it is, stamped in its top row
with its media time in centiseconds, so a test reads back which picture of which
camera it got and when. The chair's microphone and the program carry known tones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.render_job import RenderJob
from rooms.entry import Entry
from rooms.events import ConsentGiven, Event, FloorEnded, FloorGranted, MeetingClosed, MeetingOpened
from tests.pictures import read_stamp, stamp

WIDTH, HEIGHT = 640, 360
FPS = 15
STAMP_BITS, STAMP_BLOCK = 20, 16
CHAIR_COLOUR = (200, 80, 40)  # BGR: blue
HALL_COLOURS = {"thon-1": (40, 190, 60), "thon-3": (40, 60, 200), "thon-5": (160, 40, 160)}
SLIDES_COLOUR = (60, 200, 220)  # BGR: a yellow slide
CHAIR_TONE, FLOOR_TONE = 440.0, 880.0
RATE = 48000
OPUS_FRAME = 960  # 20 ms


@dataclass(frozen=True)
class FloorSpan:
    """A hall on the floor from `start` to `end`, in seconds after the recording started."""

    hall_id: str
    start: float
    end: float


def picture(colour: tuple[int, int, int], t: float) -> np.ndarray:
    """The camera's picture at media time `t`: its colour, stamped with t in centiseconds."""
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:] = colour
    luma = np.zeros((STAMP_BLOCK, WIDTH), dtype=np.uint8)
    stamp(luma, round(t * 100), bits=STAMP_BITS, block=STAMP_BLOCK)
    image[:STAMP_BLOCK] = luma[:, :, None]
    return image


def read_time(bgr: np.ndarray) -> float:
    """The media time stamped in a picture (the camera's picture at its own size)."""
    luma = bgr[:STAMP_BLOCK].mean(axis=2)
    return read_stamp(luma, bits=STAMP_BITS, block=STAMP_BLOCK) / 100


def _tone(frequency: float, start_sample: int, count: int) -> np.ndarray:
    n = np.arange(start_sample, start_sample + count)
    return (0.3 * np.sin(2 * math.pi * frequency * n / RATE)).astype(np.float32)


class _Writer:
    """One Matroska file with optional video and Opus audio, timestamps in milliseconds."""

    def __init__(self, path: Path, video: str | None, audio: bool) -> None:
        self.container = av.open(str(path), "w", format="matroska")
        self.video: av.VideoStream | None = None
        if video is not None:
            codec = {"vp8": "libvpx", "h264": "libx264"}[video]
            options = (
                {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0", "threads": "1"}
                if video == "vp8"
                else {"preset": "ultrafast", "tune": "zerolatency", "threads": "1"}
            )
            stream = self.container.add_stream(codec, rate=FPS, options=options)
            assert isinstance(stream, av.VideoStream)
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            stream.codec_context.time_base = Fraction(1, 1000)
            self.video = stream
        self.audio: av.AudioStream | None = None
        if audio:
            sound = self.container.add_stream("libopus", rate=RATE)
            assert isinstance(sound, av.AudioStream)
            sound.layout = "mono"
            self.audio = sound

    def frame(self, image: np.ndarray, t: float, key: bool = False) -> None:
        assert self.video is not None
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
        if key:
            frame.pict_type = av.video.frame.PictureType.I
        self.container.mux(self.video.encode(frame))

    def sound(self, samples: np.ndarray, start_sample: int) -> None:
        assert self.audio is not None
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts = RATE, start_sample
        frame.time_base = Fraction(1, RATE)
        self.container.mux(self.audio.encode(frame))

    def close(self) -> None:
        for stream in (self.video, self.audio):
            if stream is not None:
                self.container.mux(stream.encode(None))
        self.container.close()


def write_recording(
    folder: Path,
    *,
    meeting_id: str,
    recording_id: str,
    started_at: float,
    duration: float,
    floors: Sequence[FloorSpan] = (),
    video: str = "vp8",
    state: str = "complete",
    cut: float | None = None,
    slides: tuple[float, float] | None = None,
) -> Path:
    """A recording folder of `duration` seconds. `cut` (0..1) truncates every media file to
    that share of its bytes and leaves the state "recording", as a kill -9 would. `slides`:
    the chair shared a screen from .. to (seconds after the start)."""
    folder.mkdir(parents=True, exist_ok=True)
    chair = _Writer(folder / "chair.mkv", video, audio=True)
    floor = _Writer(folder / "floor.mkv", video, audio=True) if floors else None
    screen = _Writer(folder / "slides.mkv", video, audio=False) if slides else None
    program = _Writer(folder / "program.mka", None, audio=True)
    timeline = []
    frames = int(duration * FPS)
    for n in range(frames):
        t = n / FPS
        chair.frame(picture(CHAIR_COLOUR, t), t)
        held = next((f for f in floors if f.start <= t < f.end), None)
        if floor is not None and held is not None:
            first = t - held.start < 1 / FPS
            floor.frame(picture(HALL_COLOURS[held.hall_id], t), t, key=first)
        if screen is not None and slides is not None and slides[0] <= t < slides[1]:
            screen.frame(picture(SLIDES_COLOUR, t), t)
        if n % FPS == 0:
            timeline += [
                {"wall": started_at + t, "file": "chair.mkv", "stream": "video", "pts": t},
                {"wall": started_at + t, "file": "program.mka", "stream": "audio", "pts": t},
            ]
    for start in range(0, int(duration * RATE), OPUS_FRAME):
        t = start / RATE
        held = next((f for f in floors if f.start <= t < f.end), None)
        chair.sound(_tone(CHAIR_TONE, start, OPUS_FRAME), start)
        mix = _tone(CHAIR_TONE, start, OPUS_FRAME)
        if held is not None and floor is not None:
            floor.sound(_tone(FLOOR_TONE, start, OPUS_FRAME), start)
            mix = mix + _tone(FLOOR_TONE, start, OPUS_FRAME)
        program.sound(mix * 0.7, start)
    for writer in (chair, floor, program, screen):
        if writer is not None:
            writer.close()
    if cut is not None:
        for name in ("chair.mkv", "floor.mkv", "program.mka"):
            path = folder / name
            if path.exists():
                data = path.read_bytes()
                path.write_bytes(data[: int(len(data) * cut)])
        state = "recording"
    stopped = None if cut is not None or state in ("recording", "interrupted") else started_at
    info = {
        "meeting_id": meeting_id,
        "recording_id": recording_id,
        "started_at": started_at,
        "stopped_at": None if stopped is None else started_at + duration,
        "state": state,
        "reason": None if stopped is None else "stopped",
        "tracks": {
            "chair": {"video": video, "audio": "opus"},
            "floor": {"video": video, "audio": "opus"},
        },
    }
    (folder / "recording.json").write_text(json.dumps(info), encoding="utf-8")
    (folder / "timeline.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in timeline), encoding="utf-8"
    )
    return folder


def render_job(folder: Path, out: Path, **fields: Any) -> RenderJob:
    """The export's video pass over the one recording in `folder`, writing to `out`
    (hop.mp4 and clips/); `fields` set the rest (questions, slides, title...)."""
    defaults: dict[str, Any] = {
        "questions": [],
        "hall_names": HALL_NAMES,
        "title": "",
        "commune": "Xã Trực Khang",
        "opened_at": None,
    }
    return RenderJob(
        recordings=[str(folder)],
        composite=str(out / "hop.mp4"),
        clips_dir=str(out / "clips"),
        **(defaults | fields),
    )


# A sample meeting: a 12 s recording with two questions (thon-3 agreed to be recorded,
# thon-1 never answered), a 3 s gap, then an H.264 recording cut by a kill -9 during a
# third question whose hall dropped.
OPENED = 1_780_000_000.0  # a Saturday morning in 2026, Vietnam time
FIRST = OPENED + 10
SECOND = FIRST + 15
HALL_NAMES = {"thon-1": "Thôn 1", "thon-3": "Thôn 3", "thon-5": "Thôn 5"}


def sample_meeting(data_dir: Path, meeting_id: str = "m1") -> list[Event]:
    """Write the sample meeting's recordings under `data_dir`; return its logged events."""
    base = data_dir / "recordings" / meeting_id
    write_recording(
        base / "r1",
        meeting_id=meeting_id,
        recording_id="r1",
        started_at=FIRST,
        duration=12,
        floors=[FloorSpan("thon-3", 3, 7), FloorSpan("thon-1", 8, 11)],
    )
    write_recording(
        base / "r2",
        meeting_id=meeting_id,
        recording_id="r2",
        started_at=SECOND,
        duration=8,
        floors=[FloorSpan("thon-5", 1, 4)],
        video="h264",
        cut=0.8,
    )

    def entry(entry_id: str, hall: str, name: str, topic: str, at: float) -> Entry:
        return Entry(entry_id, hall, name, topic, raised_at=at - 2)

    return [
        MeetingOpened(meeting_id, "Họp dân tháng 11", at=OPENED),
        FloorGranted(
            entry("e1", "thon-3", "Bà Lan", "Đường liên thôn", FIRST + 3),
            180,
            "chair",
            at=FIRST + 3,
        ),
        ConsentGiven("e1", True, at=FIRST + 3.5),
        FloorEnded("e1", "thon-3", "chair", "ended", at=FIRST + 7),
        FloorGranted(
            entry("e2", "thon-1", "Ông Tư", "Nước sạch", FIRST + 8), 180, "chair", at=FIRST + 8
        ),
        FloorEnded("e2", "thon-1", "chair", "ended", at=FIRST + 11),
        FloorGranted(
            entry("e3", "thon-5", "Chị Hoa", "Điện", SECOND + 1), 180, "chair", at=SECOND + 1
        ),
        ConsentGiven("e3", True, at=SECOND + 1.5),
        FloorEnded("e3", "thon-5", "room", "hall-dropped", at=SECOND + 4),
        MeetingClosed(meeting_id, at=SECOND + 9),
    ]
