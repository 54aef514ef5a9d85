"""Pages and plain HTTP answers: who may open what, and the shape of errors."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from web.config import Settings

pytestmark = pytest.mark.asyncio


async def test_hall_key_opens_only_its_own_hall_page(
    client: TestClient, settings: Settings
) -> None:
    own = await client.get(f"/hall/thon-1?key={settings.halls[0].key}")
    assert own.status == 200 and "text/html" in own.headers["Content-Type"]
    assert own.headers["Cache-Control"] == "no-store"
    assert (await client.get(f"/hall/thon-2?key={settings.halls[0].key}")).status == 403
    assert (await client.get(f"/chair?key={settings.halls[0].key}")).status == 403
    assert (await client.get(f"/view?key={settings.halls[0].key}")).status == 403
    assert (await client.get(f"/hall/nowhere?key={settings.halls[0].key}")).status == 404
    assert (await client.get("/chair")).status == 401
    assert (await client.get(f"/chair?key={settings.keys.chair}")).status == 200
    assert (await client.get(f"/view?key={settings.keys.viewer}")).status == 200


async def test_without_a_key_nobody_learns_which_halls_exist(client: TestClient) -> None:
    assert (await client.get("/hall/thon-1")).status == 401
    assert (await client.get("/hall/no-such-hall")).status == 401


async def test_healthz_reports_live_state(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert await response.json() == {"ok": True, "live": False}


async def test_aiohttps_own_errors_carry_an_error_code_too(client: TestClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status == 404 and missing.headers["X-Error-Code"] == "not-found"
    wrong_method = await client.get("/whip")
    assert wrong_method.status == 405
    assert wrong_method.headers["X-Error-Code"] == "method-not-allowed"


@pytest.mark.parametrize("path", ["/", "/static/hall.js", "/healthz", "/no-such-page"])
async def test_every_answer_carries_the_security_headers_and_no_server_version(
    client: TestClient, path: str
) -> None:
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Server"] == "commune-bridge"
