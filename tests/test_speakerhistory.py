"""The clusters' history in meetings.sqlite: spans kept per meeting beside the event log, and
spans a stopped bridge left open ended at the next start."""

from __future__ import annotations

from pathlib import Path

from web.eventlog import EventLog
from web.speakerhistory import SpeakerHistory
from web.speakerwatch import Span

T0 = 1_700_000_000.0


def test_spans_are_kept_per_meeting_and_their_ends_update_them(tmp_path: Path) -> None:
    log = EventLog(tmp_path)  # the event log's connection on the same file
    history = SpeakerHistory(tmp_path)
    try:
        history.write([Span("m1", "loa-1", T0), Span("m1", "loa-2", T0 + 5)])
        history.write([Span("m1", "loa-1", T0, T0 + 60), Span("m2", "loa-1", T0 + 100)])
        assert history.spans("m1") == [
            Span("m1", "loa-1", T0, T0 + 60),
            Span("m1", "loa-2", T0 + 5, None),
        ]
        assert history.spans("m2") == [Span("m2", "loa-1", T0 + 100)]
        assert log.meetings() == []  # its own table: the event log is untouched
    finally:
        history.close()
        log.close()


def test_spans_left_open_by_a_stopped_bridge_end_at_the_next_start(tmp_path: Path) -> None:
    first = SpeakerHistory(tmp_path)
    first.write([Span("m1", "loa-1", T0), Span("m1", "loa-2", T0, T0 + 10)])
    first.close()  # as after kill -9: nothing ended loa-1's span
    again = SpeakerHistory(tmp_path)
    try:
        assert again.interrupted(T0 + 300) == 1
        assert again.spans("m1") == [
            Span("m1", "loa-1", T0, T0 + 300),
            Span("m1", "loa-2", T0, T0 + 10),
        ]
    finally:
        again.close()
