"""Counts packets the bridge had to drop, by reason, and logs them without flooding the log.

A bad packet costs one packet (STYLE habit 11): it is counted and dropped,
never raised into the loop that owns a session. One odd publisher can send
thousands a second, so the log gets the first of each reason at once and
then one summary line per interval.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

LOG_INTERVAL = 10.0  # seconds between two log lines for the same reason


class Drops:
    def __init__(self, owner: str, logger: logging.Logger, interval: float = LOG_INTERVAL) -> None:
        self.owner = owner
        self.counts: Counter[str] = Counter()
        self._logger = logger
        self._interval = interval
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, reason: str, detail: object = None) -> None:
        """One packet dropped for `reason`; `detail` (e.g. the exception) goes in the log."""
        self.counts[reason] += 1
        self._unlogged[reason] += 1
        now = time.monotonic()
        if now - self._logged_at.get(reason, -1e9) < self._interval:
            return
        self._logged_at[reason] = now
        count = self._unlogged.pop(reason)
        suffix = f": {detail}" if detail is not None else ""
        self._logger.warning("%s dropped %d packet(s), %s%s", self.owner, count, reason, suffix)
