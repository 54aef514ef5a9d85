"""A producer's own packet numbering: the publisher's, plus room for packets it had to split.

Gaps must survive forwarding, or a hall cannot ask for what the publisher's
link lost. So the producer numbers each packet as the publisher did, shifted
by the number of extra packets splitting has added so far. A packet the
publisher retransmits later lands back in its own slot; the only packet that
cannot is an oversized one whose first copy never arrived, as it now needs
more than one slot.
"""

from __future__ import annotations

from collections import deque

_WINDOW = 4096  # how far back (in packets) a late packet or a NACK can be mapped


def unwrap(seq: int, highest: int | None) -> int:
    """The extended (never wrapping) number of 16-bit `seq`, nearest to `highest`."""
    if highest is None:
        return seq + 0x10000  # room below for packets that arrive late
    delta = (seq - highest) & 0xFFFF
    return highest + delta if delta < 0x8000 else highest - (0x10000 - delta)


class Numbering:
    """Extended publisher numbers in, the producer's 16-bit numbers out, and back for NACKs."""

    def __init__(self) -> None:
        self.highest: int | None = None  # extended number of the newest publisher packet
        self._extra = 0  # forwarded minus publisher number, from `highest` on
        # (first publisher number it applies to, extra), oldest first; empty until a split
        self._changes: deque[tuple[int, int]] = deque()
        self._base_extra = 0  # extra before the oldest change still kept
        self._split: dict[int, tuple[int, int]] = {}  # publisher number -> (first slot, count)
        self._origin: dict[int, int] = {}  # forwarded 16-bit -> publisher 16-bit, while splitting
        self._origin_order: deque[int] = deque()

    def place(self, seq: int, count: int) -> int | None:
        """Slots for publisher packet `seq` (16 bits) sent as `count` packets: the first
        slot's 16-bit number, or None when a late packet has no room."""
        ext = unwrap(seq, self.highest)
        if self.highest is None or ext > self.highest:
            first = ext + self._extra
            self.highest = ext
            if count > 1:
                self._extra += count - 1
                self._changes.append((ext + 1, self._extra))
                self._split[ext] = (first, count)
                self._forget_before(ext - _WINDOW)
        else:
            known = self._split.get(ext)
            if known is not None:  # a retransmission of a packet we split before
                first, slots = known
                if slots != count:
                    return None
            elif count > 1:
                return None
            else:
                first = ext + self._extra_at(ext)
        if self._changes:
            self._remember(first, seq, count)
        return first & 0xFFFF

    def origin(self, forwarded: int) -> int:
        """The publisher's 16-bit number for forwarded number `forwarded` (for a NACK)."""
        if not self._changes:
            return forwarded
        return self._origin.get(forwarded, forwarded)

    def _extra_at(self, ext: int) -> int:
        for start, extra in reversed(self._changes):
            if start <= ext:
                return extra
        return self._base_extra

    def _remember(self, first: int, seq: int, count: int) -> None:
        for slot in range(first, first + count):
            key = slot & 0xFFFF
            self._origin[key] = seq
            self._origin_order.append(key)
        while len(self._origin_order) > _WINDOW:
            old = self._origin_order.popleft()
            self._origin.pop(old, None)

    def _forget_before(self, ext: int) -> None:
        while len(self._changes) > 1 and self._changes[1][0] <= ext:
            start, self._base_extra = self._changes.popleft()
            self._split.pop(start - 1, None)
