"""aiortc's REMB bandwidth estimator with its two per-packet loops made cheap.

aiortc.rate.RemoteBitrateEstimator runs for every video packet a publisher sends.
Two of its parts loop in Python where they need not:

- its incoming-rate counter (RateCounter) clears one 1 ms bucket at a time,
  so a packet 20 ms after the last costs 20 turns of a loop;
- its overuse estimator finds the shortest of the last 60 frame periods by
  looping over a list.

`speed_up` swaps in equivalents that give the same numbers (tests compare them
with aiortc's own on the same input), so the estimates the publishers get are
unchanged.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from aiortc.rate import MIN_FRAME_PERIOD_HISTORY_LENGTH, RemoteBitrateEstimator

from .names import require


class WindowRate:
    """aiortc's RateCounter (the amount received over the last `window_ms`, scaled),
    keeping each amount with its time instead of a bucket per millisecond."""

    def __init__(self, window_ms: int, scale: int = 8000) -> None:
        self._window_ms = window_ms
        self._scale = scale
        self.reset()

    def reset(self) -> None:
        self._amounts: deque[tuple[int, int]] = deque()
        self._origin_ms: int | None = None
        self._count = 0
        self._total = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._forget_old(now_ms)
        self._amounts.append((now_ms, value))
        self._count += 1
        self._total += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is None:
            return None
        self._forget_old(now_ms)
        active_window_ms = now_ms - self._origin_ms + 1
        if self._count > 0 and active_window_ms > 1:
            return round(self._scale * self._total / active_window_ms)
        return None

    def _forget_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        origin_ms = now_ms - self._window_ms + 1
        if self._origin_ms >= origin_ms:
            return
        amounts = self._amounts
        while amounts and amounts[0][0] < origin_ms:
            _, value = amounts.popleft()
            self._count -= 1
            self._total -= value
        self._origin_ms = origin_ms


def shortest_frame_period(estimator: Any) -> Any:
    """aiortc's OveruseEstimator.update_min_frame_period for `estimator`, with the
    builtin min instead of a Python loop."""
    history: list[float] = require(estimator, "ts_delta_hist")

    def update_min_frame_period(ts_delta: float) -> float:
        if len(history) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
            history.pop(0)
        shortest = min(history, default=ts_delta)
        history.append(ts_delta)
        return min(shortest, ts_delta)

    return update_min_frame_period


def speed_up(estimator: RemoteBitrateEstimator) -> None:
    """Swap `estimator`'s two looping parts for their cheap equivalents (see above)."""
    counter = require(estimator, "incoming_bitrate")
    if isinstance(counter, WindowRate):
        return  # already done
    window_ms, scale = require(counter, "_window_size"), require(counter, "_scale")
    overuse = require(estimator, "estimator")
    require(overuse, "update_min_frame_period")
    estimator.incoming_bitrate = WindowRate(window_ms, scale)  # type: ignore[assignment]
    overuse.update_min_frame_period = shortest_frame_period(overuse)
