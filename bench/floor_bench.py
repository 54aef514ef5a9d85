"""The floor benchmark: how fast a speaking hall reaches the other halls, and what a full
meeting costs the bridge.

The bridge runs as `python -m web.cli` in its own process, driven over HTTP and
WebSocket exactly as pages drive it. This process plays everyone else: a chair
(a pre-encoded 720p clip and a tone) and six halls (360p clips, each tinted its
own colour, and tones), six hall TVs, the chair console's grid and ten program
viewers. Only two TVs decode their floor picture, to time the switch; the rest
count RTP, so the two cores go to the bridge. Prints a markdown section.

    .venv/bin/python -m bench.floor_bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from av import VideoFrame

from bench.clip import ClipTrack, encode_clip
from bench.loopback import restrict_ice
from bridge.aiortc_internals import tap_receiver
from bridge.numbering import unwrap
from tests.bridge_process import free_port, start_bridge, write_config
from tests.floorpeers import ToneTrack
from web.cli import PROFILE_ENV

HALLS = 6
PROGRAM_VIEWERS = 10
TINTS = [40 + 32 * i for i in range(HALLS)]  # chroma of each hall's clip
MEASURING_TVS = (0, HALLS - 1)  # thon-1 and thon-6 decode their floor picture
CPU_SECONDS = 20.0


def _say(step: str) -> None:
    """Progress on stderr: the report alone goes to stdout."""
    print(f"floor bench: {step}", file=sys.stderr, flush=True)


def _peer() -> RTCPeerConnection:
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


async def _signal(http: aiohttp.ClientSession, url: str, key: str, pc: RTCPeerConnection) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
    async with http.post(url, data=pc.localDescription.sdp, headers=headers) as response:
        answer = await response.text()
        if response.status != 201:
            raise RuntimeError(f"{url}: {response.status} {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


async def publish(
    http: aiohttp.ClientSession, base: str, key: str, clip: list[bytes], tone: float
) -> RTCPeerConnection:
    pc = _peer()
    pc.addTransceiver(ClipTrack(clip), direction="sendonly")
    pc.addTransceiver(ToneTrack(tone), direction="sendonly")
    await _signal(http, f"{base}/whip", key, pc)
    return pc


@dataclass
class Watcher:
    """A WHEP peer that counts RTP on every track and decodes the tracks listed in `decode`."""

    pc: RTCPeerConnection
    packets: int = 0
    # SSRC → extended sequence number of the newest packet: what the bridge sent, lost or not
    newest: dict[int, int] = field(default_factory=dict)
    # (wall clock, tint) of each decoded picture of the decoded track
    pictures: list[tuple[float, int]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _decode(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                u = frame.planes[1]
                tint = int(np.frombuffer(memoryview(u), np.uint8)[: u.line_size * 4].mean())
                self.pictures.append((time.time(), tint))
        except MediaStreamError:
            pass

    def count(self, packet: RtpPacket) -> None:
        self.packets += 1
        seq = unwrap(packet.sequence_number, self.newest.get(packet.ssrc))
        if seq > self.newest.get(packet.ssrc, -1):
            self.newest[packet.ssrc] = seq

    @property
    def sent(self) -> int:
        """Sum of the newest sequence numbers: grows by one per packet the bridge sent."""
        return sum(self.newest.values())


async def watch(
    http: aiohttp.ClientSession, base: str, key: str, kinds: list[str], decode: int | None
) -> Watcher:
    pc = _peer()
    watcher = Watcher(pc)
    transceivers = [pc.addTransceiver(kind, direction="recvonly") for kind in kinds]
    for index, transceiver in enumerate(transceivers):
        if index != decode:
            tap_receiver(transceiver.receiver, watcher.count)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if decode is not None and transceivers[decode].receiver.track is track:
            watcher.tasks.append(asyncio.ensure_future(watcher._decode(track)))

    await _signal(http, f"{base}/whep", key, pc)
    return watcher


class Page:
    """A page socket: sends commands, keeps the newest state."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.state: dict[str, Any] = {}
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if data.get("type") == "state":
                self.state = data

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.state):
            if time.monotonic() > deadline:
                raise TimeoutError("the meeting state never showed what was asked")
            await asyncio.sleep(0.02)


