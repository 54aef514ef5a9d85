"""Holes in the publisher's numbers: asked for again, then given up for a keyframe."""

from __future__ import annotations

from bridge.losswatch import MAX_TRACKED, LossWatch


def test_a_hole_that_stays_open_is_asked_for_again_then_ends_in_a_keyframe() -> None:
    watch = LossWatch(renack_after=0.1, max_nacks=3, hole_timeout=0.5)
    watch.arrived(100, now=0.0)
    watch.arrived(103, now=0.01)
    assert watch.missing == [101, 102]
    assert watch.due(0.05) == ([], False)  # aiortc's receiver has just asked
    assert watch.due(0.12) == ([101, 102], False)
    watch.arrived(101, now=0.15)  # the retransmission of 101 arrives
    assert watch.due(0.25) == ([102], False)  # third and last request
    assert watch.due(0.4) == ([], False)
    assert watch.due(0.52) == ([], True)  # still open: a keyframe is better now
    assert watch.missing == [] and watch.holes_filled == 1 and watch.holes_given_up == 1


def test_a_burst_too_long_to_repair_asks_for_a_keyframe_at_once() -> None:
    watch = LossWatch()
    watch.arrived(1, now=0.0)
    assert watch.arrived(2 + MAX_TRACKED + 1, now=0.1) is True
    assert watch.missing == []


def test_subscribers_asking_for_the_same_packet_reach_the_publisher_once_per_interval() -> None:
    watch = LossWatch(renack_after=0.1)
    watch.arrived(1, now=0.0)
    watch.arrived(3, now=0.0)
    assert not watch.should_ask(2, now=0.05)  # just asked by the receiver
    assert watch.should_ask(2, now=0.11)
    assert not watch.should_ask(2, now=0.12)
    assert watch.should_ask(1, now=0.2)  # we had it; the hall's sender history did not
    assert not watch.should_ask(1, now=0.25)
    assert not watch.should_ask(9, now=0.3)  # not sent yet: nothing to ask for
