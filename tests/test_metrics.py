"""/metrics: every hall TV's figures in Prometheus text, for the metrics key or a local client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.edge import app_of, ws_messages
from tests.peers import wait_for
from tests.test_ws import REPORT
from web.app import create_app
from web.config import Settings
from web.keys import MEETING

pytestmark = pytest.mark.asyncio


def samples(text: str) -> dict[tuple[str, str], float]:
    """(sample name, hall) → value, from Prometheus text."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, sample.labels.get("hall", ""))] = sample.value
    return found


async def test_a_local_scraper_reads_the_figures_each_hall_reported(
    client: TestClient, settings: Settings
) -> None:
    tv = await client.ws_connect(f"/ws?key={settings.halls[1].key}")
    await ws_messages(tv, 2)
    await tv.send_str(json.dumps(REPORT))
    room = app_of(client)[MEETING].room
    await wait_for(lambda: bool(room.link_history("thon-2")), 5, "the report at the room")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(await response.text())
    assert found[("commune_hall_frames_rendered_total", "thon-2")] == 120
    assert found[("commune_hall_frames_per_second", "thon-2")] == 29.5
    assert found[("commune_hall_video_height_pixels", "thon-2")] == 720
    assert found[("commune_hall_packet_loss_ratio", "thon-2")] == 0.004
    assert found[("commune_hall_jitter_seconds", "thon-2")] == 0.0065
    assert found[("commune_hall_round_trip_seconds", "thon-2")] == 0.003
    assert found[("commune_hall_bitrate_bits_per_second", "thon-2")] == 1_850_000
    assert found[("commune_hall_audio_level", "thon-2")] == 0.12
    assert found[("commune_broadcast_live", "")] == 0
    # A hall that never reported has a verdict but no invented figures.
    assert found[("commune_hall_picture_frozen", "thon-1")] == 0
    assert ("commune_hall_frames_per_second", "thon-1") not in found
    await tv.close()


def _from_afar(app: web.Application) -> None:
    """Make every request look as if it came from another machine on the LAN."""

    @web.middleware
    async def remote(request: web.Request, handler: Any) -> web.StreamResponse:
        return await handler(request.clone(remote="192.0.2.7"))

    app.middlewares.insert(0, remote)


async def test_a_remote_scraper_needs_the_metrics_key(
    aiohttp_client: Any, settings: Settings
) -> None:
    app = create_app(settings)
    _from_afar(app)
    client = await aiohttp_client(app)
    assert (await client.get("/metrics")).status == 401
    assert (await client.get(f"/metrics?key={settings.keys.chair}")).status == 403
    bearer = {"Authorization": f"Bearer {settings.keys.metrics}"}
    response = await client.get("/metrics", headers=bearer)
    assert response.status == 200
    assert ("commune_broadcast_live", "") in samples(await response.text())
    assert (await client.get(f"/metrics?key={settings.keys.metrics}")).status == 200
    # A scraper polls all day: its key is no wrong key, so its address is never backed off.
    for _ in range(settings.limits.failed_keys_per_minute + 2):
        assert (await client.get(f"/metrics?key={settings.keys.metrics}")).status == 200


async def test_the_metrics_key_opens_nothing_else(client: TestClient, settings: Settings) -> None:
    assert (await client.get(f"/ws?key={settings.keys.metrics}")).status == 403
    assert (await client.get(f"/chair?key={settings.keys.metrics}")).status == 403


async def test_two_apps_in_one_process_keep_their_own_figures(
    aiohttp_client: Any, settings: Settings
) -> None:
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    tv = await first.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(tv, 2)
    await tv.send_str(json.dumps(REPORT))
    room = app_of(first)[MEETING].room
    await wait_for(lambda: bool(room.link_history("thon-1")), 5, "the report")
    assert ("commune_hall_frames_per_second", "thon-1") in samples(
        await (await first.get("/metrics")).text()
    )
    assert ("commune_hall_frames_per_second", "thon-1") not in samples(
        await (await second.get("/metrics")).text()
    )
    await tv.close()
