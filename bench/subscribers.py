"""The halls in one process: viewers that decode and check every picture, or count RTP only.

`join N` adds N viewers one after another; `mark` reports each viewer's counters.
Decoding viewers judge each picture against the chair's known one
(tests/pictures.PictureCheck) and count the NACKs and PLIs their receiver sends.
RTP mode taps each receiver where aiortc's jitter buffer sits, so twenty
720p streams cost packet handling only, not twenty decoders.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from av import VideoFrame

from bench.loopback import (
    emit,
    http_signal,
    new_peer,
    restrict_ice,
    serve_commands,
    setup_logging,
)
from bridge.aiortc_internals import _RECEIVER_JITTER_BUFFER, tap_receiver
from tests.peers import Feedback, count_feedback
from tests.pictures import PictureCheck

LATE_MS = 500  # samples above this are reported with their time, to tell a stall from a drift


class _CountingBuffer:
    """Wraps a receiver's jitter buffer to count packets on their way to the decoder."""

    def __init__(self, inner: Any, viewer: Viewer, kind: str) -> None:
        self._inner = inner
        self._viewer = viewer
        self._kind = kind

    def add(self, packet: RtpPacket) -> Any:
        self._viewer.on_packet(packet, self._kind)
        return self._inner.add(packet)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class Viewer:
    """One hall: when it asked to join, when its first frame came, and what it has counted."""

    pc: RTCPeerConnection
    decode: bool
    started_at: float = field(default_factory=time.time)
    first_frame_at: float | None = None
    first_rtp_frame_at: float | None = None
    decoded_frames: int = 0
    rtp_frames: int = 0
    rtp_packets: int = 0
    late_at: list[float] = field(default_factory=list)  # wall clock of samples over LATE_MS
    pictures: PictureCheck = field(default_factory=PictureCheck)
    feedback: Feedback = field(default_factory=Feedback)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def on_packet(self, packet: RtpPacket, kind: str) -> None:
        self.rtp_packets += 1
        if kind == "video" and packet.marker:
            self.rtp_frames += 1
            if self.first_rtp_frame_at is None:
                self.first_rtp_frame_at = time.time()
                if not self.decode:
                    self.first_frame_at = self.first_rtp_frame_at

    def watch(self, receiver: RTCRtpReceiver, kind: str) -> None:
        if self.decode:
            inner = getattr(receiver, _RECEIVER_JITTER_BUFFER)
            setattr(receiver, _RECEIVER_JITTER_BUFFER, _CountingBuffer(inner, self, kind))
        else:
            tap_receiver(receiver, lambda packet: self.on_packet(packet, kind))

    async def read_video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.time()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.decoded_frames += 1
                if isinstance(frame, VideoFrame):
                    before = len(self.pictures.latencies_ms)
                    await self.pictures.see(frame)
                    if any(ms > LATE_MS for ms in self.pictures.latencies_ms[before:]):
                        self.late_at.append(now)
        except MediaStreamError:
            pass

    async def read_audio(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            pass

    def snapshot(self) -> dict[str, Any]:
        latencies, self.pictures.latencies_ms = self.pictures.latencies_ms, []
        late, self.late_at = self.late_at, []
        return {
            "late_at": late,
            "decoded_frames": self.decoded_frames,
            "rtp_frames": self.rtp_frames,
            "rtp_packets": self.rtp_packets,
            "latencies_ms": latencies,
            "tally": dataclasses.asdict(self.pictures.tally()),
            **dataclasses.asdict(self.feedback),
        }

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else (end - start) * 1000


async def start_viewer(http: aiohttp.ClientSession, url: str, decode: bool) -> Viewer:
    pc = new_peer()
    viewer = Viewer(pc, decode)
    video = pc.addTransceiver("video", direction="recvonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    video.setCodecPreferences(
        [c for c in caps if c.name == "VP8"] + [c for c in caps if c.name == "rtx"]
    )
    audio = pc.addTransceiver("audio", direction="recvonly")
    viewer.feedback = count_feedback(video.receiver)
    viewer.watch(video.receiver, "video")
    viewer.watch(audio.receiver, "audio")

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if decode:
            reader = viewer.read_video if track.kind == "video" else viewer.read_audio
            viewer.tasks.append(asyncio.ensure_future(reader(track)))

    await pc.setLocalDescription(await pc.createOffer())
    answer = await http_signal(http, url + "/subscribe")(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return viewer


async def main(url: str, decode: bool) -> None:
    restrict_ice()
    viewers: list[Viewer] = []
    async with aiohttp.ClientSession() as http:

        async def join(args: list[str]) -> dict[str, Any]:
            count, spacing, timeout = int(args[0]), float(args[1]), float(args[2])
            new: list[Viewer] = []
            for i in range(count):
                if i:
                    await asyncio.sleep(spacing)
                new.append(await start_viewer(http, url, decode))
            viewers.extend(new)
            deadline = time.monotonic() + timeout
            while any(v.first_frame_at is None for v in new) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return {
                "join_ms": [_since(v.started_at, v.first_frame_at) for v in new],
                "join_rtp_ms": [_since(v.started_at, v.first_rtp_frame_at) for v in new],
                "viewers": len(viewers),
            }

        async def mark(args: list[str]) -> dict[str, Any]:
            return {"t": time.time(), "viewers": [v.snapshot() for v in viewers]}

        try:
            emit({"event": "ready", "decode": decode})
            await serve_commands({"join": join, "mark": mark})
        finally:
            await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the relay, e.g. http://127.0.0.1:8080")
    parser.add_argument("--mode", choices=("decode", "rtp"), default="decode")
    options = parser.parse_args()
    setup_logging()
    asyncio.run(main(options.url, options.mode == "decode"))
