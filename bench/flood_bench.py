"""Six halls watch the chair through the real bridge while a stranger floods it; prints markdown.

The bridge runs as `commune-bridge` (web/ edge and all) under `prlimit --nofile=1024`.
The chair (bench.publisher) and six decoding halls (bench.subscribers) reach it
through a small adapter here that turns the bench's /publish and /subscribe into
WHIP and WHEP with the chair's and each hall's key. For each flood of issue 8 the
halls join while the flood runs, then their decoded fps is measured over a window.
Nothing here edits docs/benchmarks.md: the section is printed for the lead to merge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import Child, Fleet  # noqa: E402
from tests.bridgeproc import BridgeProcess, bridge_process, whep_offer  # noqa: E402

HALLS = 6
WARMUP_S = 4.0
WINDOW_S = 10.0
JOIN_TIMEOUT_S = 30.0
FLOOD_SETTLE_S = 2.0
MIN_FPS = 29.0
MAX_JOIN_P50_MS = 200.0
SOURCES = ("127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5")

Flood = Callable[[BridgeProcess, dict[str, int]], Awaitable[None]]


def _client(source: str = "127.0.0.1") -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True, limit=0)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))


async def _open_idle(port: int, count: int, held: list[asyncio.StreamWriter]) -> int:
    async def one() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        held.append(writer)
        return True

    return sum(await asyncio.gather(*(one() for _ in range(count))))


async def idle_tcp(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """1,100 bare connections that never speak, then 50 more every second."""
    held: list[asyncio.StreamWriter] = []
    try:
        for _ in range(11):
            counts["attempts"] += 100
            counts["opened"] += await _open_idle(bridge.port, 100, held)
        while True:
            counts["attempts"] += 50
            counts["opened"] += await _open_idle(bridge.port, 50, held)
            await asyncio.sleep(1.0)
    finally:
        for writer in held:
            writer.close()


async def viewer_sockets(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """1,100 viewer-key sockets from four addresses, refused ones retried 20 times a second."""
    key = bridge.keys["viewer"]
    clients = [_client(source) for source in SOURCES]
    sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def one(http: aiohttp.ClientSession) -> None:
        counts["attempts"] += 1
        try:
            ws = await http.ws_connect(f"{bridge.base}/ws?key={key}")
        except (aiohttp.ClientError, TimeoutError):
            counts["failed"] += 1
            return
        message = await ws.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.CLOSE:
            counts["refused"] += 1
        else:
            counts["opened"] += 1
            sockets.append(ws)

    try:
        for n in range(0, 1100, 25):
            await asyncio.gather(*(one(clients[(n + i) % 4]) for i in range(25)))
        while True:
            await one(clients[counts["attempts"] % 4])
            await asyncio.sleep(0.05)
    finally:
        for ws in sockets:
            await ws.close()
        for http in clients:
            await http.close()


async def pending_offers(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """Viewer offers whose peer never answers a check: 40 at once, then 4 a second."""
    offer = await whep_offer()
    headers = {
        "Authorization": f"Bearer {bridge.keys['viewer']}",
        "Content-Type": "application/sdp",
    }
    async with _client() as http:

        async def one() -> None:
            counts["attempts"] += 1
            async with http.post(f"{bridge.base}/whep", data=offer, headers=headers) as answer:
                counts[str(answer.status)] += 1

        await asyncio.gather(*(one() for _ in range(40)))
        while True:
            await one()
            await asyncio.sleep(0.25)


async def many_candidates(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """Offers naming 400 candidates (loopback ports nobody answers, and shared-space
    addresses the bridge must never contact), one a second."""
    lines = [line for line in (await whep_offer()).splitlines() if "a=candidate:" not in line]
    candidates = []
    for n in range(200):
        candidates.append(
            f"a=candidate:{n} 1 udp 2130706431 127.0.0.{n % 8 + 1} {40000 + n} typ host"
        )
        candidates.append(
            f"a=candidate:{1000 + n} 1 udp 2130706431 100.64.{n // 250}.{n % 250 + 1} 3478 typ host"
        )
    sdp: list[str] = []
    for line in lines:
        sdp.append(line)
        if line.startswith("a=mid:"):
            sdp += candidates
    offer = "\r\n".join(sdp) + "\r\n"
    headers = {
        "Authorization": f"Bearer {bridge.keys['viewer']}",
        "Content-Type": "application/sdp",
    }
    async with _client("127.0.0.6") as http:
        while True:
            counts["attempts"] += 1
            async with http.post(f"{bridge.base}/whep", data=offer, headers=headers) as answer:
                counts[str(answer.status)] += 1
            await asyncio.sleep(1.0)


async def wrong_keys(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """Key guesses from one address (not the halls'), as fast as the answers come."""
    async with _client("127.0.0.7") as http:
        while True:
            counts["attempts"] += 1
            guess = os.urandom(18).hex()
            async with http.get(f"{bridge.base}/view?key={guess}") as answer:
                counts[str(answer.status)] += 1


async def junk(bridge: BridgeProcess, counts: dict[str, int]) -> None:
    """Oversized headers and binary junk, one connection after another."""
    oversized = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    while True:
        counts["attempts"] += 1
        data = oversized if counts["attempts"] % 2 else os.urandom(2000)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", bridge.port)
            writer.write(data)
            await reader.read(4096)
            writer.close()
        except OSError:
            counts["failed"] += 1


FLOODS: dict[str, Flood | None] = {
    "none": None,
    "1,100 idle TCP connections": idle_tcp,
    "1,100 viewer-key sockets": viewer_sockets,
    "never-connecting viewer offers": pending_offers,
    "offers with 400 ICE candidates": many_candidates,
    "wrong keys": wrong_keys,
    "oversized headers and binary junk": junk,
}


@contextlib.asynccontextmanager
async def adapter(bridge: BridgeProcess) -> AsyncIterator[str]:
    """The bench's /publish and /subscribe, as WHIP with the chair's key and WHEP with the
    next hall's key."""
    joined = [0]
    halls = list(bridge.halls.values())
    http = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        if request.path == "/publish":
            path, key = "/whip", bridge.keys["chair"]
        else:
            path, key = "/whep", halls[joined[0] % len(halls)]
            joined[0] += 1
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
        body = await request.text()
        async with http.post(f"{bridge.base}{path}", data=body, headers=headers) as answer:
            text = await answer.text()
            return web.Response(status=200 if answer.status == 201 else answer.status, text=text)

    app = web.Application()
    app.router.add_post("/publish", forward)
    app.router.add_post("/subscribe", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await http.close()


async def halls_under(
    flood: Flood | None, bridge: BridgeProcess, url: str, fleet: Fleet, publisher: Child
) -> dict[str, Any]:
    counts = _Counts()
    task = asyncio.ensure_future(flood(bridge, counts)) if flood else None
    started = time.monotonic()
    process = psutil.Process(bridge.process.pid)
    try:
        await asyncio.sleep(FLOOD_SETTLE_S if flood else 0)
        subscribers = await fleet.start("subscribers", "bench.subscribers", "--url", url)
        await subscribers.expect("ready", 30)
        joined = await subscribers.ask(
            f"join {HALLS} 0.5 {JOIN_TIMEOUT_S}", timeout=JOIN_TIMEOUT_S + 30
        )
        await asyncio.sleep(WARMUP_S)
        cpu0, busy0 = sum(process.cpu_times()[:2]), _busy()
        chair0, before = await asyncio.gather(publisher.ask("mark"), subscribers.ask("mark"))
        await asyncio.sleep(WINDOW_S)
        chair1, after = await asyncio.gather(publisher.ask("mark"), subscribers.ask("mark"))
        cpu1, busy1 = sum(process.cpu_times()[:2]), _busy()
        await subscribers.stop()
        fleet.children.remove(subscribers)
    finally:
        elapsed = time.monotonic() - started
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    dt = after["t"] - before["t"]
    fps = [
        (new["decoded_frames"] - old["decoded_frames"]) / dt
        for old, new in zip(before["viewers"], after["viewers"], strict=True)
    ]
    joins = [ms for ms in joined["join_ms"] if ms is not None]
    return {
        "fps": fps,
        "join_ms": joins,
        "missing": HALLS - len(joins),
        "rate": counts.get("attempts", 0) / elapsed,
        "counts": dict(counts),
        "chair_fps": (chair1["frames"] - chair0["frames"]) / (chair1["t"] - chair0["t"]),
        "bridge_cpu": (cpu1 - cpu0) / dt * 100,
        "machine_cpu": (busy1 - busy0) / dt * 100,
    }


def _busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class _Counts(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> int:
        return 0


def render(results: dict[str, dict[str, Any]], rss: tuple[int, int], log: list[str]) -> str:
    out = [
        "## Floods (issue 8)",
        "",
        "The real `commune-bridge` under `prlimit --nofile=1024`, plain HTTP on 127.0.0.1; a "
        "live-encoded 720p30 chair and six decoding halls (one per hall key) join 0.5 s apart "
        f"while the flood runs, then a {WINDOW_S:.0f} s window is measured after {WARMUP_S:.0f} s. "
        "Rate is what the flooder managed, attempts per second over the scenario.",
        "",
        "| flood | rate | hall fps min / median | chair sent | hall join p50 / max (ms) | verdict "
        "| bridge CPU | whole machine | what the bridge answered |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        fps, joins = r["fps"], r["join_ms"]
        ok = (
            bool(fps)
            and min(fps) >= MIN_FPS
            and not r["missing"]
            and statistics.median(joins) <= MAX_JOIN_P50_MS
        )
        rate = "n/a" if name == "none" else f"{r['rate']:.0f}/s"
        join = f"{statistics.median(joins):.0f} / {max(joins):.0f}" if joins else "none"
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(r["counts"].items()) if k != "attempts")
        out.append(
            f"| {name} | {rate} | {min(fps):.1f} / {statistics.median(fps):.1f} "
            f"| {r['chair_fps']:.1f} fps | {join} "
            f"| {'**PASS**' if ok else '**FAIL**'} | {r['bridge_cpu']:.0f} % "
            f"| {r['machine_cpu']:.0f} % of {100 * (os.cpu_count() or 1)} % | {counts or '-'} |"
        )
    starved = [n for n, r in results.items() if r["chair_fps"] < MIN_FPS]
    if starved:
        out += [
            "",
            f"The chair itself sent fewer than {MIN_FPS:.0f} fps under: {', '.join(starved)}: "
            "the machine was saturated (whole machine column), and the halls got what it sent.",
        ]
    out += ["", "Join to first decoded frame per hall (ms), in join order:", ""]
    out += [f"- {n}: {', '.join(f'{ms:.0f}' for ms in r['join_ms'])}" for n, r in results.items()]
    before, after = rss
    loggers = Counter(_logger(line) for line in log).most_common(6)
    by_logger = ", ".join(f"{name}: {count}" for name, count in loggers)
    out += [
        "",
        f"Bridge memory (RSS): {before / 1048576:.0f} MiB before the floods, "
        f"{after / 1048576:.0f} MiB after. Log lines written during all floods: {len(log)} "
        f"({by_logger}).",
        f"Targets: every hall ≥ {MIN_FPS:.0f} fps, hall join p50 ≤ {MAX_JOIN_P50_MS:.0f} ms.",
    ]
    return "\n".join(out)


async def run(only: str | None) -> str:
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="flood-bench-") as tmp:
        async with bridge_process(Path(tmp), nofile=1024) as bridge, adapter(bridge) as url:
            fleet = Fleet(Path(tmp))
            async with fleet:
                publisher = await fleet.start("publisher", "bench.publisher", "--url", url)
                await publisher.expect("ready", 30)
                await asyncio.sleep(2.0)
                rss_before, lines_before = bridge.rss(), len(bridge.log)
                for name, flood in FLOODS.items():
                    if only and only not in name and name != "none":
                        continue
                    print(f"flood: {name}", file=sys.stderr, flush=True)
                    results[name] = await halls_under(flood, bridge, url, fleet, publisher)
                    await asyncio.sleep(3.0)  # the last halls' sessions close
                rss_after = bridge.rss()
            log = bridge.log[lines_before:]
    return render(results, (rss_before, rss_after), log)


def _logger(line: str) -> str:
    words = line.split()
    return words[3].rstrip(":") if len(words) > 3 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only the floods whose name contains this")
    options = parser.parse_args()
    print(asyncio.run(run(options.only)))


if __name__ == "__main__":
    main()
