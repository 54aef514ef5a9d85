"""The composite while the chair shared a screen: the slides large and the chair inset,
only while the log says the screen was shared, checked by decoding the MP4."""

from __future__ import annotations

from pathlib import Path

from media.composite import INSET_H, INSET_W, INSET_X, INSET_Y
from media.render_job import run_job
from rooms.events import MeetingClosed, MeetingOpened, StreamEnded, StreamLive
from rooms.history import MeetingHistory
from tests.media_checks import near, pictures_at
from tests.pictures import read_stamp
from tests.recording_fixtures import (
    CHAIR_COLOUR,
    FIRST,
    OPENED,
    SLIDES_COLOUR,
    STAMP_BITS,
    STAMP_BLOCK,
    render_job,
    write_recording,
)


def test_the_shared_screen_fills_the_composite_with_the_chair_inset_while_it_is_shared(
    tmp_path: Path,
) -> None:
    # The recorder's slides.mkv holds the screen from 2 s to 4 s; the log says it was
    # shared until 4 s, so the file's last picture must not linger after.
    folder = write_recording(
        tmp_path / "r1",
        meeting_id="m1",
        recording_id="r1",
        started_at=FIRST,
        duration=6,
        slides=(2.0, 4.0),
    )
    history = MeetingHistory.from_events(
        [
            MeetingOpened("m1", "Tập huấn", at=OPENED),
            StreamLive("slides", "s1", None, at=FIRST + 2),
            StreamEnded("slides", "s1", at=FIRST + 4),
            MeetingClosed("m1", at=FIRST + 6),
        ]
    )
    slides = [[since, until] for since, until in history.slides]
    run_job(render_job(folder, tmp_path, title=history.title, opened_at=OPENED, slides=slides))

    pictures = pictures_at(tmp_path / "hop.mp4", [1.0, 3.0, 5.0])
    teaching = pictures[3.0]
    assert near(teaching[400, 300], SLIDES_COLOUR)
    # The slide is the one shown at that moment (its stamp, scaled 2x, says when).
    luma = teaching[:32].mean(axis=2)
    assert abs(read_stamp(luma, bits=STAMP_BITS, block=2 * STAMP_BLOCK) / 100 - 3.0) <= 0.2
    inset = teaching[INSET_Y : INSET_Y + INSET_H, INSET_X : INSET_X + INSET_W]
    assert near(inset[INSET_H // 2 + 20, INSET_W // 2], CHAIR_COLOUR)
    for t in (1.0, 5.0):  # before and after: the chair fills the picture
        assert near(pictures[t][300, 640], CHAIR_COLOUR), t
        assert not near(pictures[t][400, 300], SLIDES_COLOUR), t