def _tint_of(tint: int) -> int | None:
    """Which hall's clip a decoded tint is (within the codec's rounding)."""
    best = min(range(HALLS), key=lambda i: abs(TINTS[i] - tint))
    return best if abs(TINTS[best] - tint) < 8 else None


async def floor_switches(
    chair: Page, halls: list[Page], tvs: list[Watcher], rounds: int
) -> list[float]:
    """Milliseconds from each grant to the first decoded picture of the new speaker at
    each measuring TV."""
    speakers = [i for i in range(HALLS) if i not in MEASURING_TVS]
    results: list[float] = []
    for n in range(rounds):
        speaker = speakers[n % len(speakers)]
        await halls[speaker].send(type="raise")
        await chair.until(
            lambda s, h=f"thon-{speaker + 1}": any(e["hall"] == h for e in s["queue"])
        )
        entry = next(e for e in chair.state["queue"] if e["hall"] == f"thon-{speaker + 1}")
        granted = time.time()
        await chair.send(type="grant", entry=entry["id"])
        await asyncio.sleep(2.0)
        for index in MEASURING_TVS:
            seen = [
                at for at, tint in tvs[index].pictures if at > granted and _tint_of(tint) == speaker
            ]
            if seen:
                results.append((seen[0] - granted) * 1000)
    return results


def _hall_clip(tint: int) -> list[bytes]:
    return encode_clip(640, 360, bitrate=450_000, tint=tint)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def run(rounds: int) -> dict[str, Any]:
    restrict_ice()
    loop = asyncio.get_running_loop()
    chair_clip = await loop.run_in_executor(None, lambda: encode_clip(1280, 720, tint=128))
    hall_clips = [await loop.run_in_executor(None, _hall_clip, tint) for tint in TINTS]
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        config = write_config(Path(folder), port)
        bridge = await start_bridge(Path(folder), port)
        _say("bridge up")
        base = f"http://127.0.0.1:{port}"
        peers: list[RTCPeerConnection] = []
        try:
            async with aiohttp.ClientSession() as http:
                keys = config["keys"]
                hall_keys = [h["key"] for h in config["halls"]]
                chair = Page(await http.ws_connect(f"{base}/ws?key={keys['chair']}"))
                halls = [Page(await http.ws_connect(f"{base}/ws?key={k}")) for k in hall_keys]
                peers.append(await publish(http, base, keys["chair"], chair_clip, 440))
                await chair.until(lambda s: s["broadcast"]["live"])
                _say("chair live")
                for i, key in enumerate(hall_keys):
                    peers.append(await publish(http, base, key, hall_clips[i], 500 + 60 * i))
                tvs = [
                    await watch(
                        http,
                        base,
                        key,
                        ["video", "audio", "video", "audio"],
                        2 if i in MEASURING_TVS else None,
                    )
                    for i, key in enumerate(hall_keys)
                ]
                grid = await watch(http, base, keys["chair"], ["video"] * HALLS + ["audio"], None)
                program = [
                    await watch(http, base, keys["viewer"], ["video", "audio"], None)
                    for _ in range(PROGRAM_VIEWERS)
                ]
                watchers = [*tvs, grid, *program]
                _say("everyone watching")
                peers += [w.pc for w in watchers]
                await asyncio.sleep(5)

                switches = await floor_switches(chair, halls, tvs, rounds)
                _say("switches timed")

                # One hall on the floor; the bridge's CPU with everything running.
                process = psutil.Process(bridge.pid)
                packets_before = sum(w.packets for w in watchers)
                sent_before = sum(w.sent for w in watchers)
                if os.environ.get(PROFILE_ENV):
                    process.send_signal(signal.SIGUSR1)  # bench/cpu_sampler.py: start
                threads_before = {t.id: t.user_time + t.system_time for t in process.threads()}
                cpu_before, wall_before = _cpu(process), time.monotonic()
                psutil.cpu_percent()  # starts the whole machine's count
                await asyncio.sleep(CPU_SECONDS)
                cpu = (_cpu(process) - cpu_before) / (time.monotonic() - wall_before) * 100
                machine = psutil.cpu_percent() * psutil.cpu_count()
                if os.environ.get(PROFILE_ENV):
                    process.send_signal(signal.SIGUSR2)
                packets = sum(w.packets for w in watchers) - packets_before
                for thread in process.threads():  # the event loop is the bridge's main thread
                    used = thread.user_time + thread.system_time - threads_before.get(thread.id, 0)
                    if used > 0.05:
                        _say(f"thread {thread.id}: {used / CPU_SECONDS * 100:.1f} % of one core")
                sent = sum(w.sent for w in watchers) - sent_before
                _say("CPU measured")
                for page in [chair, *halls]:
                    page.task.cancel()
                    await page.ws.close()
        finally:
            _say("closing")
            await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)
            bridge.terminate()
            try:
                await asyncio.wait_for(bridge.wait(), 15)
            except TimeoutError:
                _say("the bridge did not stop on SIGTERM within 15 s; killed")
                bridge.kill()
                await bridge.wait()
    return {
        "switches_ms": switches,
        "cpu_percent": cpu,
        "machine_percent": machine,
        "packets_per_s": packets / CPU_SECONDS,
        "sent_per_s": sent / CPU_SECONDS,
        "rounds": rounds,
    }


