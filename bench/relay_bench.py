"""Measures our Bridge against aiortc's MediaRelay in one run and writes docs/benchmarks.md.

Every relay runs alone in its own process, the publisher in another and the
subscribers in a third, so psutil can charge the relay's CPU to the relay only.
For the loss table the publisher runs in a network namespace whose uplink
drops UDP at random (`--only loss` runs just that part and prints its table).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

# Run as a script (`python bench/relay_bench.py`), so the repository root is not on
# sys.path yet; the children run as `-m bench.*` from the root and need no such help.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loss_report import render_loss  # noqa: E402
from bench.processes import Child, ChildFailed, Fleet  # noqa: E402
from bench.report import render  # noqa: E402
from bench.weak_hall import render_weak_hall, weak_hall  # noqa: E402
from tests.netlab import Netns, missing_network_tools, netns  # noqa: E402
from tests.pictures import Tally  # noqa: E402

HALLS = 6
MANY = 20
WARMUP_S = 6.0
WINDOW_S = 15.0
IDLE_WINDOW_S = 10.0
JOIN_TIMEOUT_S = 30.0
LOSS_LEVELS = (0.0, 0.02, 0.05)  # random UDP loss on the chair's uplink
LOSS_HALLS = 3
# 360p keeps the reference's per-hall VP8 encoding within this machine, so its figures
# show loss, not a starved CPU; the bridge's cost does not depend on the picture size.
LOSS_SIZE = (640, 360)
LOSS_SETTLE_S = 3.0
LOSS_WINDOW_S = 20.0
LOSS_SUBNET = "10.198.{}"  # a /24 per benchmark run, numbered by pid


@dataclass
class Window:
    """What every process did over one steady-state window."""

    seconds: float
    cpu: dict[str, float]  # % of one core per child name, plus "machine"
    relay: dict[str, float]  # per-second rates of the relay's own counters
    publisher_kbps: float
    publisher_fps: float
    viewers: list[dict[str, Any]] = field(default_factory=list)

    def fps(self, key: str = "decoded_frames") -> list[float]:
        return [v[key] for v in self.viewers]

    def latencies(self) -> list[float]:
        return [ms for v in self.viewers for ms in v["latencies_ms"]]

    @property
    def packets_per_s(self) -> float:
        return sum(v["rtp_packets"] for v in self.viewers)


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def measure(children: dict[str, Child], seconds: float) -> Window:
    """Mark every child, wait `seconds`, mark again, and turn the differences into rates."""

    async def marks() -> dict[str, dict[str, Any]]:
        replies = await asyncio.gather(*(c.ask("mark") for c in children.values()))
        return dict(zip(children, replies, strict=True))

    cpu0 = {name: c.cpu_seconds() for name, c in children.items()}
    busy0, t0 = _machine_busy_seconds(), time.monotonic()
    before = await marks()
    await asyncio.sleep(seconds)
    after = await marks()
    dt = time.monotonic() - t0
    cpu = {name: (c.cpu_seconds() - cpu0[name]) / dt * 100 for name, c in children.items()}
    cpu["machine"] = (_machine_busy_seconds() - busy0) / dt * 100
    relay = {
        key: (after["relay"][key] - before["relay"][key]) / dt
        for key, value in after["relay"].items()
        if key not in ("event", "sessions") and isinstance(value, int | float)
    }
    pub_dt = after["publisher"]["t"] - before["publisher"]["t"]
    sent_bytes = after["publisher"]["video_bytes"] - before["publisher"]["video_bytes"]
    kbps = sent_bytes * 8 / pub_dt / 1000
    pub_fps = (after["publisher"]["frames"] - before["publisher"]["frames"]) / pub_dt
    viewers = []
    if "subscribers" in children:
        sub_dt = after["subscribers"]["t"] - before["subscribers"]["t"]
        old = before["subscribers"]["viewers"]
        for i, new in enumerate(after["subscribers"]["viewers"]):
            start: dict[str, Any] = old[i] if i < len(old) else {k: 0 for k in new}
            rates = {
                k: (new[k] - start[k]) / sub_dt
                for k in ("decoded_frames", "rtp_frames", "rtp_packets")
            }
            zero = {"at": before["subscribers"]["t"], "decoded": 0, "intact": 0, "freezes": []}
            begun = Tally(**(start["tally"] or {**zero, "last_intact_at": None}))
            pictures = Tally(**new["tally"]).since(begun)
            viewers.append(
                {
                    **rates,
                    "intact": pictures.intact / sub_dt,
                    "damaged": pictures.damaged,
                    "freezes": pictures.freezes,
                    "nacks": new["nacks"] - start["nacks"],
                    "plis": new["plis"] - start["plis"],
                    "latencies_ms": new["latencies_ms"],
                    "late_s": [t - before["subscribers"]["t"] for t in new["late_at"]],
                }
            )
    return Window(dt, cpu, relay, kbps, pub_fps, viewers)


async def start_relay(fleet: Fleet, mode: str, *args: str) -> tuple[Child, int]:
    relay = await fleet.start("relay", "bench.relay_server", "--mode", mode, *args)
    ready = await relay.expect("ready", 30)
    return relay, int(ready["port"])


async def six_halls(fleet: Fleet, mode: str) -> dict[str, Any]:
    """Scenario 1: a live-encoded stamped 720p30 chair, six decoding halls."""
    print(f"six halls: {mode}", flush=True)
    async with fleet:
        relay, port = await start_relay(fleet, mode)
        url = f"http://127.0.0.1:{port}"
        publisher = await fleet.start("publisher", "bench.publisher", "--url", url)
        await publisher.expect("ready", 30)
        await asyncio.sleep(2.0)  # the chair's encoder has produced keyframes by now
        subscribers = await fleet.start("subscribers", "bench.subscribers", "--url", url)
        await subscribers.expect("ready", 30)
        joined = await subscribers.ask(
            f"join {HALLS} 0.5 {JOIN_TIMEOUT_S}", timeout=JOIN_TIMEOUT_S + 30
        )
        await asyncio.sleep(WARMUP_S)
        children = {"relay": relay, "publisher": publisher, "subscribers": subscribers}
        window = await measure(children, WINDOW_S)
    return {
        "mode": mode,
        "join_ms": joined["join_ms"],
        "join_rtp_ms": joined["join_rtp_ms"],
        "window": window,
    }


async def many_subscribers(fleet: Fleet, mode: str) -> dict[str, Any]:
    """Scenario 2: a pre-encoded ~2 Mbps clip, then 10 and 20 halls that count RTP only."""
    print(f"twenty subscribers: {mode}", flush=True)
    steps: dict[int, Window] = {}
    async with fleet:
        relay, port = await start_relay(fleet, mode)
        url = f"http://127.0.0.1:{port}"
        publisher = await fleet.start(
            "publisher", "bench.publisher", "--url", url, "--source", "clip"
        )
        await publisher.expect("ready", 90)
        await asyncio.sleep(3.0)
        steps[0] = await measure({"relay": relay, "publisher": publisher}, IDLE_WINDOW_S)
        subscribers = await fleet.start(
            "subscribers", "bench.subscribers", "--url", url, "--mode", "rtp"
        )
        await subscribers.expect("ready", 30)
        children = {"relay": relay, "publisher": publisher, "subscribers": subscribers}
        join_ms: list[float | None] = []
        for count in (MANY // 2, MANY):
            joined = await subscribers.ask(
                f"join {count - len(join_ms)} 0.2 {JOIN_TIMEOUT_S}", timeout=JOIN_TIMEOUT_S + 60
            )
            join_ms += joined["join_ms"]
            await asyncio.sleep(4.0)
            steps[count] = await measure(children, WINDOW_S)
    return {"mode": mode, "join_ms": join_ms, "steps": steps}


async def lossy_uplink(fleet: Fleet, mode: str, loss: float, room: Netns) -> dict[str, Any]:
    """Scenario 3: the chair in its own namespace losing `loss` of its UDP, three halls."""
    print(f"{loss:.0%} loss on the chair's uplink: {mode}", flush=True)
    width, height = (str(n) for n in LOSS_SIZE)
    async with fleet:
        relay, port = await start_relay(fleet, mode, "--address", room.host_address)
        publisher = await fleet.start(
            "publisher",
            "bench.publisher",
            *("--url", f"http://{room.host_address}:{port}", "--ice", room.address),
            *("--width", width, "--height", height),
            wrapper=room.command(),
        )
        await publisher.expect("ready", 30)
        await asyncio.sleep(2.0)
        url = f"http://127.0.0.1:{port}"
        subscribers = await fleet.start("subscribers", "bench.subscribers", "--url", url)
        await subscribers.expect("ready", 30)
        await subscribers.ask(
            f"join {LOSS_HALLS} 0.5 {JOIN_TIMEOUT_S}", timeout=JOIN_TIMEOUT_S + 30
        )
        try:
            room.drop("OUTPUT", loss)
            await asyncio.sleep(LOSS_SETTLE_S)
            dropped = room.dropped("OUTPUT")
            children = {"relay": relay, "publisher": publisher, "subscribers": subscribers}
            window = await measure(children, LOSS_WINDOW_S)
            dropped = room.dropped("OUTPUT") - dropped
        finally:
            room.drop("OUTPUT", 0)
    return {"mode": mode, "loss": loss, "window": window, "dropped_per_s": dropped / window.seconds}


async def loss_table(fleet: Fleet) -> dict[str, Any]:
    """Every loss level against both relays, or why it can't run here."""
    problem = missing_network_tools("iptables")
    if problem:
        return {"skipped": problem}
    runs = []
    with netns("loss-", 2, LOSS_SUBNET.format(os.getpid() % 250)) as room:
        for loss in LOSS_LEVELS:
            for mode in ("bridge", "reference"):
                runs.append(await lossy_uplink(fleet, mode, loss, room))
    return {
        "runs": runs,
        "halls": LOSS_HALLS,
        "size": LOSS_SIZE,
        "settle_s": LOSS_SETTLE_S,
        "window_s": LOSS_WINDOW_S,
    }


