"""Slows down key guessing: an address that gave too many wrong keys in a minute gets 429.

Guessing a 96-bit key is hopeless anyway; this keeps a guesser from costing the
bridge thousands of answers a second, and tells the operator (one line a minute
per address) that someone is trying.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque

from .quietlog import RateLimitedLog

logger = logging.getLogger(__name__)

WINDOW = 60.0
# Addresses remembered at most; a guesser with many addresses pushes out the oldest.
MAX_ADDRESSES = 10_000


class KeyBackoff:
    """Wrong keys per client address over the last minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._warned_at: dict[str, float] = {}
        self._warnings = RateLimitedLog(logger, per_minute=10)  # across all addresses

    def retry_after(self, address: str, now: float) -> int:
        """Seconds until `address` may try a key again; 0 when it may now."""
        failures = self._failures.get(address)
        if failures is None:
            return 0
        while failures and now - failures[0] >= WINDOW:
            failures.popleft()
        if not failures:
            del self._failures[address]
            self._warned_at.pop(address, None)
            return 0
        if len(failures) < self.per_minute:
            return 0
        return max(1, math.ceil(failures[0] + WINDOW - now))

    def failed(self, address: str, now: float) -> None:
        failures = self._failures.setdefault(address, deque(maxlen=self.per_minute))
        self._failures.move_to_end(address)
        failures.append(now)
        while len(self._failures) > MAX_ADDRESSES:
            gone, _ = self._failures.popitem(last=False)
            self._warned_at.pop(gone, None)
        warned_at = self._warned_at.get(address, -WINDOW)
        if len(failures) >= self.per_minute and now - warned_at >= WINDOW:
            self._warned_at[address] = now
            self._warnings.warning(
                "wrong keys from %s: %d in the last minute; answering 429 until it stops",
                address,
                len(failures),
            )
