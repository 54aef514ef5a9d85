"""The encoders in their own process: the same file as in this one, and its failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media.canvas import Canvas
from media.encoder_process import EncoderProcess
from media.errors import RenderFailed
from tests.media_checks import facts, near, pictures_at


def test_pictures_and_sound_sent_to_the_encoder_process_come_out_as_an_mp4(
    tmp_path: Path,
) -> None:
    encoder = EncoderProcess()
    try:
        writer = encoder.writer(tmp_path / "out.mp4", fps=15)
        canvas = Canvas(1280, 720)
        for n in range(30):
            canvas.fill((0, 0, 255) if n < 15 else (0, 255, 0))  # red, then green
            writer.video(canvas)
            writer.audio(np.zeros(3200, dtype=np.float32))
        assert writer.close() == tmp_path / "out.mp4"
    finally:
        encoder.close()
    got = facts(tmp_path / "out.mp4")
    assert abs(got.duration - 2.0) <= 0.1 and (got.video_codec, got.audio_codec) == ("h264", "aac")
    pictures = pictures_at(tmp_path / "out.mp4", [0.5, 1.5])
    assert near(pictures[0.5][360, 640], (0, 0, 255)) and near(pictures[1.5][360, 640], (0, 255, 0))


def test_a_failure_in_the_encoder_process_is_told_at_close(tmp_path: Path) -> None:
    encoder = EncoderProcess()
    try:
        writer = encoder.writer(tmp_path / "missing" / "out.mp4", fps=15)
        writer.video(Canvas(1280, 720))
        with pytest.raises(RenderFailed):
            writer.close()
    finally:
        encoder.close()
    assert not (tmp_path / "missing").exists()
