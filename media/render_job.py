"""The video half of an export as a job that can run in its own process: a live meeting
keeps its CPU while a niced child decodes and encodes.

    python -m media.render_job < job.json   (prints "progress 0.42" lines)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from media.clips import ClipPlan, clip_outputs, plan_clips
from media.composite import CompositeLayout, composite_output
from media.encoder_thread import ThreadedWriter
from media.errors import RenderFailed
from media.mp4writer import PRESET, Mp4Writer
from media.recording import Recording
from media.render import Progress, Renderer, Span, WriterFactory, spans_of
from rooms.history import Question

NICE_WHEN_LIVE = 10  # below the bridge, which keeps every hall at 29 fps


@dataclass(frozen=True)
class RenderJob:
    """Everything the video pass needs, as plain data (it crosses a process boundary)."""

    recordings: list[str]  # recording folders
    questions: list[dict[str, object]]  # rooms.history.Question fields
    hall_names: dict[str, str]
    title: str
    commune: str
    opened_at: float | None
    composite: str | None  # path of the composite MP4, None: no composite
    clips_dir: str
    fps: int = 15
    # 1: everything in this thread (beside a live meeting); more: each video's encoder in
    # a thread of its own, beside decoding and composing, and the decoders threaded too.
    threads: int = 2
    preset: str = PRESET
    nice: int = 0
    # When the chair's screen was shared: [from, until] in wall time, until None: to the end.
    slides: list[list[float | None]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RenderJob:
        return cls(**json.loads(text))

    def question_list(self) -> list[Question]:
        return [Question(**q) for q in self.questions]  # type: ignore[arg-type]

    def spans(self) -> list[Span]:
        return spans_of([Recording.load(Path(folder)) for folder in self.recordings])

    def plans(self, spans: list[Span]) -> list[ClipPlan]:
        return plan_clips(self.question_list(), spans, self.hall_names)


def run_job(job: RenderJob, progress: Progress | None = None) -> None:
    """Render the composite and the clips in this process."""
    spans = job.spans()
    if not spans:
        if progress is not None:
            progress(1.0)
        return
    renderer = Renderer(
        spans,
        job.question_list(),
        fps=job.fps,
        threads=job.threads,
        slides=[(float(a or 0.0), b) for a, b in job.slides],
    )
    make_writer = ThreadedWriter if job.threads > 1 else Mp4Writer
    _render(job, renderer, job.plans(spans), make_writer, progress)


def _render(
    job: RenderJob,
    renderer: Renderer,
    plans: list[ClipPlan],
    make_writer: WriterFactory,
    progress: Progress | None,
) -> None:
    outputs = []
    if job.composite is not None:
        layout = CompositeLayout(
            title=job.title, commune=job.commune, hall_names=job.hall_names, opened_at=job.opened_at
        )
        outputs.append(
            composite_output(
                renderer,
                Path(job.composite),
                layout,
                threads=job.threads,
                preset=job.preset,
                make_writer=make_writer,
            )
        )
    clips_dir = Path(job.clips_dir)
    if plans:
        clips_dir.mkdir(parents=True, exist_ok=True)
    outputs += clip_outputs(
        renderer,
        plans,
        clips_dir,
        job.hall_names,
        threads=job.threads,
        preset=job.preset,
        make_writer=make_writer,
    )
    renderer.run(outputs, progress)


def run_in_subprocess(
    job: RenderJob,
    progress: Progress | None = None,
    started: Callable[[subprocess.Popen[str]], None] | None = None,
) -> None:
    """Render in a child process (at `job.nice`); blocks until it is done. `started` gets
    the child, so that a bridge shutting down can stop it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "media.render_job"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",  # names are Vietnamese, whatever locale a service runs under
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    if started is not None:
        started(child)
    child.stdin.write(job.to_json())
    child.stdin.close()
    for line in child.stdout:
        word, _, value = line.partition(" ")
        if word == "progress" and progress is not None:
            progress(float(value))
    errors = child.stderr.read()
    if child.wait() != 0:
        raise RenderFailed(errors.strip().splitlines()[-1] if errors.strip() else "render failed")


def main() -> int:
    job = RenderJob.from_json(sys.stdin.buffer.read().decode("utf-8"))
    if job.nice:
        os.nice(job.nice)

    def report(share: float) -> None:
        print(f"progress {share:.4f}", flush=True)

    run_job(job, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
