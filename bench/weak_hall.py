"""The weak-hall benchmark: how fast a hall moves to the light rendition when its link is
thinned, and back to the full one when the link recovers.

The bridge runs in this process (only its timings matter here, not its CPU);
the chair and a good hall are aiortc peers beside it, and the weak hall runs in
a network namespace whose link a token bucket (`tc ... tbf`) thins.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge.consumer import Consumer
from tests.conftest import LOOPBACK, keep_ice_on
from tests.netlab import netns
from tests.test_renditions import (
    LIGHT,
    THIN_KBIT,
    full_bitrate,
    video_consumers,
    weak_link_scene,
)
from web.app import create_app
from web.config import load_settings

FPS_WINDOW_S = 8.0
SUBNET = "10.196.{}"


async def _poll_until(predicate: Any, timeout: float) -> float | None:
    """Seconds until `predicate()` holds, or None after `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return None


async def weak_hall() -> dict[str, Any]:
    """Thin one hall's link, then restore it; time both switches and the fps in between."""
    data = Path(tempfile.mkdtemp(prefix="weak-hall-"))
    settings = load_settings(
        None,
        overrides={"data_dir": str(data), "server": {"host": LOOPBACK, "tls": "off"}},
    )
    with netns("weak-", 0, SUBNET.format(os.getpid() % 250)) as village:
        keep_ice_on([LOOPBACK, village.host_address])
        app = create_app(settings, bridge_options={"idle_timeout": 5.0})
        runner = web.AppRunner(app)
        await runner.setup()
        port = 18600 + os.getpid() % 300
        for address in (LOOPBACK, village.host_address):
            await web.TCPSite(runner, address, port).start()

        def consumer(hall_id: str) -> Consumer:
            (found,) = video_consumers(app, f"hall:{hall_id}")
            return found

        thin_hall, good_hall = settings.halls[0], settings.halls[1]
        try:
            async with weak_link_scene(settings, village, app, port) as scene:
                thin = scene.thin
                full_kbps = full_bitrate(app) / 1000
                weak = consumer(thin_hall.id)
                # Switches while the chair's encoder ramped up, before any thinning: a try
                # up that fails within picker.FAILED_TRY of the thinning doubles the hold.
                early_switches = weak.picker.switches
                village.thin(THIN_KBIT)
                thinned_at = time.monotonic()
                down_s = await _poll_until(lambda: weak.rendition == 1, 30)
                await _poll_until(lambda: thin.details.get("size") == list(LIGHT), 20)
                await asyncio.sleep(2.0)
                start = thin.tally()
                await asyncio.sleep(FPS_WINDOW_S)
                window = thin.tally().since(start)
                village.thin(None)
                thinned_s = time.monotonic() - thinned_at
                thinned_switches = weak.picker.switches - early_switches
                hold = weak.picker.hold_up
                up_s = await _poll_until(lambda: weak.rendition == 0, 2 * hold + 5)
                return {
                    "full_kbps": full_kbps,
                    "thin_kbit": THIN_KBIT,
                    "down_s": down_s,
                    "up_s": up_s,
                    "hold_s": hold,
                    "early_switches": early_switches,
                    "thinned_s": thinned_s,
                    "thinned_switches": thinned_switches,
                    "light_intact_fps": window.intact / window.seconds,
                    "light_damaged": window.damaged,
                    "light_longest_freeze_s": window.longest_freeze,
                    "good_hall_rendition": consumer(good_hall.id).rendition,
                }
        finally:
            await runner.cleanup()


def render_weak_hall(result: dict[str, Any]) -> list[str]:
    def secs(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    return [
        "## Weak hall: full and light renditions",
        "",
        f"One hall's link thinned to {result['thin_kbit']} kbit/s with `tc ... tbf` while the "
        f"chair's full rendition ran at {result['full_kbps']:.0f} kbit/s (640×360 from aiortc; "
        "the chair page sends 720p at 2 Mbps), then restored. Timed at the bridge.",
        "",
        "The hall steps up once its reports have been clean for the picker's hold "
        f"({result['hold_s']:.0f} s here; it doubles after each failed try, up to 5 "
        "minutes), so the time back up is at most that hold after the link recovers.",
        "",
        "| | |",
        "|---|---|",
        f"| the hall's rendition switches before its link was thinned | "
        f"{result['early_switches']} |",
        f"| thinned → light rendition | {secs(result['down_s'])} |",
        f"| the link stayed thin for | {result['thinned_s']:.1f} s, with "
        f"{result['thinned_switches']} switches (more than 1: it tried the full stream "
        "again while the link was still thin) |",
        f"| intact pictures/s on the light rendition (over 30 while the hall's decoder "
        f"drains what piled up during the switch) | {result['light_intact_fps']:.1f} |",
        f"| damaged pictures in that {FPS_WINDOW_S:.0f} s window | {result['light_damaged']} |",
        f"| longest freeze in that window | {result['light_longest_freeze_s']:.2f} s |",
        f"| restored → full rendition | {secs(result['up_s'])} |",
        f"| the good hall's rendition meanwhile | {result['good_hall_rendition']} (full) |",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(render_weak_hall(asyncio.run(weak_hall()))))
