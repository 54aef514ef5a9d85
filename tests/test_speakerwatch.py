"""Each cluster's watch, driven synchronously with `at=`: on and off, meetings carried, the
flags, and status reports that are kept or refused without a trace."""

from __future__ import annotations

import json

import pytest

from web.errors import BadRequest, TooManyRequests
from web.speakerconfig import SpeakerConfig, SpeakerLimits
from web.speakerwatch import Span, SpeakerWatch

T0 = 1_700_000_000.0
CLUSTERS = (
    SpeakerConfig("loa-1", "Cụm loa Thôn 1", "thon-1", "k" * 32),
    SpeakerConfig("loa-2", "Cụm loa Thôn 2", "thon-2", "q" * 32),
)


def watch() -> SpeakerWatch:
    return SpeakerWatch(CLUSTERS, SpeakerLimits(listeners=5, stale_after=60))


def cluster(w: SpeakerWatch, speaker_id: str, at: float) -> dict[str, object]:
    return next(c for c in w.snapshot(at)["clusters"] if c["id"] == speaker_id)


def test_a_cluster_that_carried_the_meeting_and_went_off_is_flagged_dropped() -> None:
    w = watch()
    assert w.meeting("m1", T0) == []
    assert w.opened("loa-1", T0 + 1) == [Span("m1", "loa-1", T0 + 1)]
    assert w.opened("loa-1", T0 + 2) == []  # a second stream of the same cluster
    assert cluster(w, "loa-1", T0 + 3)["flags"] == []
    assert w.closed("loa-1", T0 + 4) == []
    assert w.closed("loa-1", T0 + 5) == [Span("m1", "loa-1", T0 + 1, T0 + 5)]
    assert cluster(w, "loa-1", T0 + 6)["flags"] == ["dropped"]
    # A cluster that never carried this meeting is stale, not dropped.
    assert cluster(w, "loa-2", T0 + 6)["flags"] == ["stale"]


def test_a_meeting_closing_ends_every_span_and_a_new_one_begins_them_anew() -> None:
    w = watch()
    w.opened("loa-2", T0)  # on before any meeting: no span
    assert w.meeting("m1", T0 + 10) == [Span("m1", "loa-2", T0 + 10)]
    assert w.meeting(None, T0 + 20) == [Span("m1", "loa-2", T0 + 10, T0 + 20)]
    assert w.meeting("m2", T0 + 30) == [Span("m2", "loa-2", T0 + 30)]
    assert [s.meeting_id for s in w.spans] == ["m2"]


def test_a_cluster_unseen_for_stale_after_is_flagged_stale() -> None:
    w = watch()
    w.opened("loa-1", T0)
    w.sent("loa-1", 1000, T0 + 5)
    w.closed("loa-1", T0 + 6)
    assert cluster(w, "loa-1", T0 + 60)["flags"] == []
    assert cluster(w, "loa-1", T0 + 66)["flags"] == ["stale"]
    w.reported("loa-1", b'{"volume": 3}', T0 + 70)  # a status report counts as seen
    assert cluster(w, "loa-1", T0 + 71)["flags"] == []


def test_a_report_within_a_second_or_malformed_changes_nothing() -> None:
    w = watch()
    w.reported("loa-1", json.dumps({"volume": 40, "power": "battery"}).encode(), T0)
    with pytest.raises(TooManyRequests):
        w.reported("loa-1", b'{"volume": 90}', T0 + 0.5)
    with pytest.raises(BadRequest):
        w.reported("loa-1", b'{"volume": 90, "x": 1}', T0 + 2)
    with pytest.raises(BadRequest):
        w.reported("loa-1", b'{"firmware": "' + b"a" * 5000 + b'"}', T0 + 3)
    state = cluster(w, "loa-1", T0 + 4)
    assert state["status"] == {"volume": 40, "signal": None, "power": "battery", "firmware": None}
    assert state["status_at"] == T0
