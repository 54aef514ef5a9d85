"""Which rendition a hall gets: down quickly on loss, up carefully, no flapping."""

from __future__ import annotations

from bridge.picker import FULL, LIGHT, RenditionPicker


def test_two_lossy_reports_move_a_hall_to_the_light_stream() -> None:
    picker = RenditionPicker()
    assert picker.report(0.10, now=1.0) == FULL  # one bad report may be a burst
    assert picker.report(0.10, now=2.0) == LIGHT


def test_one_very_lossy_report_or_a_stall_moves_it_at_once() -> None:
    assert RenditionPicker().report(0.3, now=1.0) == LIGHT
    assert RenditionPicker().stalled(now=1.0) == LIGHT


def test_a_quiet_link_goes_back_to_the_full_stream_after_the_hold() -> None:
    picker = RenditionPicker(hold_up=8.0)
    picker.stalled(now=0.0)
    assert picker.report(0.0, now=1.0) == LIGHT
    assert picker.report(0.0, now=8.5) == LIGHT  # quiet for 7.5 s only
    assert picker.report(0.05, now=9.0) == LIGHT  # not quiet: the hold starts again
    assert picker.report(0.0, now=10.0) == LIGHT
    assert picker.report(0.0, now=18.0) == FULL


def test_a_failed_try_doubles_the_hold_so_a_marginal_link_does_not_flap() -> None:
    picker = RenditionPicker(hold_up=8.0)
    picker.stalled(now=0.0)
    picker.report(0.0, now=1.0)
    assert picker.report(0.0, now=9.0) == FULL
    assert picker.report(0.3, now=11.0) == LIGHT  # the full stream failed at once
    assert picker.hold_up == 16.0
    picker.report(0.0, now=12.0)
    assert picker.report(0.0, now=24.0) == LIGHT
    assert picker.report(0.0, now=28.0) == FULL


def test_rembs_well_below_the_full_stream_move_down_but_never_hold_a_hall_down() -> None:
    picker = RenditionPicker(hold_up=8.0)
    assert picker.remb(900_000, now=1.0, full_bitrate=2_000_000) == FULL
    assert picker.remb(900_000, now=2.0, full_bitrate=2_000_000) == FULL
    assert picker.remb(900_000, now=3.0, full_bitrate=2_000_000) == LIGHT
    picker.remb(300_000, now=3.0, full_bitrate=2_000_000)  # measured on the light stream
    picker.report(0.0, now=3.0)
    assert picker.report(0.0, now=11.0) == FULL


def test_a_small_streams_wandering_remb_moves_nothing() -> None:
    picker = RenditionPicker()
    for second in range(10):  # a fake camera's 40 kbit/s, estimated at half of it
        assert picker.remb(20_000, now=float(second), full_bitrate=40_000) == FULL
