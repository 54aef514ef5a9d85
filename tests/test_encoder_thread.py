"""The encoder in a thread of its own: the same file as encoding inline, in order, and its
failures told to the caller."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from media.canvas import Canvas
from media.encoder_thread import DEPTH, ThreadedWriter
from media.errors import RenderFailed
from tests.media_checks import dominant_frequency, facts, near, pictures_at, sound

COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255)]  # BGR: red, green, blue, yellow


def test_pictures_drawn_on_one_reused_canvas_come_out_each_at_its_time(tmp_path: Path) -> None:
    writer = ThreadedWriter(tmp_path / "out.mp4", fps=15)
    canvas = Canvas(1280, 720)
    rate = 48000
    for n in range(60):  # 4 s: each colour for 1 s, the canvas redrawn before the encoder ran
        canvas.fill(COLOURS[n // 15])
        writer.video(canvas)
        t = np.arange(n * 3200, (n + 1) * 3200) / rate
        writer.audio((0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32))
    assert writer.close() == tmp_path / "out.mp4"
    got = facts(tmp_path / "out.mp4")
    assert abs(got.duration - 4.0) <= 0.1 and (got.video_codec, got.audio_codec) == ("h264", "aac")
    pictures = pictures_at(tmp_path / "out.mp4", [0.5, 1.5, 2.5, 3.5])
    for second, colour in zip((0.5, 1.5, 2.5, 3.5), COLOURS, strict=True):
        assert near(pictures[second][360, 640], colour)
    samples, sample_rate = sound(tmp_path / "out.mp4")
    assert abs(dominant_frequency(samples, sample_rate) - 440) < 10
    assert not (tmp_path / "out.mp4.part").exists()


def test_a_failure_in_the_encoder_thread_is_told_and_leaves_no_file(tmp_path: Path) -> None:
    writer = ThreadedWriter(tmp_path / "out.mp4", fps=15)
    canvas = Canvas(1280, 720)
    writer.audio(np.zeros((2, 3, 4), dtype=np.float32))  # not a run of samples
    with pytest.raises(RenderFailed):
        for _ in range(DEPTH + 3):  # told at a later call at the latest...
            writer.video(canvas)
        writer.close()  # ...or at close
    writer.abandon()
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.mp4.part").exists()
