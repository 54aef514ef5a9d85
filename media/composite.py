"""The composite video of a meeting (1280×720): the chair large, or the chair's shared
screen large with the chair inset; while a hall holds the floor, the hall beside the
chair at the same size; a lower third naming who speaks and on what; the meeting clock;
and a card wherever nothing was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from media.canvas import Canvas
from media.mp4writer import PRESET, Mp4Writer
from media.names import VIETNAM
from media.overlay import Line, TextPainter
from media.render import Output, Renderer, Scene, WriterFactory

WIDTH, HEIGHT = 1280, 720
HALF_W, HALF_H = WIDTH // 2, HEIGHT // 2
SIDE_TOP = 100  # the two pictures sit side by side from here down
BACKGROUND = (48, 32, 24)  # BGR: dark blue-grey around the pictures
LOWER_THIRD_Y = 560
INSET_W, INSET_H = 320, 180  # the chair beside the shared screen, under the clock
INSET_X, INSET_Y = WIDTH - INSET_W - 16, 80
TEXT_LIMIT = 70  # characters of a name or topic shown; the minutes hold the whole text


def short(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clock(wall: float, opened_at: float | None) -> str:
    """The meeting clock: local time, and time since the meeting opened."""
    local = datetime.fromtimestamp(wall, VIETNAM).strftime("%H:%M:%S")
    if opened_at is None:
        return local
    elapsed = max(0, int(wall - opened_at))
    hours, rest = divmod(elapsed, 3600)
    return f"{local}  ·  {hours:d}:{rest // 60:02d}:{rest % 60:02d}"


class CompositeLayout:
    """Draws one frame of the composite from a Scene."""

    def __init__(
        self,
        *,
        title: str,
        commune: str,
        hall_names: Mapping[str, str],
        opened_at: float | None,
    ) -> None:
        self.title, self.commune = title, commune
        self.hall_names = hall_names
        self.opened_at = opened_at
        self.painter = TextPainter()
        self._canvas = Canvas(WIDTH, HEIGHT)

    def draw(self, scene: Scene) -> Canvas:
        canvas = self._canvas
        canvas.fill(BACKGROUND)
        if scene.recording is None:
            self._card(canvas, "Không ghi hình đoạn này", "(not recorded)")
        elif scene.question is None:
            if scene.slides is not None:  # teaching: the screen large, the chair in a corner
                canvas.paste(scene.slides.picture(WIDTH, HEIGHT), 0, 0)
                self._picture(canvas, scene, INSET_X, INSET_Y, INSET_W, INSET_H)
            else:
                self._picture(canvas, scene, 0, 0, WIDTH, HEIGHT)
            self._lower_third(canvas, self.title or self.commune, self.commune, "")
        else:
            q = scene.question
            self._picture(canvas, scene, 0, SIDE_TOP, HALF_W, HALF_H)
            if scene.floor is not None:
                canvas.paste(scene.floor.picture(HALF_W, HALF_H), HALF_W, SIDE_TOP)
            else:
                self.painter.box(
                    (
                        Line(self.hall_names.get(q.hall_id, q.hall_id), 28),
                        Line("đang kết nối hình ảnh…", 22),
                    ),
                    HALF_W + 40,
                    SIDE_TOP + HALF_H // 2 - 40,
                ).blend(canvas)
            hall = self.hall_names.get(q.hall_id, q.hall_id)
            self._lower_third(canvas, hall, q.name, q.topic)
        self.painter.box(
            (Line(clock(scene.wall, self.opened_at), 24),), WIDTH - 330, 16, width=314
        ).blend(canvas)
        return canvas

    def _picture(self, canvas: Canvas, scene: Scene, x: int, y: int, w: int, h: int) -> None:
        if scene.chair is not None:
            canvas.paste(scene.chair.picture(w, h), x, y)
        else:
            self.painter.box((Line("Chủ tọa", 28),), x + w // 2 - 80, y + h // 2 - 30).blend(canvas)

    def _card(self, canvas: Canvas, text: str, english: str) -> None:
        self.painter.box(
            (Line(text, 40, bold=True), Line(english, 26)), 360, HEIGHT // 2 - 70, width=560
        ).blend(canvas)

    def _lower_third(self, canvas: Canvas, top: str, middle: str, bottom: str) -> None:
        lines = [Line(short(top), 30, bold=True)]
        lines += [Line(short(text), 26) for text in (middle, bottom) if text]
        self.painter.box(tuple(lines), 40, LOWER_THIRD_Y, width=WIDTH - 80).blend(canvas)


def composite_output(
    renderer: Renderer,
    path: Path,
    layout: CompositeLayout,
    *,
    threads: int = 2,
    preset: str = PRESET,
    make_writer: WriterFactory = Mp4Writer,
) -> Output:
    """The composite of the whole recorded stretch, first recording's start to last's end."""
    writer = make_writer(
        path, fps=renderer.fps, threads=threads, preset=preset, metadata={"title": layout.title}
    )
    return Output(renderer.origin, renderer.end, layout, writer)
