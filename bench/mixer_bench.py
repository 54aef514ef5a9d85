"""Measures the program mix's CPU on its own: two live inputs, mixed in real time.

Two paced 20 ms Opus tracks (440 Hz and 660 Hz) go into a Mixer for a
window of real time; the process's CPU time over that window, as % of one
core, is the mixer plus the pacing that stands in for the bridge's
consumers. A second window with the same pacing and no mixer measures that
stand-in, so the difference is the mixer's own cost; the mixer's thread is
also timed alone. The last second of the mix is decoded and checked for both
tones, so the number is for a mix that works. One window per frames-per-wake
setting (1: a wake every 20 ms; 2: two frames per 40 ms wake).

    python bench/mixer_bench.py [--seconds 20] [--baseline 10] [--frames-per-wake 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from itertools import cycle
from pathlib import Path

import psutil
from aiortc.rtp import RtpPacket

# Run as a script, so the repository root is not on sys.path yet.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.consumer import PacketPort  # noqa: E402
from media.jitter import PREBUFFER_FRAMES  # noqa: E402
from media.mixer import Mixer  # noqa: E402
from tests.tones import PACE, Recorded, play, rms, rtp, tone_payloads, tone_share  # noqa: E402

TONES = (440.0, 660.0)
TARGET = 3.0  # % of one core (issue 7)


class Sink:
    """Stands in for the mixer's ports in the baseline window: takes packets, keeps none."""

    payload_type, ssrc, started = 111, 1, True

    async def send(self, packet: RtpPacket) -> None:
        return None


async def feed(ports: list[PacketPort], seconds: float) -> None:
    """Send each port its tone, one packet per 20 ms of loop time, for `seconds`."""
    loop = asyncio.get_running_loop()
    tracks = [rtp(tone_payloads(freq, 2.0), ssrc=i + 1) for i, freq in enumerate(TONES)]
    numbered = [cycle(track) for track in tracks]
    start = loop.time()
    for i in range(round(seconds / PACE)):
        await asyncio.sleep(max(0.0, start + i * PACE - loop.time()))
        for n, port in enumerate(ports):
            packet = next(numbered[n])
            # Looping the same two seconds: renumber so the mixer sees one live track.
            out = RtpPacket(
                payload_type=111,
                sequence_number=(n * 1000 + i) & 0xFFFF,
                timestamp=(i * 960) & 0xFFFFFFFF,
                ssrc=packet.ssrc,
                payload=packet.payload,
            )
            await port.send(out)


async def latency(frames_per_wake: int, trials: int = 5) -> list[float]:
    """Milliseconds from sending an input's first packet of tone, after silence, to the
    mix's first packet that carries it."""
    loop = asyncio.get_running_loop()
    packets = rtp(tone_payloads(0, 0.5) + tone_payloads(TONES[0], 0.3))
    onset_index = round(0.5 / PACE)
    found: list[float] = []
    for trial in range(trials):
        out = Recorded()
        mixer = Mixer(1, out, frames_per_wake=frames_per_wake)
        mixer.start()
        # Start at a different phase of the mixer's wakes each time.
        start = loop.time() + 0.05 + trial * PACE * frames_per_wake / trials
        await play(mixer.port(0), packets, start)
        await asyncio.sleep(0.2)
        await mixer.close()
        onset = start + onset_index * PACE
        heard = [at for at, samples in out.decoded() if at >= onset and rms(samples) > 1000]
        if heard:
            found.append((heard[0] - onset) * 1000)
    return found


def _thread_cpu(native_id: int | None) -> float:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


async def window(seconds: float, frames_per_wake: int, baseline: float) -> None:
    """Mix two live inputs for `seconds` and print what it cost."""
    out = Recorded()
    mixer = Mixer(len(TONES), out, frames_per_wake=frames_per_wake)
    mixer.start()
    await asyncio.sleep(0.2)  # the thread exists once the first tick ran
    worker = next(t for t in threading.enumerate() if t.name.startswith("mixer"))
    thread_before = _thread_cpu(worker.native_id)
    before = time.process_time()
    await feed([mixer.port(0), mixer.port(1)], seconds)
    process = (time.process_time() - before) / seconds * 100
    thread = (_thread_cpu(worker.native_id) - thread_before) / seconds * 100
    end = asyncio.get_running_loop().time()
    stats = mixer.stats()
    await mixer.close()

    tail = out.between(end - 1.0, end)
    ok = all(tone_share(tail, f) > 0.2 for f in TONES)
    shares = ", ".join(f"{f:.0f} Hz {tone_share(tail, f):.2f}" for f in TONES)
    mixer_only = process - baseline
    print(f"mixer, two live inputs, {frames_per_wake} frame(s) per wake, {seconds:.0f} s:")
    print(f"  process CPU      {process:5.2f} % of one core (mixer + pacing)")
    print(f"  mixer            {mixer_only:5.2f} % (minus pacing alone; target <= {TARGET:.0f} %)")
    print(f"  mixer thread     {thread:5.2f} % (decode, mix, encode)")
    print(
        f"  frames out {stats.frames_out}, ticks late {stats.ticks_late}, "
        f"skipped {stats.ticks_skipped}, lost {[i.lost for i in stats.inputs]}, "
        f"underruns {[i.underruns for i in stats.inputs]}"
    )
    print(f"  last second of the mix: power share {shares}")
    print(f"  verdict: {'PASS' if ok and mixer_only <= TARGET else 'FAIL'}")
    delays = await latency(frames_per_wake)
    print(
        f"  latency, tone onset in to out: {' '.join(f'{d:.0f}' for d in delays)} ms "
        f"(prebuffer {PREBUFFER_FRAMES * 20} ms included)"
    )


async def main(seconds: float, baseline_seconds: float, batches: list[int]) -> None:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    before = time.process_time()
    await feed([Sink(), Sink()], baseline_seconds)
    baseline = (time.process_time() - before) / baseline_seconds * 100
    print(f"pacing alone: {baseline:.2f} % (the same feed into a sink, {baseline_seconds:.0f} s)")
    for frames_per_wake in batches:
        await window(seconds, frames_per_wake, baseline)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline", type=float, default=10.0)
    parser.add_argument(
        "--frames-per-wake", type=int, nargs="+", default=[1, 2], help="one window for each"
    )
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.baseline, args.frames_per_wake))
