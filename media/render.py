"""One pass over a meeting's recordings that feeds every video the export makes: each
camera is decoded once, in time order, and each output (the composite, each clip) draws
its own layout from the same moment and gets the same program audio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from media.canvas import Canvas
from media.frames import FrameSource
from media.programaudio import RATE, ProgramAudio
from media.recording import RecordingInfo
from media.recording_reader import media_file, span_end
from rooms.history import Question

logger = logging.getLogger(__name__)

# A floor picture older than the grant is the previous hall's last frame, not this one's.
FLOOR_SLACK = 0.5

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Span:
    """One recording's stretch of wall time."""

    recording: RecordingInfo
    start: float
    end: float


def spans_of(recordings: Sequence[RecordingInfo]) -> list[Span]:
    """The recordings as wall-time spans, oldest first; empty ones left out."""
    spans = [Span(r, r.started_at, span_end(r)) for r in recordings]
    return [s for s in sorted(spans, key=lambda s: s.start) if s.end > s.start]


@dataclass
class Scene:
    """What was happening at one moment: sources already moved to it."""

    wall: float
    recording: RecordingInfo | None  # None: between recordings, nothing was recorded
    chair: FrameSource | None  # None: no chair picture yet
    floor: FrameSource | None  # None: no picture of the hall now on the floor
    question: Question | None  # the floor's question, if a hall holds it
    slides: FrameSource | None = None  # the chair's shared screen, while it was shared


class VideoWriter(Protocol):
    """An MP4 being written: media/mp4writer.py's, or one fed from an encoder thread."""

    def video(self, canvas: Canvas) -> None: ...
    def audio(self, samples: np.ndarray) -> None: ...
    def close(self) -> Path: ...
    def abandon(self) -> None: ...


WriterFactory = Callable[..., VideoWriter]  # (path, **Mp4Writer options)


class Layout(Protocol):
    def draw(self, scene: Scene) -> Canvas: ...


@dataclass
class Output:
    """A video made from wall time `start` to `end` with `layout`."""

    start: float
    end: float
    layout: Layout
    writer: VideoWriter

    def active(self, wall: float) -> bool:
        return self.start <= wall < self.end


class Renderer:
    """Walks the meeting at `fps` from the first recording's start to the last one's end."""

    def __init__(
        self,
        spans: Sequence[Span],
        questions: Sequence[Question],
        fps: int = 15,
        threads: int = 1,
        slides: Sequence[tuple[float, float | None]] = (),
    ) -> None:
        """`slides`: when the chair's screen was shared (wall from, until; None: to the end),
        as rooms.history.MeetingHistory.slides has it."""
        self.spans = list(spans)
        self.questions = sorted(questions, key=lambda q: q.granted_at)
        self.slides = list(slides)
        self.fps = fps
        self.threads = threads
        self.origin = self.spans[0].start if self.spans else 0.0
        self.end = self.spans[-1].end if self.spans else 0.0

    def ticks(self, start: float, end: float) -> int:
        return max(0, round((end - start) * self.fps))

    def run(self, outputs: Sequence[Output], progress: Progress | None = None) -> None:
        """Draw and encode every output; closes their writers (abandons them on error)."""
        audio = ProgramAudio(
            [(media_file(s.recording, "program.mka"), s.start) for s in self.spans], self.origin
        )
        total = max(1, self.ticks(self.origin, self.end))
        work = sum(self.ticks(o.start, o.end) for o in outputs) or 1
        done = 0
        current: Span | None = None
        chair: FrameSource | None = None
        floor: FrameSource | None = None
        slides: FrameSource | None = None
        try:
            for k in range(total):
                wall = self.origin + k / self.fps
                sound = audio.take(round((k + 1) * RATE / self.fps) - round(k * RATE / self.fps))
                active = [o for o in outputs if o.active(wall)]
                span = next((s for s in self.spans if s.start <= wall < s.end), None)
                if span is not current:
                    for source in (chair, floor, slides):
                        if source is not None:
                            source.close()
                    chair = floor = slides = None
                    if span is not None:
                        chair = FrameSource(media_file(span.recording, "chair.mkv"), self.threads)
                        floor = FrameSource(media_file(span.recording, "floor.mkv"), self.threads)
                        slides = FrameSource(media_file(span.recording, "slides.mkv"), 1)
                    current = span
                scene = self._scene(wall, span, chair, floor)
                if span is not None and slides is not None and self.slides_at(wall):
                    scene.slides = slides if slides.at(wall - span.start) else None
                for output in active:
                    output.writer.video(output.layout.draw(scene))
                    output.writer.audio(sound)
                done += len(active)
                if progress is not None and k % self.fps == 0:
                    progress(min(1.0, done / work))
            for output in outputs:
                output.writer.close()
        except BaseException:
            for output in outputs:
                output.writer.abandon()
            raise
        finally:
            for source in (chair, floor, slides):
                if source is not None:
                    source.close()
        if progress is not None:
            progress(1.0)

    def slides_at(self, wall: float) -> bool:
        return any(a <= wall and (b is None or wall < b) for a, b in self.slides)

    def question_at(self, wall: float) -> Question | None:
        for question in reversed(self.questions):
            if question.granted_at <= wall and (
                question.ended_at is None or wall < question.ended_at
            ):
                return question
        return None

    def _scene(
        self, wall: float, span: Span | None, chair: FrameSource | None, floor: FrameSource | None
    ) -> Scene:
        if span is None:
            return Scene(wall, None, None, None, self.question_at(wall))
        t = wall - span.start
        question = self.question_at(wall)
        has_chair = chair is not None and chair.at(t)
        has_floor = False
        if floor is not None:
            has_floor = floor.at(t)
            shown = floor.shown_since
            fresh = (
                question is not None
                and shown is not None
                and span.start + shown >= question.granted_at - FLOOR_SLACK
            )
            has_floor = has_floor and fresh
        return Scene(
            wall,
            span.recording,
            chair if has_chair else None,
            floor if has_floor else None,
            question,
        )
