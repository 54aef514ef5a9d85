"""A consumer's own numbering: the sequence numbers and timestamps its subscriber sees.

Like mediasoup, a consumer shifts sequence numbers by one offset, which changes
only where the consumer itself skipped packets (a new publisher, or waiting for
a keyframe). So the subscriber sees no gap where we skipped, but does see every
gap the publisher's link made, and can ask for those packets again. Timestamps
shift by one offset per source, chosen so that a new source goes on from where
the last one stopped, as much later as time has passed.
"""

from __future__ import annotations

import random

_HALF = 0x8000


def _newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number `a` comes after `b`."""
    return 0 < ((a - b) & 0xFFFF) < _HALF


class Renumbering:
    """Source numbers in, the subscriber's numbers out. Called per packet: keep it cheap."""

    def __init__(self, clock_rate: int) -> None:
        self._clock_rate = clock_rate
        self.next_seq = random.randint(0, 0x7FFF)  # one past the newest number we sent
        self.seq_offset = 0
        self._sync_seq = 0  # source number where the current offset began
        self._resync = True  # the next packet starts a new sequence offset
        self._rebase = True  # ... and a new timestamp offset: a new source
        self._ts_offset = 0
        self._last_ts: int | None = None
        self.last_sent_at: float | None = None  # loop time of the newest packet sent

    def skip(self, cut: bool = False) -> None:
        """We skip packets of this source (and wait for a keyframe): no gap for that. But
        `cut`: a picture half sent stops here, so leave one number out, and the subscriber
        drops that picture instead of showing it damaged."""
        if cut:
            self.next_seq = (self.next_seq + 1) & 0xFFFF
        self._resync = True

    def unsent(self, first: int) -> int:
        """Our packets from number `first` on never left after all: what never left is no
        loss to report, so their numbers are given out again. Returns how many."""
        count = (self.next_seq - first) & 0xFFFF
        self.next_seq = first
        return count

    def new_source(self) -> None:
        """Another source (or the same one restarted): new offsets for both numbers."""
        self._resync = True
        self._rebase = True

    def place(self, seq: int, timestamp: int, now: float) -> tuple[int, int] | None:
        """Our (seq, timestamp) for the source's, or None for a retransmission from before
        we (re)started: the subscriber never had that stretch, so it has no slot for it."""
        if self._resync:
            self.seq_offset = (self.next_seq - seq) & 0xFFFF
            self._sync_seq = seq
            if self._rebase:
                self._rebase = False
                self._ts_offset = self._continuing(timestamp, now)
        else:
            since_sync = (seq - self._sync_seq) & 0xFFFF
            if since_sync >= _HALF:
                return None
            if since_sync > _HALF // 2:
                self._sync_seq = (seq - _HALF // 4) & 0xFFFF  # keep it in comparing range
        return (seq + self.seq_offset) & 0xFFFF, (timestamp + self._ts_offset) & 0xFFFFFFFF

    def sent(self, seq: int, timestamp: int, now: float) -> None:
        """The packet `place` numbered went out."""
        if self._resync or ((seq - self.next_seq) & 0xFFFF) < _HALF:  # not older than the newest
            self.next_seq = (seq + 1) & 0xFFFF
        self._resync = False
        self._last_ts = timestamp
        self.last_sent_at = now

    def source_numbers(self, lost: list[int]) -> list[int]:
        """The source's numbers for these of ours, where the current offset covers them."""
        wanted = []
        for seq in lost:
            source = (seq - self.seq_offset) & 0xFFFF
            if source == self._sync_seq or _newer(source, self._sync_seq):
                wanted.append(source)
        return wanted

    def _continuing(self, timestamp: int, now: float) -> int:
        """Timestamp offset that makes a new source continue where the last one stopped."""
        if self._last_ts is None or self.last_sent_at is None:
            return 0
        elapsed = max(now - self.last_sent_at, 0.001)
        target = self._last_ts + int(elapsed * self._clock_rate)
        return (target - timestamp) & 0xFFFFFFFF
