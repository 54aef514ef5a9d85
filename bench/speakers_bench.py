"""Measures the loudspeaker streams: the bridge's CPU with 1, 10 and 50 MP3 listeners, and the
delay from the chair's microphone to the MP3 stream.

The real `commune-bridge` runs in its own process (plain HTTP on 127.0.0.1, one cluster,
cap raised to 60 listeners). This process publishes a chair over WHIP (aiortc, a 320x240
picture at 10 fps and a microphone that is silent but for tone bursts) and opens the
listeners, which only count bytes. CPU is the bridge process's user+system time over
each window, in % of one core; "above one" is what the extra listeners cost, since the
mix and the encoders run once whatever the count. Latency: one listener decodes its
MP3 bytes; each burst's onset is found in the decoded samples and mapped back to the
time its MP3 frame arrived (192-byte frames of 1152 samples at 64 kbps, 48 kHz),
against the wall time the microphone produced the burst's first sample.

    python -m bench.speakers_bench [--seconds 15] [--bursts 6]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import yaml
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from av import AudioFrame

from bench.loopback import restrict_ice
from tests.bridgeproc import BRIDGE_ON_LOOPBACK, free_port
from tests.peers import NO_ICE_SERVERS, StampedVideoTrack
from tests.speakerclients import decode_bytes, tone_onset

ROOT = Path(__file__).resolve().parent.parent
RATE, SAMPLES = 48000, 960
TONE_HZ = 440.0
FRAME_BYTES, FRAME_SAMPLES = 192, 1152  # one 64 kbps MP3 frame at 48 kHz
COUNTS = (1, 10, 50)
CPU_TARGET = 3.0  # % of one core above one listener, at 50
LATENCY_TARGET = 2.0  # seconds


class BurstTrack(AudioStreamTrack):
    """A microphone, paced in real time, that is silent except while `sounding`; `onsets` keeps
    the wall time of the first sample of each burst."""

    def __init__(self) -> None:
        super().__init__()
        self.sounding = False
        self.onsets: list[float] = []
        self._sent = 0
        self._began: float | None = None
        self._was_on = False

    async def recv(self) -> AudioFrame:  # type: ignore[override]
        if self._began is None:
            self._began = time.monotonic()
        delay = self._began + self._sent / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.sounding and not self._was_on:
            self.onsets.append(time.time())
        self._was_on = self.sounding
        t = (self._sent + np.arange(SAMPLES)) / RATE
        level = 0.3 * 32767 if self.sounding else 0.0
        wave = (level * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += SAMPLES
        return frame


class Listener:
    """One receiver: reads the stream, keeping (arrival time, bytes so far) and the bytes."""

    def __init__(self, http: aiohttp.ClientSession, url: str, keep: bool = False) -> None:
        self.arrivals: list[tuple[float, int]] = []
        self.data = bytearray()
        self.total = 0
        self._keep = keep
        self._task = asyncio.ensure_future(self._run(http, url))

    async def _run(self, http: aiohttp.ClientSession, url: str) -> None:
        async with http.get(url) as response:
            assert response.status == 200, response.status
            async for chunk in response.content.iter_any():
                self.total += len(chunk)
                if self._keep:
                    self.data += chunk
                    self.arrivals.append((time.time(), self.total))

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def start_bridge(folder: Path) -> tuple[asyncio.subprocess.Process, int, str, str]:
    port = free_port()
    chair, speaker = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    config = {
        "server": {"host": "127.0.0.1", "port": port, "tls": "off"},
        "data_dir": str(folder / "data"),
        "keys": {"chair": chair},
        "speakers": [{"id": "loa-1", "name": "Cụm loa Thôn 1", "key": speaker}],
        "speaker_limits": {"listeners": 60},
        "limits": {"connections_per_ip": 400},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BRIDGE_ON_LOOPBACK,
        "--config",
        str(folder / "config.yaml"),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process, port, chair, speaker
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the bridge did not start")


async def publish(port: int, key: str) -> tuple[RTCPeerConnection, BurstTrack]:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    microphone = BurstTrack()
    pc.addTransceiver(StampedVideoTrack(320, 240, fps=10), direction="sendonly")
    pc.addTransceiver(microphone, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/whip", data=pc.localDescription.sdp, headers=headers
        ) as answer,
    ):
        assert answer.status == 201, await answer.text()
        sdp = await answer.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    return pc, microphone


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def measure_cpu(
    http: aiohttp.ClientSession, url: str, bridge: psutil.Process, seconds: float
) -> dict[int, float]:
    found: dict[int, float] = {}
    listeners: list[Listener] = []
    try:
        for count in COUNTS:
            while len(listeners) < count:
                listeners.append(Listener(http, url))
            await asyncio.sleep(3.0)  # every listener connected and streaming
            before, started = cpu(bridge), time.monotonic()
            sent_before = sum(x.total for x in listeners)
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - started
            found[count] = (cpu(bridge) - before) / elapsed * 100
            rate = (sum(x.total for x in listeners) - sent_before) / elapsed / count
            print(
                f"  {count:>2} listener(s): bridge {found[count]:5.2f} % of one core, "
                f"{rate / 1000:.1f} kB/s each",
                flush=True,
            )
    finally:
        for listener in listeners:
            await listener.close()
    return found


async def measure_latency(
    http: aiohttp.ClientSession, url: str, microphone: BurstTrack, bursts: int
) -> list[float]:
    listener = Listener(http, url, keep=True)
    try:
        await asyncio.sleep(3.0)
        for n in range(bursts):
            microphone.sounding = True
            await asyncio.sleep(1.0)
            microphone.sounding = False
            # A different phase against the stream's 100 ms chunks for each burst.
            await asyncio.sleep(2.0 + 0.1 * n / bursts)
        await asyncio.sleep(2.5)  # the last burst through
    finally:
        await listener.close()
    samples = decode_bytes(bytes(listener.data))
    delays: list[float] = []
    position = 0
    for onset_at in microphone.onsets:
        # The first burst heard after the previous one's place in the stream.
        found = tone_onset(samples[position:], TONE_HZ)
        if found is None:
            break
        sample = position + found
        position = sample + RATE * 2  # past this burst (1 s long), before the next (3 s on)
        byte = (sample // FRAME_SAMPLES + 1) * FRAME_BYTES
        arrived = next((at for at, total in listener.arrivals if total >= byte), None)
        if arrived is not None:
            delays.append(arrived - onset_at)
    return delays


async def main(seconds: float, bursts: int) -> None:
    restrict_ice()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        process, port, chair, speaker = await start_bridge(Path(tmp))
        bridge = psutil.Process(process.pid)
        url = f"http://127.0.0.1:{port}/speakers/loa-1/stream.mp3?key={speaker}"
        pc, microphone = await publish(port, chair)
        try:
            timeout = aiohttp.ClientTimeout(total=None, sock_read=10)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
                await asyncio.sleep(2.0)
                before, started = cpu(bridge), time.monotonic()
                await asyncio.sleep(seconds)
                idle = (cpu(bridge) - before) / (time.monotonic() - started) * 100
                print(f"  no listener (chair on air, no mix): bridge {idle:5.2f} % of one core")
                found = await measure_cpu(http, url, bridge, seconds)
                delays = await measure_latency(http, url, microphone, bursts)
        finally:
            await pc.close()
            process.terminate()
            await process.wait()
    above = found[50] - found[1]
    print(f"  50 listeners cost {above:+.2f} % of one core above one (target <= {CPU_TARGET} %)")
    print(f"  verdict CPU: {'PASS' if above <= CPU_TARGET else 'FAIL'}")
    if delays:
        shown = " ".join(f"{d:.2f}" for d in delays)
        print(
            f"  microphone -> MP3 stream: {shown} s (median {statistics.median(delays):.2f} s, "
            f"max {max(delays):.2f} s; target <= {LATENCY_TARGET} s)"
        )
        ok = max(delays) <= LATENCY_TARGET and len(delays) == len(microphone.onsets)
        print(f"  verdict latency: {'PASS' if ok else 'FAIL'} ({len(delays)} of {bursts} bursts)")
    else:
        print("  verdict latency: FAIL (no burst found in the stream)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="each CPU window")
    parser.add_argument("--bursts", type=int, default=6, help="tone bursts for the latency")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.bursts))