def reference_cannot_take_twenty(six: dict[str, Any]) -> str:
    """Why the reference is not run with twenty halls, from its own six-hall numbers ('' = try)."""
    window: Window = six["window"]
    fps = window.fps()
    cores = psutil.cpu_count() or 1
    if fps and min(fps) >= 29 and window.cpu["relay"] < 60 * cores:
        return ""
    return (
        f"with six halls it already used {window.cpu['relay']:.0f}% CPU (of {cores * 100}%) "
        f"and delivered {statistics.median(fps) if fps else 0:.1f} fps median; twenty halls "
        f"need {MANY / HALLS:.1f}x the per-hall VP8 encoding, which this machine cannot do"
    )


def machine() -> dict[str, Any]:
    import aiortc
    import av

    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "aiortc": aiortc.__version__,
        "av": av.__version__,
        "load_before": os.getloadavg(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


async def run(fleet: Fleet, only: str | None) -> dict[str, Any]:
    # Ctrl-C or SIGTERM cancels the run, so each scenario's `async with fleet` stops its children.
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    results: dict[str, Any] = {"machine": machine()}
    started = time.monotonic()
    if only is None:
        results["six"] = {mode: await six_halls(fleet, mode) for mode in ("bridge", "reference")}
        results["many"] = {"bridge": await many_subscribers(fleet, "bridge")}
        reason = reference_cannot_take_twenty(results["six"]["reference"])
        if reason:
            results["many_reference_skipped"] = reason
        else:
            results["many"]["reference"] = await many_subscribers(fleet, "reference")
    if only in (None, "loss"):
        results["loss"] = await loss_table(fleet)
    if only in (None, "weak"):
        results["weak"] = await weak_hall()
    results["duration_s"] = time.monotonic() - started
    results["warmup_s"] = WARMUP_S
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="default: docs/benchmarks.md (stdout with --only)")
    parser.add_argument("--only", choices=("loss", "weak"), help="run one part and print its table")
    options = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    fleet = Fleet(log_dir)
    try:
        results = asyncio.run(run(fleet, options.only))
    except ChildFailed as exc:
        sys.exit(f"benchmark failed: {exc}\n(child logs in {log_dir})")
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; every child process was stopped")
    finally:
        fleet.kill_leftovers()
    out = options.out or (None if options.only else Path("docs/benchmarks.md"))
    command = "bench/relay_bench.py" + (f" --only {options.only}" if options.only else "")
    results["command"] = f".venv/bin/python {command}" + (f" --out {out}" if out else "")
    if options.only is None:
        results["command"] = "make bench  # " + results["command"]
    if options.only is None:
        text = render(results)
    else:
        m = results["machine"]
        title = f"# {options.only} only: `{results['command']}`, {m['date']}, {m['nproc']} cores"
        part = render_loss(results) if options.only == "loss" else render_weak_hall(results["weak"])
        text = "\n".join([title, "", *part])
    if out is None:
        print(text)
    else:
        out.write_text(text)
    print(f"done in {results['duration_s']:.0f} s (child logs in {log_dir})")


if __name__ == "__main__":
    main()
