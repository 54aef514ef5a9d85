"""Scenario 3 of docs/benchmarks.md: what random loss on the chair's uplink did to each
hall's pictures, from the relay benchmark's loss runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.pictures import DAMAGED_TILE, FREEZE_S

if TYPE_CHECKING:
    from bench.relay_bench import Window


def _per_minute(count: float, seconds: float) -> str:
    return f"{count * 60 / seconds:.1f}" if seconds else "n/a"


def render_loss(results: dict[str, Any]) -> list[str]:
    """The loss table: per hall, what random loss on the chair's uplink did to its pictures."""
    loss = results.get("loss")
    lines = ["## Scenario 3: loss on the chair's uplink", ""]
    if not loss:
        return []
    if "skipped" in loss:
        return lines + [f"Not run: {loss['skipped']}.", ""]
    width, height = loss["size"]
    lines += [
        f"The chair runs in its own network namespace, joined to this machine by a veth pair; "
        f"iptables drops its outgoing UDP at random (`-m statistic --mode random`), RTCP and "
        f"retransmissions included. It live-encodes a {width}×{height} 30 fps picture whose "
        f"content is a known function of the frame number stamped in it. {loss['halls']} halls "
        f"decode on this machine's side and check every picture against the one they should "
        f"have got: *intact* pictures differ from it by at most {DAMAGED_TILE:.0f} (mean "
        f"absolute luma difference) in every 16×16 tile. A *freeze* is a gap over "
        f"{FREEZE_S * 1000:.0f} ms between two intact pictures (one still going on at the end "
        f"counts). Each cell is one {loss['window_s']:.0f} s window, starting "
        f"{loss['settle_s']:.0f} s after the loss was switched on. NACKs and PLIs are the "
        "RTCP packets the hall's own receiver sent.",
        "",
        "| uplink loss | relay | hall | decoded fps | intact pictures/s | damaged pictures "
        "| freezes > 300 ms per minute | longest freeze (s) | NACKs sent per minute "
        "| PLIs sent per minute |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    totals = [
        "",
        "| uplink loss | relay | chair packets dropped per s | chair sent | relay CPU "
        "| PLIs the relay sent the chair per s |",
        "|---|---|---|---|---|---|",
    ]
    for run in loss["runs"]:
        w: Window = run["window"]
        name = "Bridge" if run["mode"] == "bridge" else "Reference"
        for i, v in enumerate(w.viewers):
            decoded = v["decoded_frames"] * w.seconds
            lines.append(
                f"| {run['loss']:.0%} | {name} | {i + 1} | {v['decoded_frames']:.1f} "
                f"| {v['intact']:.1f} | {v['damaged']} ({v['damaged'] / max(decoded, 1):.0%}) "
                f"| {_per_minute(len(v['freezes']), w.seconds)} "
                f"| {max(v['freezes'], default=0):.2f} | {_per_minute(v['nacks'], w.seconds)} "
                f"| {_per_minute(v['plis'], w.seconds)} |"
            )
        plis = f"{w.relay['plis_sent']:.2f}" if "plis_sent" in w.relay else "n/a"
        totals.append(
            f"| {run['loss']:.0%} | {name} | {run['dropped_per_s']:.1f} "
            f"| {w.publisher_fps:.1f} fps, {w.publisher_kbps:.0f} kbps "
            f"| {w.cpu['relay']:.1f} % | {plis} |"
        )
    return lines + totals + [""]
