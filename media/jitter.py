"""One mixer input's jitter buffer: Opus packets in any order in, 20 ms of samples per tick out.

Packets are put back in sequence order and decoded only when their turn
comes. Playing starts after a short prebuffer; a packet missing while later
ones are here is lost and becomes silence; an input with nothing left stops
and prebuffers again when packets return. An input that runs ahead (a burst,
or a mixer that fell behind) drops its oldest audio, so it is never heard
more than `max_delay` late. A numbering that jumps (a new source) starts the
buffer afresh instead of waiting for numbers that will never come.

It is driven by one thread, the mixer's tick: no locks, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .opus import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder, Pcm

PREBUFFER_FRAMES = 3  # 60 ms of 20 ms packets before an input is heard
MAX_DELAY = 0.2  # seconds of audio an input may hold before its oldest is dropped
# A sequence number this far from the newest is not loss or reordering: a new numbering.
JUMP = 100
LATE_IN_A_ROW = 5  # this many too-old packets in a row: the numbering went back
_EMPTY = np.zeros(0, np.int16)


class JitterBuffer:
    def __init__(
        self,
        decoder: Callable[[], OpusDecoder] = OpusDecoder,
        *,
        prebuffer_frames: int = PREBUFFER_FRAMES,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._new_decoder = decoder
        self._prebuffer = prebuffer_frames
        self._max_samples = int(max_delay * SAMPLE_RATE)
        self.packets_played = 0
        self.lost = 0  # missing when their turn came: heard as silence
        self.late = 0  # arrived after their turn
        self.duplicates = 0
        self.dropped_behind = 0  # dropped to keep the input within max_delay
        self.decode_errors = 0
        self.resets = 0  # new numberings
        self.underruns = 0  # ran dry while playing
        self.last_error = ""
        self._decoder = decoder()
        self._restart()

    def _restart(self) -> None:
        self._ssrc: int | None = None
        self._pending: dict[int, bytes] = {}  # unwrapped sequence number → payload
        self._highest: int | None = None
        self._next: int | None = None  # the number whose turn is next
        self._playing = False
        self._waited = 0  # ticks spent prebuffering
        self._late_in_a_row = 0
        self._pcm = _EMPTY  # decoded, not yet played
        self._frame = FRAME_SAMPLES  # samples per packet, as last decoded

    @property
    def playing(self) -> bool:
        return self._playing

    def put(self, seq: int, ssrc: int, payload: bytes) -> None:
        if self._ssrc is not None and ssrc != self._ssrc:
            self._reset()
        self._ssrc = ssrc
        if self._highest is None:
            number = seq
        else:
            diff = ((seq - self._highest + 0x8000) & 0xFFFF) - 0x8000
            if abs(diff) > JUMP:
                self._reset()
                self._ssrc = ssrc
                number = seq
            else:
                number = self._highest + diff
        if self._next is not None and number < self._next:
            self.late += 1
            self._late_in_a_row += 1
            if self._late_in_a_row >= LATE_IN_A_ROW:
                self._reset()
                self.put(seq, ssrc, payload)
            return
        self._late_in_a_row = 0
        if number in self._pending:
            self.duplicates += 1
            return
        self._pending[number] = payload
        if self._highest is None or number > self._highest:
            self._highest = number

    def _reset(self) -> None:
        self.resets += 1
        self._restart()
        self._decoder = self._new_decoder()  # the old stream's state would colour the new one

    def pull(self) -> Pcm | None:
        """The next FRAME_SAMPLES samples, or None while the input has nothing to play."""
        if not self._playing and not self._ready():
            return None
        self._keep_within_delay()
        pcm = self._pcm
        while len(pcm) < FRAME_SAMPLES:
            chunk = self._next_chunk()
            if chunk is None:  # ran dry: play what is left, then prebuffer again
                self.underruns += 1
                self._playing = False
                self._waited = 0
                self._pcm = _EMPTY
                if not len(pcm):
                    return None
                return np.concatenate([pcm, np.zeros(FRAME_SAMPLES - len(pcm), np.int16)])
            pcm = np.concatenate([pcm, chunk]) if len(pcm) else chunk
        self._pcm = pcm[FRAME_SAMPLES:]
        return pcm[:FRAME_SAMPLES]

    def _ready(self) -> bool:
        if not self._pending or self._highest is None:
            return False
        self._waited += 1
        first = min(self._pending)
        if self._highest - first + 1 < self._prebuffer and self._waited < self._prebuffer:
            return False
        self._playing = True
        if self._next is not None and first > self._next:
            self.lost += first - self._next  # missing since we ran dry
        self._next = first
        return True

    def _keep_within_delay(self) -> None:
        assert self._next is not None and self._highest is not None
        held = (self._highest - self._next + 1) * self._frame + len(self._pcm)
        if held <= self._max_samples:
            return
        keep_from = self._highest - self._prebuffer + 1
        for number in [n for n in self._pending if n < keep_from]:
            del self._pending[number]
            self.dropped_behind += 1
        self._next = max(self._next, keep_from)
        self._pcm = _EMPTY

    def _next_chunk(self) -> Pcm | None:
        """The samples of the packet whose turn it is: decoded, or silence if it is lost."""
        assert self._next is not None
        payload = self._pending.pop(self._next, None)
        if payload is None and not self._pending:
            return None
        self._next += 1
        if payload is None:
            self.lost += 1
            return np.zeros(self._frame, np.int16)
        try:
            pcm = self._decoder.decode(payload)
        except Exception as exc:  # a bad packet costs that packet (av.FFmpegError mostly)
            self.decode_errors += 1
            self.last_error = repr(exc)
            return np.zeros(self._frame, np.int16)
        self.packets_played += 1
        if len(pcm):
            self._frame = len(pcm)
        return pcm
