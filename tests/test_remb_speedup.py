"""The REMB estimator with its loops made cheap (bridge/aiortc_internals/remb.py) must give
exactly the estimates aiortc's own gives, packet for packet."""

from __future__ import annotations

import random

from aiortc.rate import RateCounter, RemoteBitrateEstimator

from bridge.aiortc_internals.remb import WindowRate, speed_up


def test_the_window_rate_counts_as_aiortcs_rate_counter() -> None:
    rng = random.Random(7)
    ours, theirs = WindowRate(1000, 8000), RateCounter(1000, 8000)
    now = 10_000
    for step in range(5000):
        now += rng.choice([0, 0, 1, 3, 20, 33, 400, 1500])
        if step % 700 == 699:
            ours.reset()
            theirs.reset()
        size = rng.randint(50, 1200)
        assert ours.rate(now) == theirs.rate(now)
        ours.add(size, now)
        theirs.add(size, now)
        assert ours.rate(now) == theirs.rate(now), step


def _abs_send_time(seconds: float) -> int:
    """The 24-bit abs-send-time extension: 6.18 fixed point seconds."""
    return int(seconds * (1 << 18)) & 0xFFFFFF


def test_the_sped_up_estimator_gives_aiortcs_estimates() -> None:
    """A 30 fps video over a link that first keeps up, then queues (delay grows): both
    estimators must send the same REMB values at the same packets."""
    rng = random.Random(3)
    ours, theirs = RemoteBitrateEstimator(), RemoteBitrateEstimator()
    speed_up(ours)
    sent_at, arrive_at, queue = 0.0, 0.0, 0.0
    clock_ms = 3_900_000_000_000  # aiortc's arrival times count in ms from 1900
    estimates = []
    for frame in range(900):
        sent_at += 1 / 30
        if frame > 450:
            queue += 0.004  # the link is full: each frame waits a little longer
        for _ in range(rng.randint(2, 9)):
            size = rng.randint(900, 1200)
            arrive_at = max(arrive_at, (sent_at + 0.05 + queue) * 1000) + rng.random()
            args = {
                "arrival_time_ms": clock_ms + int(arrive_at),
                "abs_send_time": _abs_send_time(sent_at),
                "payload_size": size,
                "ssrc": 1234,
            }
            expected = theirs.add(**args)
            assert ours.add(**args) == expected, frame
            if expected is not None:
                estimates.append(expected[0])
    assert len(estimates) >= 5 and min(estimates) < max(estimates)  # it did estimate, and change
