"""The program mix as continuous HTTP audio: Ogg/Opus pages and MP3 frames, made once.

A bridge Consumer sends the mix's Opus packets to `port` (like any subscriber). Every
TICK the stream takes what arrived and, on its own thread, wraps the Opus packets in
Ogg pages as they are, and decodes them once and encodes them once to MP3, only for
the formats someone listens to. The chunks go to `on_chunk` on the event loop, so the
cost does not grow with the number of listeners. When no packet comes (no mix yet, a
stall), the stream fills the time with silence, so receivers never see it stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc.rtp import RtpPacket
from av.audio.resampler import AudioResampler

from bridge.drops import Drops

from .mp3 import MP3_BITRATE, Mp3Encoder
from .oggopus import OggOpusPager, opus_samples
from .opus import FRAME_SAMPLES, PAYLOAD_TYPE, SAMPLE_RATE, OpusDecoder, OpusEncoder

logger = logging.getLogger(__name__)

MP3, OGG = "mp3", "ogg"
FORMATS = (MP3, OGG)
TICK = 0.1  # seconds of audio per chunk: small against the 2 s the receivers may lag
GAP = 0.3  # the mix late by this much: fill with silence up to now
AHEAD = 2.0  # the mix this far ahead of the clock (a burst after a stall): re-base the clock
MAX_QUEUE_PACKETS = 250  # 5 s of 20 ms packets waiting for the thread
MAX_IDLE_SECONDS = 600  # of an idle file: longer ones are cut (it is held in memory)


def load_idle(path: Path) -> list[bytes]:
    """An audio file as 20 ms Opus packets, to loop between meetings. Blocks: decodes the
    file and encodes it, once; raises av.FFmpegError (or OSError) for a file it can't read."""
    resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    pcm: list[np.ndarray] = []
    total = 0
    with av.open(str(path), "r") as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm.append(out.to_ndarray().reshape(-1))
                total += out.samples
            if total >= MAX_IDLE_SECONDS * SAMPLE_RATE:
                break
    samples = np.concatenate(pcm) if pcm else np.zeros(0, np.int16)
    samples = samples[: MAX_IDLE_SECONDS * SAMPLE_RATE]
    pad = (-len(samples)) % FRAME_SAMPLES
    samples = np.concatenate([samples, np.zeros(pad, np.int16)])
    encoder = OpusEncoder()
    packets = []
    for start in range(0, len(samples), FRAME_SAMPLES):
        packets += encoder.encode(samples[start : start + FRAME_SAMPLES])
    return packets


class StreamPort:
    """The stream's input, as a bridge Consumer's port: `send` only queues the payload."""

    def __init__(self, payload_type: int = PAYLOAD_TYPE) -> None:
        self.payload_type = payload_type
        self.ssrc = random.getrandbits(32)
        self.packets_in = 0
        self.queue_drops = 0
        # Appended and emptied on the event loop; the thread gets a list.
        self.queue: deque[bytes] = deque(maxlen=MAX_QUEUE_PACKETS)

    @property
    def started(self) -> bool:
        return True

    async def send(self, packet: RtpPacket) -> None:
        self.packets_in += 1
        if len(self.queue) == self.queue.maxlen:
            self.queue_drops += 1
        self.queue.append(packet.payload)


@dataclass(frozen=True)
class StreamStats:
    ticks: int
    packets_in: int
    silence_frames: int  # 20 ms frames made up because the mix did not come
    encode_errors: int
    bytes_out: dict[str, int]


class _Encoders:
    """What runs on the stream's thread: one pager, one decoder, one MP3 encoder."""

    def __init__(self, pager: OggOpusPager, mp3_bitrate: int) -> None:
        self.pager = pager
        self._mp3_bitrate = mp3_bitrate
        self._decoder: OpusDecoder | None = None
        self._mp3: Mp3Encoder | None = None
        self._silent_opus = OpusEncoder().encode(np.zeros(FRAME_SAMPLES, np.int16))[0]
        self._silent_pcm = np.zeros(FRAME_SAMPLES, np.int16)

    def chunk(self, frames: Sequence[bytes | None], formats: frozenset[str]) -> dict[str, bytes]:
        """One chunk per wanted format; None in `frames` is 20 ms of silence."""
        out: dict[str, bytes] = {}
        if OGG in formats:
            out[OGG] = self.pager.pages([f if f is not None else self._silent_opus for f in frames])
        if MP3 in formats:
            if self._mp3 is None or self._decoder is None:
                # Started (again): a fresh decoder, as the packets before are gone.
                self._decoder, self._mp3 = OpusDecoder(), Mp3Encoder(self._mp3_bitrate)
            pcm = [self._pcm(f) for f in frames]
            out[MP3] = self._mp3.encode(np.concatenate(pcm) if pcm else self._silent_pcm[:0])
        else:
            self._decoder = self._mp3 = None
        return out

    def _pcm(self, frame: bytes | None) -> np.ndarray:
        if frame is None or self._decoder is None:
            return self._silent_pcm
        try:
            return self._decoder.decode(frame)
        except Exception:  # a bad packet costs its 20 ms, not the stream
            return self._silent_pcm