def report(result: dict[str, Any]) -> str:
    switches = sorted(result["switches_ms"])
    p95 = switches[max(0, int(len(switches) * 0.95) - 1)] if switches else float("nan")
    median = statistics.median(switches) if switches else float("nan")
    return "\n".join(
        [
            "",
            "## The floor",
            "",
            "`.venv/bin/python -m bench.floor_bench`: the bridge as its own process (`web.cli`),",
            "a chair (720p clip, 2 Mbps, and a tone), six publishing halls (360p clips,",
            "450 kbps, each its own tint and tone), six hall TVs (chair + floor tracks), the chair",
            f"console's grid of six and {PROGRAM_VIEWERS} program viewers, all on loopback.",
            f"CPU is the bridge process's user + system time (psutil, every thread) over "
            f"{CPU_SECONDS:.0f} s,",
            "not wall time, so other work on the machine does not count against it.",
            "",
            "| measure | result | target |",
            "|---|---|---|",
            f"| grant → first decoded picture of the speaker at another hall, median "
            f"({len(switches)} switches) | {median:.0f} ms | ≤ 300 ms |",
            f"| the same, p95 | {p95:.0f} ms | ≤ 500 ms |",
            f"| bridge CPU, one hall on the floor, mixer included | {result['cpu_percent']:.1f} % "
            f"of one core | ≤ 15 % |",
            f"| packets the bridge sent to the counting watchers (by sequence number) | "
            f"{result['sent_per_s']:.0f} /s | |",
            f"| of those, received (the rest the busy benchmark process lost) | "
            f"{result['packets_per_s']:.0f} /s | |",
            f"| bridge CPU per packet sent | "
            f"{result['cpu_percent'] / 100 / result['sent_per_s'] * 1e6:.0f} µs | |",
            f"| the whole machine meanwhile (bridge and benchmark, of "
            f"{psutil.cpu_count() * 100} %) | {result['machine_percent']:.0f} % | |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="floor grants to time")
    parser.add_argument(
        "--profile", type=Path, help="sample the bridge's CPU into this file (bench/cpu_sampler.py)"
    )
    args = parser.parse_args()
    if args.profile:
        os.environ[PROFILE_ENV] = str(args.profile.resolve())
    print(report(asyncio.run(run(args.rounds))))


if __name__ == "__main__":
    main()
