"""The composite MP4 and the clips, checked by decoding them: what is on screen, when."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import av
import numpy as np
import pytest

from media.clips import CUT_MARK
from media.composite import HALF_H, HALF_W, LOWER_THIRD_Y, SIDE_TOP
from media.render_job import RenderJob, run_job
from rooms.history import MeetingHistory, Question
from tests.media_checks import dominant_frequency, facts, near, pictures_at, sound
from tests.pictures import read_stamp
from tests.recording_fixtures import (
    CHAIR_COLOUR,
    CHAIR_TONE,
    FIRST,
    HALL_COLOURS,
    HALL_NAMES,
    OPENED,
    SECOND,
    read_time,
    render_job,
    sample_meeting,
    write_recording,
)

Rendered = tuple[Path, Path, MeetingHistory]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    data_dir = tmp_path_factory.mktemp("composite")
    history = MeetingHistory.from_events(sample_meeting(data_dir))
    recordings = sorted(str(p) for p in (data_dir / "recordings" / "m1").iterdir())
    job = RenderJob(
        recordings=recordings,
        questions=[asdict(q) for q in history.questions],
        hall_names=HALL_NAMES,
        title=history.title,
        commune="Xã Trực Khang",
        opened_at=OPENED,
        composite=str(data_dir / "hop.mp4"),
        clips_dir=str(data_dir / "clips"),
        threads=2,
    )
    run_job(job)
    return data_dir / "hop.mp4", data_dir / "clips", history


def _last_chair_time(folder: Path) -> float:
    last = 0.0
    try:
        with av.open(str(folder / "chair.mkv")) as container:
            for frame in container.decode(video=0):
                last = float(frame.time or 0.0)
    except av.error.FFmpegError:
        pass
    return last


def test_composite_spans_the_recorded_meeting_in_windows_friendly_formats(
    rendered: Rendered,
) -> None:
    composite, _, _ = rendered
    got = facts(composite)
    # The cut recording plays to its last whole frame: the meeting on record ends there.
    end = SECOND + _last_chair_time(composite.parent / "recordings/m1/r2")
    assert abs(got.duration - (end - FIRST)) <= 1.0
    assert (got.video_codec, got.pix_fmt, got.width, got.height) == ("h264", "yuv420p", 1280, 720)
    assert got.profile in {"Baseline", "Constrained Baseline", "Main", "High"}
    assert (got.audio_codec, got.audio_profile) == ("aac", "LC")
    with open(composite, "rb") as file:
        head = file.read(4096)
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # +faststart


def test_composite_shows_the_chair_full_then_the_speaking_hall_beside_it(
    rendered: Rendered,
) -> None:
    composite, _, _ = rendered
    pictures = pictures_at(composite, [1.0, 5.0, 9.5])
    alone = pictures[1.0]
    assert near(alone[300, 640], CHAIR_COLOUR)
    for t, hall in ((5.0, "thon-3"), (9.5, "thon-1")):
        picture = pictures[t]
        hall_picture = picture[SIDE_TOP : SIDE_TOP + HALF_H, HALF_W:]
        assert near(hall_picture[200, 320], HALL_COLOURS[hall])
        assert near(picture[SIDE_TOP + 200, HALF_W // 2], CHAIR_COLOUR)
        # The hall's own stamped picture, at the moment it was filmed.
        assert abs(read_time(hall_picture) - t) <= 0.2


def test_composite_names_the_speaker_in_a_lower_third_and_shows_a_card_for_the_gap(
    rendered: Rendered,
) -> None:
    composite, _, _ = rendered
    pictures = pictures_at(composite, [5.0, 13.5])
    third = pictures[5.0][LOWER_THIRD_Y + 4 : LOWER_THIRD_Y + 110, 60:700].astype(int)
    # A dark box with light lettering, over a picture that was flat colour.
    assert third.mean() < 90
    assert (third.min(axis=2) > 200).mean() > 0.01
    gap = pictures[13.5]  # between the two recordings
    assert not near(gap[300, 640], CHAIR_COLOUR) and not near(gap[300, 960], HALL_COLOURS["thon-3"])
    assert (gap[300:420, 400:900].min(axis=2) > 200).mean() > 0.01  # the card's text


def test_composite_carries_the_program_audio(rendered: Rendered) -> None:
    composite, _, _ = rendered
    samples, rate = sound(composite)
    alone = samples[int(0.5 * rate) : int(2.5 * rate)]
    assert abs(dominant_frequency(alone, rate) - CHAIR_TONE) < 10
    gap = samples[int(12.5 * rate) : int(14.5 * rate)]
    assert np.abs(gap).max() < 0.01  # nothing was recorded between the recordings


def test_one_clip_per_consenting_question_of_the_grant_to_the_end_of_the_floor(
    rendered: Rendered,
) -> None:
    _, clips, history = rendered
    names = sorted(p.name for p in clips.iterdir())
    assert len(names) == 2  # e1 (yes) and e3 (yes, cut); e2 never answered: no clip
    whole = next(n for n in names if "thon-3" in n)
    assert whole.endswith("_thon-3_ba-lan_duong-lien-thon.mp4")
    got = facts(clips / whole)
    assert abs(got.duration - 4.0) <= 0.2
    assert (got.video_codec, got.pix_fmt, got.audio_codec) == ("h264", "yuv420p", "aac")
    picture = pictures_at(clips / whole, [2.0])[2.0]
    # The hall fills the picture (its stamp scaled 2x), the chair sits in the inset.
    assert near(picture[360, 400], HALL_COLOURS["thon-3"])
    luma = picture[:32].mean(axis=2)

    assert abs(read_stamp(luma, bits=20, block=32) / 100 - 5.0) <= 0.2
    assert near(picture[16 + 90, 1280 - 16 - 160], CHAIR_COLOUR)
    lower = picture[570:660, 60:700]
    assert (lower.min(axis=2) > 200).mean() > 0.01


def test_a_cut_floor_ends_its_clip_at_the_drop_and_says_so(rendered: Rendered) -> None:
    _, clips, _ = rendered
    cut = next(p for p in clips.iterdir() if "thon-5" in p.name)
    assert cut.name.endswith(CUT_MARK + ".mp4")
    got = facts(cut)
    assert abs(got.duration - 3.0) <= 0.2
    assert "cut" in got.metadata.get("comment", "")


def test_an_empty_floor_file_shows_a_card_for_the_hall_and_still_makes_the_clip(
    tmp_path: Path,
) -> None:
    folder = write_recording(
        tmp_path / "recordings/m2/r1",
        meeting_id="m2",
        recording_id="r1",
        started_at=FIRST,
        duration=4,
    )
    (folder / "floor.mkv").write_bytes(b"")  # the hall's camera never reached the bridge
    question = Question("e1", "thon-3", "Bà Lan", "Cầu", FIRST, FIRST + 1, FIRST + 3, "ended", True)
    run_job(render_job(folder, tmp_path, questions=[asdict(question)]))
    assert abs(facts(tmp_path / "hop.mp4").duration - 4.0) <= 0.5
    (clip,) = (tmp_path / "clips").iterdir()
    assert abs(facts(clip).duration - 2.0) <= 0.2
    picture = pictures_at(clip, [1.0])[1.0]
    assert not near(picture[600, 200], HALL_COLOURS["thon-3"])
    assert near(picture[16 + 90, 1280 - 16 - 160], CHAIR_COLOUR)  # the chair, inset
