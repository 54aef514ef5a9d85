"""A clip of each citizen's question that the hall agreed to have recorded: from the grant
to the end of the floor, the hall large with the chair inset, the program audio and a
lower third. No consent, no clip. A floor cut by a dropped hall ends at the drop and
says so, in its name and in its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from media.canvas import Canvas
from media.composite import short
from media.mp4writer import PRESET, Mp4Writer
from media.names import clip_name
from media.overlay import Line, TextPainter
from media.render import Output, Renderer, Scene, Span, WriterFactory
from rooms.history import Question

WIDTH, HEIGHT = 1280, 720
INSET_W, INSET_H, INSET_MARGIN = 320, 180, 16
BORDER = 4  # even: chroma is half size
WHITE = (255, 255, 255)
CUT_MARK = "_bi-ngat"  # "cut off": the hall dropped before the floor ended
MIN_SECONDS = 0.5  # less than this of a question on record makes no clip


@dataclass(frozen=True)
class ClipPlan:
    """One clip to make: which question, its file name, its wall-time stretch."""

    question: Question
    file_name: str
    start: float
    end: float

    @property
    def cut(self) -> bool:
        return self.question.cut


def plan_clips(
    questions: Sequence[Question], spans: Sequence[Span], hall_names: Mapping[str, str]
) -> list[ClipPlan]:
    """A clip for each recordable question that was recorded; a floor still held when the
    recording ended ends with it. Questions recorded in two pieces keep the first piece."""
    plans = []
    taken: set[str] = set()
    for q in questions:
        if not q.recordable:
            continue
        for span in spans:
            start = max(q.granted_at, span.start)
            end = min(q.ended_at if q.ended_at is not None else span.end, span.end)
            if end - start >= MIN_SECONDS:
                name = clip_name(
                    q.granted_at, hall_names.get(q.hall_id, q.hall_id), q.name, q.topic
                )
                if q.cut:
                    name = name.removesuffix(".mp4") + CUT_MARK + ".mp4"
                while name in taken:  # two questions in the same minute with the same words
                    name = name.removesuffix(".mp4") + "-2.mp4"
                taken.add(name)
                plans.append(ClipPlan(q, name, start, end))
                break
    return plans


def clip_mapping(questions: Sequence[Question], plans: Sequence[ClipPlan]) -> dict[str, str | None]:
    """For the minutes: each question's clip file name, or None when not recorded."""
    made = {p.question.entry_id: p.file_name for p in plans}
    return {q.entry_id: made.get(q.entry_id) for q in questions}


class ClipLayout:
    """One question's frames: the hall fills the picture, the chair sits top right."""

    def __init__(self, question: Question, hall_name: str) -> None:
        self.question = question
        self.hall_name = hall_name
        self.painter = TextPainter()
        self._canvas = Canvas(WIDTH, HEIGHT)
        lines = [Line(short(hall_name), 30, bold=True)]
        lines += [Line(short(t), 26) for t in (question.name, question.topic) if t]
        if question.cut:
            lines.append(Line("Mất kết nối: đoạn ghi bị ngắt", 22, colour=(255, 200, 80)))
        self._lines = tuple(lines)

    def draw(self, scene: Scene) -> Canvas:
        canvas = self._canvas
        if scene.floor is not None:
            canvas.paste(scene.floor.picture(WIDTH, HEIGHT), 0, 0)
        else:
            canvas.fill((24, 24, 24))
            self.painter.box(
                (Line(self.hall_name, 32), Line("đang kết nối hình ảnh…", 24)),
                440,
                HEIGHT // 2 - 60,
            ).blend(canvas)
        if scene.chair is not None:
            x, y = WIDTH - INSET_W - INSET_MARGIN, INSET_MARGIN
            canvas.fill_rect(
                x - BORDER, y - BORDER, INSET_W + 2 * BORDER, INSET_H + 2 * BORDER, WHITE
            )
            canvas.paste(scene.chair.picture(INSET_W, INSET_H), x, y)
        self.painter.box(self._lines, 40, 560, width=WIDTH - 80).blend(canvas)
        return canvas


def clip_outputs(
    renderer: Renderer,
    plans: Sequence[ClipPlan],
    folder: Path,
    hall_names: Mapping[str, str],
    *,
    threads: int = 2,
    preset: str = PRESET,
    make_writer: WriterFactory = Mp4Writer,
) -> list[Output]:
    outputs = []
    for plan in plans:
        q = plan.question
        hall = hall_names.get(q.hall_id, q.hall_id)
        metadata = {
            "title": f"{hall}: {q.name}: {q.topic}",
            "comment": "bị ngắt: điểm cầu mất kết nối (cut: the hall dropped)" if plan.cut else "",
        }
        writer = make_writer(
            folder / plan.file_name,
            fps=renderer.fps,
            threads=threads,
            preset=preset,
            metadata={k: v for k, v in metadata.items() if v},
        )
        outputs.append(Output(plan.start, plan.end, ClipLayout(q, hall), writer))
    return outputs
