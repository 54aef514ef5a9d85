"""The program audio mix: N Opus inputs in, one Opus stream out, 20 ms at a time.

Each input is a port a bridge Consumer can send to (bridge.consumer.PacketPort);
`send` only queues the packet. Each 20 ms frame is mixed once, on the
mixer's own thread (which wakes for every FRAMES_PER_WAKE frames): it takes
what each input queued, decodes each input once, sums them with int16
saturation and encodes one frame for everybody, so the cost does not grow
with the number of listeners. The output is one RTP stream with its own SSRC
and continuous numbering, handed to `on_packet` on the event loop, so it can
feed a Producer like any publisher's track (and later the recorder).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from aiortc.rtp import RtpPacket

from bridge.drops import Drops

from .jitter import MAX_DELAY, PREBUFFER_FRAMES, JitterBuffer
from .opus import BITRATE, FRAME_SAMPLES, PAYLOAD_TYPE, SAMPLE_RATE, OpusEncoder, RtpNumbering

logger = logging.getLogger(__name__)

TICK = FRAME_SAMPLES / SAMPLE_RATE  # 20 ms
LATE = TICK / 2  # a tick this far past its time counts as late
MAX_CATCH_UP = 5  # ticks made up back to back after a stall; beyond that, time is skipped
# Woken 50 times a second, libopus finds its caches cold and costs about three times what
# it does in a loop: two frames per wake cost a third less CPU (3.4 % → 2.3 % of a core
# for two inputs, bench/mixer_bench.py), for 20 ms more latency on every other frame.
FRAMES_PER_WAKE = 2
MAX_QUEUE_PACKETS = 50  # per input between two ticks: 1 s of 20 ms packets


@dataclass(frozen=True)
class InputStats:
    packets_in: int
    queue_drops: int  # dropped by `send`: the tick did not keep up
    packets_played: int
    lost: int
    late: int
    duplicates: int
    dropped_behind: int  # dropped to keep the input within ~200 ms
    decode_errors: int
    resets: int  # new numberings (a new source)
    underruns: int
    playing: bool


@dataclass(frozen=True)
class MixerStats:
    frames_out: int
    ticks_late: int
    ticks_skipped: int  # time the mixer could not make up: a gap in the output timestamps
    encode_errors: int
    inputs: tuple[InputStats, ...]


class MixerPort:
    """One input, as a bridge Consumer's port. Numbers are the consumer's own, in its space."""

    def __init__(self, payload_type: int, max_packets: int = MAX_QUEUE_PACKETS) -> None:
        self.payload_type = payload_type
        self.ssrc = random.getrandbits(32)  # what a consumer stamps on the packets it sends us
        self.packets_in = 0
        self.queue_drops = 0
        self.open = False
        # Appended on the event loop, emptied by the tick's thread: deque's append and
        # popleft are atomic, so neither side takes a lock.
        self.queue: deque[tuple[int, int, bytes]] = deque(maxlen=max_packets)

    @property
    def started(self) -> bool:
        return True  # the consumer may send at once; packets before start() are dropped

    async def send(self, packet: RtpPacket) -> None:
        if not self.open:
            return
        self.packets_in += 1
        if len(self.queue) == self.queue.maxlen:
            self.queue_drops += 1  # the append pushes the oldest out
        self.queue.append((packet.sequence_number, packet.ssrc, packet.payload))


class Mixer:
    """Mixes `inputs` ports into one Opus RTP stream, while started."""

    def __init__(
        self,
        inputs: int,
        on_packet: Callable[[RtpPacket], None],
        *,
        payload_type: int = PAYLOAD_TYPE,
        bitrate: int = BITRATE,
        prebuffer_frames: int = PREBUFFER_FRAMES,
        max_delay: float = MAX_DELAY,
        frames_per_wake: int = FRAMES_PER_WAKE,
    ) -> None:
        """`frames_per_wake`: how many 20 ms frames the thread mixes each time it wakes."""
        self._frames_per_wake = max(1, frames_per_wake)
        self._silence = np.zeros(FRAME_SAMPLES, np.int16)
        self._on_packet = on_packet
        self._ports = [MixerPort(payload_type) for _ in range(inputs)]
        self._buffers = [
            JitterBuffer(prebuffer_frames=prebuffer_frames, max_delay=max_delay)
            for _ in range(inputs)
        ]
        self._encoder = OpusEncoder(bitrate)
        self._numbering = RtpNumbering(payload_type)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixer")
        self._running: asyncio.Future[None] | None = None
        self._stop = False  # read by the thread between ticks
        self.closed = False
        self.frames_out = 0
        self.ticks_late = 0
        self.ticks_skipped = 0
        self.encode_errors = 0
        # Two counters, one per thread, since a Counter's += is not atomic across threads.
        self.drops = Drops("mixer", logger)  # on the event loop
        self._thread_drops = Drops("mixer thread", logger)  # on the mixer's thread

    @property
    def inputs(self) -> int:
        return len(self._ports)

    @property
    def ssrc(self) -> int:
        return self._numbering.ssrc

    @property
    def payload_type(self) -> int:
        return self._numbering.payload_type

    @property
    def started(self) -> bool:
        return self._running is not None and not self.closed

    def port(self, index: int) -> MixerPort:
        """Input `index` (0 ≤ index < inputs), to hand to a bridge Consumer."""
        return self._ports[index]

    def start(self) -> None:
        """Begin mixing, for the running loop; again (or after close) does nothing."""
        if self._running is not None or self.closed:
            return
        loop = asyncio.get_running_loop()
        for port in self._ports:
            port.open = True
        self._running = asyncio.wrap_future(self._pool.submit(self._run, loop))

    async def close(self) -> None:
        """Stop mixing and end the thread, idempotently; queued input is dropped."""
        if self.closed:
            return
        self.closed = True
        self._stop = True
        for port in self._ports:
            port.open = False
            port.queue.clear()
        if self._running is not None:
            try:
                await self._running  # within a tick
            except Exception:
                logger.exception("mixer thread failed")
        self._pool.shutdown(wait=False)

    def stats(self) -> MixerStats:
        return MixerStats(
            frames_out=self.frames_out,
            ticks_late=self.ticks_late,
            ticks_skipped=self.ticks_skipped,
            encode_errors=self.encode_errors,
            inputs=tuple(
                InputStats(
                    packets_in=port.packets_in,
                    queue_drops=port.queue_drops,
                    packets_played=buffer.packets_played,
                    lost=buffer.lost,
                    late=buffer.late,
                    duplicates=buffer.duplicates,
                    dropped_behind=buffer.dropped_behind,
                    decode_errors=buffer.decode_errors,
                    resets=buffer.resets,
                    underruns=buffer.underruns,
                    playing=buffer.playing,
                )
                for port, buffer in zip(self._ports, self._buffers, strict=True)
            ),
        )

    # -- the tick -----------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        """The tick loop, on the mixer's thread until close: it keeps time on its own,
        so a busy event loop delays the packets' delivery but never the mix."""
        batch = self._frames_per_wake
        due_at = time.monotonic()  # when the next frame is due
        while not self._stop:
            now = time.monotonic()
            # Every frame whose time has come (a millisecond early counts: sleeps round).
            frames = max(1, int((now - due_at + 0.001) / TICK) + 1)
            skipped = 0
            if now - due_at - (batch - 1) * TICK > LATE:
                self.ticks_late += 1
            if frames > batch + MAX_CATCH_UP:
                skipped = frames - batch
                self.ticks_skipped += skipped
                due_at += skipped * TICK
                frames = batch
            try:
                payloads = self._mix(frames)
            except Exception as exc:  # a bug in one tick must not silence the program
                self._thread_drops.count("tick failed", repr(exc))
                payloads = [None] * frames
            try:
                loop.call_soon_threadsafe(self._deliver, payloads, skipped)
            except RuntimeError:  # the loop is closed: nobody is left to listen
                return
            due_at += frames * TICK
            # A plain sleep costs less than threading.Event's wait, 50 times a second;
            # close() waits for it, at most one wake.
            time.sleep(max(0.0, due_at + (batch - 1) * TICK - time.monotonic()))

    def _deliver(self, payloads: list[bytes | None], skipped: int) -> None:
        """On the event loop: number the tick's frames and hand them on."""
        if self.closed:
            return
        self._numbering.skip(skipped * FRAME_SAMPLES)
        for payload in payloads:
            if payload is None:  # not encoded: the frame's time passes without a packet
                self._numbering.skip(FRAME_SAMPLES)
                continue
            packet = self._numbering.packet(payload)
            self.frames_out += 1
            try:
                self._on_packet(packet)
            except Exception as exc:  # the listener's fault costs this packet, not the mix
                self.drops.count("on_packet failed", repr(exc))

    def _mix(self, frames: int) -> list[bytes | None]:
        """On the mixer's thread: `frames` frames of the mix, encoded (None: not encoded)."""
        out: list[bytes | None] = []
        for _ in range(frames):
            playing = [
                pcm
                for port, buffer in zip(self._ports, self._buffers, strict=True)
                if (pcm := self._take(port, buffer)) is not None
            ]
            if not playing:
                mix = self._silence
            elif len(playing) == 1:
                mix = playing[0]
            else:
                total = playing[0].astype(np.int32)
                for pcm in playing[1:]:
                    total += pcm
                # Saturate rather than wrap; ufuncs, since np.clip's wrapper costs more.
                mix = np.minimum(np.maximum(total, -32768), 32767).astype(np.int16)
            out.append(self._encode(mix))
        return out

    def _take(self, port: MixerPort, buffer: JitterBuffer) -> np.ndarray | None:
        queue = port.queue
        try:
            while queue:
                buffer.put(*queue.popleft())
            return buffer.pull()
        except Exception as exc:  # an input's fault costs its audio for this tick only
            buffer.decode_errors += 1
            buffer.last_error = repr(exc)
            return None

    def _encode(self, mix: np.ndarray) -> bytes | None:
        try:
            packets = self._encoder.encode(mix)
        except Exception as exc:
            self.encode_errors += 1
            self._thread_drops.count("frame not encoded", repr(exc))
            return None
        # libopus gives one packet per 20 ms frame; keep the numbering honest if not.
        return packets[0] if len(packets) == 1 else None
