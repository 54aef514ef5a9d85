"""The recording benchmark: what recording one chair and one speaking hall costs the bridge.

The bridge runs as `python -m web.cli` in its own process. This process plays a chair
(a pre-encoded 720p clip at about 2 Mbps, and a tone), one hall on the floor (a 360p clip
at 450 kbps, and a tone), one hall TV and one program viewer (which keeps the program
mix running with and without the recorder, so the difference is the recorder's alone:
its five consumers, its ports and its writer thread). The bridge's CPU is measured in
alternating stretches without and with a recording, and the files are read back.
Prints a markdown section.

    .venv/bin/python -m bench.record_bench >> docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import av
import psutil
from aiortc import RTCPeerConnection

from bench.clip import encode_clip
from bench.floor_bench import Page, publish, watch
from bench.loopback import restrict_ice
from media.recording import Recording
from tests.bridge_process import free_port, start_bridge, write_config

TARGET = 3.0  # % of one core


def _say(step: str) -> None:
    print(f"record bench: {step}", file=sys.stderr, flush=True)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _share(process: psutil.Process, seconds: float) -> float:
    """The process's CPU over the next `seconds`, in % of one core."""
    cpu, wall = _cpu(process), time.monotonic()
    await asyncio.sleep(seconds)
    return (_cpu(process) - cpu) / (time.monotonic() - wall) * 100


def _read_back(folder: Path) -> dict[str, Any]:
    """Frames per file and their media duration, read with PyAV."""
    out: dict[str, Any] = {}
    for name in ("chair.mkv", "floor.mkv", "program.mka"):
        path = folder / name
        if not path.exists():
            continue
        with av.open(str(path)) as container:
            times = [
                float(p.pts * p.time_base)
                for p in container.demux()
                if p.pts is not None and p.time_base is not None
            ]
        out[name] = {
            "packets": len(times),
            "seconds": max(times) - min(times) if times else 0.0,
            "bytes": path.stat().st_size,
        }
    return out


async def run(rounds: int, seconds: float) -> dict[str, Any]:
    restrict_ice()
    loop = asyncio.get_running_loop()
    chair_clip = await loop.run_in_executor(None, lambda: encode_clip(1280, 720, tint=128))
    hall_clip = await loop.run_in_executor(
        None, lambda: encode_clip(640, 360, bitrate=450_000, tint=60)
    )
    idle: list[float] = []
    recording: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        config = write_config(Path(folder), port)
        bridge = await start_bridge(Path(folder), port)
        base = f"http://127.0.0.1:{port}"
        peers: list[RTCPeerConnection] = []
        try:
            async with aiohttp.ClientSession() as http:
                keys = config["keys"]
                hall_keys = [h["key"] for h in config["halls"]]
                chair = Page(await http.ws_connect(f"{base}/ws?key={keys['chair']}"))
                speaker = Page(await http.ws_connect(f"{base}/ws?key={hall_keys[0]}"))
                peers.append(await publish(http, base, keys["chair"], chair_clip, 440))
                await chair.until(lambda s: s["broadcast"]["live"])
                peers.append(await publish(http, base, hall_keys[0], hall_clip, 660))
                tv = await watch(
                    http, base, hall_keys[1], ["video", "audio", "video", "audio"], None
                )
                program = await watch(http, base, keys["viewer"], ["video", "audio"], None)
                peers += [tv.pc, program.pc]
                await speaker.send(type="raise")
                await chair.until(lambda s: bool(s["queue"]))
                await chair.send(type="grant", entry=chair.state["queue"][0]["id"])
                await chair.until(lambda s: s["floor"] is not None)
                _say("chair live, thon-1 on the floor")
                await asyncio.sleep(5)
                process = psutil.Process(bridge.pid)
                folders: list[Path] = []
                for n in range(rounds):
                    idle.append(await _share(process, seconds))
                    await chair.send(type="record-start")
                    await chair.until(lambda s: s["recording"] is not None)
                    meeting, rec = chair.state["meeting"]["id"], chair.state["recording"]["id"]
                    folders.append(Recording.folder(Path(config["data_dir"]), meeting, rec))
                    await asyncio.sleep(1.0)  # the files open: not the steady cost
                    recording.append(await _share(process, seconds))
                    await chair.send(type="record-stop")
                    await chair.until(lambda s: s["recording"] is None)
                    await asyncio.sleep(1.0)
                    _say(f"round {n + 1}: {idle[-1]:.1f} % idle, {recording[-1]:.1f} % recording")
                await asyncio.sleep(1.0)
                files = await loop.run_in_executor(None, _read_back, folders[-1])
                state = Recording.load(folders[-1]).state
                for page in (chair, speaker):
                    page.task.cancel()
                    await page.ws.close()
        finally:
            await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)
            bridge.terminate()
            try:
                await asyncio.wait_for(bridge.wait(), 15)
            except TimeoutError:
                bridge.kill()
                await bridge.wait()
    return {
        "idle": idle,
        "recording": recording,
        "seconds": seconds,
        "files": files,
        "state": state,
    }


def report(result: dict[str, Any]) -> str:
    idle, recording = result["idle"], result["recording"]
    extra = [r - i for i, r in zip(idle, recording, strict=True)]
    cost = statistics.median(extra)
    ok = "meets" if cost <= TARGET else "misses"
    lines = [
        "",
        "## Recording (issue 9)",
        "",
        "`.venv/bin/python -m bench.record_bench`: the bridge as its own process (`web.cli`),",
        "a chair (720p clip, about 2 Mbps, and a tone) and one hall on the floor (360p clip,",
        "450 kbps, and a tone), one hall TV and one program viewer, all on loopback. The",
        f"bridge's CPU over {result['seconds']:.0f} s stretches, alternately without and with a",
        "recording of the chair, the floor and the program mix (the viewer keeps the mix running",
        "in both, so the difference is the recorder's: five consumers, its ports and its",
        "writer thread, which assembles frames and muxes Matroska without transcoding).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| bridge CPU without recording, median of {len(idle)} | "
        f"{statistics.median(idle):.1f} % of one core | |",
        f"| bridge CPU while recording, median | {statistics.median(recording):.1f} % | |",
        f"| recording's share (with − without, median of the pairs) | {cost:.1f} % of one core "
        f"({ok} the target) | ≤ {TARGET:.0f} % |",
        f"| the pairs' differences | {', '.join(f'{x:.1f}' for x in extra)} % | |",
    ]
    for name, figures in result["files"].items():
        lines.append(
            f"| {name} of the last stretch | {figures['packets']} frames, "
            f"{figures['seconds']:.1f} s, {figures['bytes'] / 1e6:.1f} MB | |"
        )
    lines.append(f"| its recording.json state | {result['state']} | complete |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="stretches without/with recording")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each stretch")
    args = parser.parse_args()
    print(report(asyncio.run(run(args.rounds, args.seconds))))


if __name__ == "__main__":
    main()
