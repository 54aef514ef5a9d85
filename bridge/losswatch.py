"""Follows the holes in a publisher's packet numbers until they are filled or given up.

aiortc's receiver NACKs a hole once, when it first sees it. If that NACK or
its retransmission is lost too, the hole would stay open and every hall would
show a damaged picture until the next keyframe, seconds later. So holes are
asked for again a few times, and one still open after a short wait ends in a
keyframe request instead.
"""

from __future__ import annotations

RENACK_AFTER = 0.1  # seconds between two requests for the same packet
MAX_NACKS = 3  # requests per packet before we stop asking and wait
HOLE_TIMEOUT = 0.5  # seconds a hole may stay open before a keyframe is better
MAX_TRACKED = 512  # a burst longer than this is not repaired packet by packet


class LossWatch:
    """Pure bookkeeping on extended sequence numbers; the caller passes the time."""

    def __init__(
        self,
        *,
        renack_after: float = RENACK_AFTER,
        max_nacks: int = MAX_NACKS,
        hole_timeout: float = HOLE_TIMEOUT,
    ) -> None:
        self.renack_after = renack_after
        self.max_nacks = max_nacks
        self.hole_timeout = hole_timeout
        self.highest: int | None = None
        # extended number -> [when it went missing, when last asked for, times asked]
        self._missing: dict[int, list[float]] = {}
        self._asked: dict[int, float] = {}  # packets we had, asked for again by a subscriber
        self.holes_filled = 0
        self.holes_given_up = 0

    @property
    def missing(self) -> list[int]:
        return list(self._missing)

    def arrived(self, ext: int, now: float) -> bool:
        """Note packet `ext`; True when a burst is too long to repair, so a keyframe is due."""
        highest = self.highest
        if highest is None or ext == highest + 1:
            self.highest = ext
            return False
        if ext > highest:
            self.highest = ext
            if ext - highest - 1 > MAX_TRACKED:
                self.holes_given_up += len(self._missing) + ext - highest - 1
                self._missing.clear()
                return True
            # aiortc's receiver has just asked for these once.
            for seq in range(highest + 1, ext):
                self._missing[seq] = [now, now, 1.0]
            return False
        if self._missing.pop(ext, None) is not None:
            self.holes_filled += 1
        return False

    def due(self, now: float) -> tuple[list[int], bool]:
        """(numbers to ask for again, whether a hole was given up so a keyframe is due)."""
        if not self._missing:
            return [], False
        again: list[int] = []
        give_up = False
        for seq, entry in list(self._missing.items()):
            since, asked_at, asked = entry
            if now - since > self.hole_timeout:
                del self._missing[seq]
                self.holes_given_up += 1
                give_up = True
            elif asked < self.max_nacks and now - asked_at >= self.renack_after:
                entry[1] = now
                entry[2] = asked + 1
                again.append(seq)
        return again, give_up

    def should_ask(self, ext: int, now: float) -> bool:
        """Whether a subscriber's request for `ext` should go upstream now (not asked lately)."""
        entry = self._missing.get(ext)
        if entry is None:
            # We had it, but it has left the subscriber's sender history: the publisher
            # keeps a longer one. Ask once per interval, whoever asks.
            if self.highest is None or ext > self.highest:
                return False
            if now - self._asked.get(ext, -1e9) < self.renack_after:
                return False
            if len(self._asked) >= MAX_TRACKED:
                self._asked.clear()
            self._asked[ext] = now
            return True
        if now - entry[1] < self.renack_after:
            return False
        entry[1] = now
        entry[2] += 1
        return True
