"""RTP packets of one recorded track back into whole frames, stamped with recording time.

Packets come as the bridge forwarded them: a retransmission may arrive late and out of
order. A frame leaves once all its packets are here, in order; a hole that stays open
for HOLD seconds is loss, and the video waits for the next keyframe rather than write a
picture the player would show broken. Opus needs no assembly: one packet, one frame.

Pure: the recorder's thread drives it, passing each packet's arrival (wall) time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .depayload import depayloader, is_keyframe

logger = logging.getLogger(__name__)

HOLD = 0.5  # seconds a hole may wait for its retransmission before it counts as lost
MAX_PENDING = 3000  # packets: beyond this the track is hopelessly behind; start afresh
# The clock moves later only when every packet of a WINDOW came more than LATE after its
# media time: a sender whose clock runs slow, or a source whose timestamps jumped back.
WINDOW, LATE = 2.0, 0.03


@dataclass(frozen=True)
class Frame:
    data: bytes
    pts: float  # seconds since the recording started
    wall: float  # when its first packet arrived (unix s)
    keyframe: bool


class Unwrapper:
    """Turns a wrapping counter (16-bit sequence numbers, 32-bit timestamps) into a line."""

    def __init__(self, bits: int) -> None:
        self._modulo = 1 << bits
        self._last: int | None = None
        self._value = 0

    def __call__(self, raw: int) -> int:
        if self._last is None:
            self._last, self._value = raw, raw
            return raw
        step = (raw - self._last) % self._modulo
        if step >= self._modulo // 2:
            step -= self._modulo  # an older one: answered without moving the reference
        value = self._value + step
        if step > 0:
            self._last, self._value = raw, value
        return value


class Clock:
    """One track's RTP timestamps → seconds since `started_at`.

    The sender's timestamps are its capture clock: they space the frames faithfully, and
    only their offset to the wall clock is to be found. Each arrival is that offset plus a
    delay (the network, a busy event loop, a late writer), so the offset is the least one
    seen: a packet held up for a second moves nothing. It moves earlier at once, since a
    packet can't arrive before it was sent (the first packets came late, or a new source
    jumped ahead), and later only after a whole WINDOW of late packets.
    """

    def __init__(self, clock_rate: int, started_at: float) -> None:
        self._rate = clock_rate
        self._started_at = started_at
        self._unwrap = Unwrapper(32)
        self._offset: float | None = None  # media time minus the sender's, in seconds
        self._window: tuple[float, float] | None = None  # (since, least offset) of late ones
        self.reanchored = 0

    def at(self, timestamp: int, wall: float) -> float:
        sender = self._unwrap(timestamp) / self._rate
        offset = wall - self._started_at - sender
        if self._offset is None or offset <= self._offset:
            if self._offset is not None and offset < self._offset - LATE:
                self.reanchored += 1  # a jump ahead, not the usual jitter
            self._offset, self._window = offset, None
        elif offset - self._offset <= LATE:
            self._window = None  # one on time: the clock holds
        elif self._window is None:
            self._window = (wall, offset)
        else:
            since, least = self._window[0], min(self._window[1], offset)
            self._window = (since, least)
            if wall - since >= WINDOW:
                self._offset, self._window = least, None
                self.reanchored += 1
        return sender + self._offset


class Framer:
    """Packets in (`push`), whole frames out (`frames`), for one track."""

    def __init__(self, kind: str, codec: str, clock: Clock) -> None:
        self.kind = kind
        self.codec = codec
        self._depay = depayloader(codec) if kind == "video" else None
        self._clock = clock
        self._seq = Unwrapper(16)
        # unwrapped sequence number → (timestamp, marker, payload, wall)
        self._pending: dict[int, tuple[int, bool, bytes, float]] = {}
        self._next: int | None = None  # the sequence number the next frame starts at
        self.need_keyframe = kind == "video"
        self.keyframe_wanted = False  # set on loss; the recorder asks the sender and clears it
        self.frames_out = 0
        self.frames_lost = 0
        self.packets_late = 0

    def push(self, seq: int, timestamp: int, marker: bool, payload: bytes, wall: float) -> None:
        number = self._seq(seq)
        if self._next is not None and number < self._next:
            self.packets_late += 1  # its frame is gone already, written or given up
            return
        self._pending[number] = (timestamp, marker, payload, wall)
        if len(self._pending) > MAX_PENDING:
            self._pending.clear()
            self._next = None
            self._lost()

    def frames(self, now: float) -> list[Frame]:
        """Every frame that is complete, or whose holes waited long enough, in order."""
        out: list[Frame] = []
        pending = self._pending
        while pending:
            start = self._next if self._next is not None else min(pending)
            if start not in pending:
                oldest = min(pending)
                if now - pending[oldest][3] < HOLD:
                    break  # the hole before it may still be filled
                self._lost()
                self._next = oldest
                continue
            run = self._run(start)
            if run is None:  # incomplete: its last packets are missing so far
                if now - pending[start][3] < HOLD or max(pending) <= start:
                    break
                self._drop_frame(start)
                continue
            if not run:  # cut short: the next frame follows with no hole to wait on
                self._drop_frame(start)
                continue
            frame = self._frame(run)
            self._next = run[-1] + 1
            for number in run:
                del pending[number]
            if frame is not None:
                out.append(frame)
        return out

    # -- one frame ---------------------------------------------------------------------

    def _run(self, start: int) -> list[int] | None:
        """The sequence numbers of the whole frame starting at `start`; None while it is
        incomplete, [] when it never will be: the next frame follows its last packet here
        before any packet carried its marker. A relay that stopped mid-frame and went on
        with the next keyframe leaves just that, and the picture would decode torn."""
        if self.kind == "audio":
            return [start]
        timestamp = self._pending[start][0]
        run: list[int] = []
        number = start
        while number in self._pending:
            ts, marker, _, _ = self._pending[number]
            if ts != timestamp:
                return []
            run.append(number)
            if marker:
                return run
            number += 1
        return None

    def _frame(self, run: list[int]) -> Frame | None:
        timestamp, _, _, wall = self._pending[run[0]]
        try:
            if self._depay is None:
                data = self._pending[run[0]][2]
            else:
                data = b"".join(self._depay(self._pending[n][2]) for n in run)
        except ValueError:  # a payload aiortc could not parse: costs this frame
            self._lost()
            return None
        keyframe = self.kind == "audio" or is_keyframe(self.codec, data)
        if self.need_keyframe and not keyframe:
            return None
        self.need_keyframe = False
        self.frames_out += 1
        return Frame(data, self._clock.at(timestamp, wall), wall, keyframe)

    def _drop_frame(self, start: int) -> None:
        timestamp = self._pending[start][0]
        number = start
        while number in self._pending and self._pending[number][0] == timestamp:
            del self._pending[number]
            number += 1
        # Its missing packets, should they still come, are late now; we need a keyframe.
        self._next = min(self._pending) if self._pending else number
        self._lost()

    def _lost(self) -> None:
        self.frames_lost += 1
        if self.kind == "video":
            self.need_keyframe = True
            self.keyframe_wanted = True