class ProgramStream:
    """Turns the mix's Opus packets into chunks of each wanted format, while started."""

    def __init__(
        self,
        on_chunk: Callable[[str, bytes], None],
        *,
        tick: float = TICK,
        gap: float = GAP,
        mp3_bitrate: int = MP3_BITRATE,
    ) -> None:
        self.port = StreamPort()
        self.formats: set[str] = set()  # what someone listens to; the rest is not made
        # Set between meetings (by the caller): these packets play in a loop instead of
        # the mix, as receivers would otherwise play silence.
        self.idle: list[bytes] | None = None
        self._idle_next = 0
        self._on_chunk = on_chunk
        self._tick = tick
        self._gap = gap
        self._mp3_bitrate = mp3_bitrate
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speakers")
        self._encoders: _Encoders | None = None
        # Made here so its headers are known at once; used only on the thread after.
        self._pager = OggOpusPager()
        self._task: asyncio.Task[None] | None = None
        self._clock: float | None = None  # loop time when the stream's audio began
        self._samples = 0  # audio made since then
        self.closed = False
        self.ticks = 0
        self.silence_frames = 0
        self.encode_errors = 0
        self.bytes_out = dict.fromkeys(FORMATS, 0)
        self.drops = Drops("program stream", logger)

    @property
    def ogg_headers(self) -> bytes:
        """The Ogg stream's two header pages, which every new Ogg listener gets first."""
        return self._pager.headers

    async def start(self) -> None:
        """Make the encoders (on the thread) and begin ticking; again does nothing."""
        if self._task is not None or self.closed:
            return
        loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._run())
        encoders = await loop.run_in_executor(self._pool, _Encoders, self._pager, self._mp3_bitrate)
        if not self.closed:
            self._encoders = encoders

    async def close(self) -> None:
        """Stop, idempotently; what is queued is dropped."""
        if self.closed:
            return
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._pool.shutdown(wait=False)

    def stats(self) -> StreamStats:
        return StreamStats(
            self.ticks, self.port.packets_in, self.silence_frames, self.encode_errors,
            dict(self.bytes_out),
        )  # fmt: skip

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self._tick
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > 1.0:  # the loop was stuck: do not tick back to back
                next_at = loop.time()
            frames = self._take(loop.time())
            wanted = frozenset(self.formats)
            encoders = self._encoders
            if not frames or not wanted or encoders is None:
                continue
            try:
                chunks = await loop.run_in_executor(self._pool, encoders.chunk, frames, wanted)
            except Exception as exc:  # a bad tick costs its chunk, not the stream
                self.encode_errors += 1
                self.drops.count("chunk not made", repr(exc))
                continue
            self.ticks += 1
            for fmt, data in chunks.items():
                if data:
                    self.bytes_out[fmt] += len(data)
                    try:
                        self._on_chunk(fmt, data)
                    except Exception as exc:
                        self.drops.count("on_chunk failed", repr(exc))

    def _take(self, now: float) -> list[bytes | None]:
        """The packets that came (or the idle file's), and silence for the time the mix
        left empty."""
        queue = self.port.queue
        frames: list[bytes | None] = []
        idle = self.idle
        if idle:
            queue.clear()  # the mix between meetings is silence: the idle file plays instead
            due = (now - self._clock if self._clock is not None else 0.0) * SAMPLE_RATE
            while self._samples < due - self._tick * SAMPLE_RATE:
                payload = idle[self._idle_next % len(idle)]
                self._idle_next += 1
                frames.append(payload)
                self._samples += opus_samples(payload)
        while queue:
            payload = queue.popleft()
            frames.append(payload)
            self._samples += opus_samples(payload)
        if self._clock is None:
            self._clock = now - self._samples / SAMPLE_RATE
        behind = (now - self._clock) - self._samples / SAMPLE_RATE
        if behind > self._gap:
            # Fill up to a tick short of now, so a mix that comes back goes on at once.
            missing = int((behind - self._tick) * SAMPLE_RATE) // FRAME_SAMPLES
            frames += [None] * missing
            self._samples += missing * FRAME_SAMPLES
            self.silence_frames += missing
        elif behind < -AHEAD:
            self._clock = now - self._samples / SAMPLE_RATE
        return frames
