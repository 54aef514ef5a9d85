"""The page WebSocket: welcome, state, pings, and what it does with bad or silent pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from tests.edge import (
    app_of,
    ws_messages,
)
from tests.peers import wait_for
from web.app import create_app
from web.config import Settings
from web.keys import MEETING

pytestmark = pytest.mark.asyncio


async def test_socket_welcomes_and_sends_state(client: TestClient, settings: Settings) -> None:
    ws = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    welcome, state = await ws_messages(ws, 2)
    assert welcome["type"] == "welcome" and welcome["role"] == "chair"
    assert welcome["commune"] == settings.commune
    assert state["type"] == "state" and len(state["halls"]) == 6
    await ws.close()


async def test_socket_with_a_wrong_key_is_refused_before_upgrade(client: TestClient) -> None:
    response = await client.get("/ws?key=" + "y" * 30)
    assert response.status == 403
    response = await client.get("/ws")
    assert response.status == 401


async def test_bad_messages_get_an_error_and_the_socket_stays_open(
    client: TestClient, settings: Settings
) -> None:
    ws = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(ws, 2)
    for raw, code in [
        ("{not json", "bad-json"),
        ("[1,2]", "bad-json"),
        ('{"no":"type"}', "bad-field"),
        ('{"type":"dance"}', "unknown-type"),
        ('{"type":"ping","id":"x"}', "bad-field"),
        ("[" * 30_000 + "]" * 30_000, "bad-json"),  # nested deeper than Python recurses
    ]:
        await ws.send_str(raw)
        (reply,) = await ws_messages(ws, 1)
        assert reply["type"] == "error" and reply["code"] == code, raw
    await ws.send_bytes(b"\x00\x01")
    (reply,) = await ws_messages(ws, 1)
    assert reply["code"] == "bad-json"
    await ws.send_str('{"type":"ping","id":7}')
    assert await ws_messages(ws, 1) == [{"type": "pong", "id": 7}]
    await ws.close()


async def test_message_over_64k_closes_that_socket_with_1009(
    client: TestClient, settings: Settings
) -> None:
    other = await client.ws_connect(f"/ws?key={settings.halls[1].key}")
    ws = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(ws, 2)
    await ws.send_str(json.dumps({"type": "ping", "id": 1, "pad": "x" * 70_000}))
    msg = await ws.receive(timeout=5)
    while msg.type == WSMsgType.TEXT:
        msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == 1009
    await other.send_str('{"type":"ping","id":2}')
    reply = json.loads((await other.receive(timeout=5)).data)
    while reply["type"] in ("welcome", "state"):
        reply = json.loads((await other.receive(timeout=5)).data)
    assert reply == {"type": "pong", "id": 2}
    await other.close()


async def test_a_silent_socket_is_closed_so_a_dead_tv_does_not_linger(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings, socket_silence=1.0))
    room = app_of(client)[MEETING].room
    ws = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(ws, 2)
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED) and ws.close_code == 1001
    await wait_for(lambda: room.hall_states()[0][2] == "lost", 5, "the hall to show lost")


async def test_a_page_that_never_reads_its_replies_is_closed(
    client: TestClient, settings: Settings
) -> None:
    ws = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    meeting = app_of(client)[MEETING]
    (page,) = meeting.pages.clients.values()
    assert page.writer is not None
    page.writer.cancel()  # fault injection: replies pile up, as for a client that never reads
    for i in range(100):
        await ws.send_str(f'{{"type":"ping","id":{i}}}')
    msg = await ws.receive(timeout=5)
    while msg.type == WSMsgType.TEXT:
        msg = await ws.receive(timeout=5)
    assert ws.close_code == 1008
    await wait_for(lambda: meeting.pages.clients == {}, 5, "the server to forget the page")


REPORT = {
    "type": "report",
    "shown": "live",
    "frames": 120,
    "fps": 29.5,
    "width": 1280,
    "height": 720,
    "audio_level": 0.12,
    "loss": 0.004,
    "jitter_ms": 6.5,
    "rtt_ms": 3.0,
    "bitrate_kbps": 1850.0,
}


async def _chair_state_with_link(chair: Any) -> dict[str, Any]:
    while True:
        message = json.loads((await chair.receive(timeout=5)).data)
        if message["type"] == "state" and message["halls"][0]["screen"]["link"]:
            return dict(message["halls"][0])


async def test_a_hall_report_reaches_the_chair_console_and_gets_no_reply(
    client: TestClient, settings: Settings
) -> None:
    chair = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    await ws_messages(chair, 2)
    tv = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(tv, 2)
    await tv.send_str(json.dumps(REPORT))
    hall = await _chair_state_with_link(chair)
    assert hall["id"] == "thon-1"
    assert hall["screen"]["link"] == {k: v for k, v in REPORT.items() if k != "type"}
    # The report itself is not answered: the next reply is the pong.
    await tv.send_str('{"type":"ping","id":3}')
    assert await ws_messages(tv, 1) == [{"type": "pong", "id": 3}]
    history = app_of(client)[MEETING].room.link_history("thon-1")
    assert [sample.report.frames for sample in history] == [120]
    await tv.close()
    await chair.close()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"frames": -1}, "frames"),
        ({"frames": 1.5}, "frames"),
        ({"frames": True}, "frames"),
        ({"fps": "30"}, "fps"),
        ({"fps": float("nan")}, None),  # NaN and Infinity are not JSON at all
        ({"width": 10**9}, "width"),
        ({"audio_level": 2}, "audio_level"),
        ({"loss": -0.1}, "loss"),
        ({"jitter_ms": None}, "jitter_ms"),
        ({"bitrate_kbps": float("inf")}, None),
        ({"shown": "dancing"}, "shown"),
        ({"shown": None}, "shown"),
    ],
)
async def test_a_bad_report_gets_an_error_naming_the_field_and_the_socket_stays_open(
    client: TestClient, settings: Settings, change: dict[str, Any], field: str | None
) -> None:
    tv = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(tv, 2)
    await tv.send_str(json.dumps({**REPORT, **change}))
    (reply,) = await ws_messages(tv, 1)
    if field is None:
        assert reply["type"] == "error" and reply["code"] == "bad-json"
    else:
        assert reply["type"] == "error" and reply["code"] == "bad-field"
        assert reply["field"] == field and f"'{field}'" in reply["message"]
    assert app_of(client)[MEETING].room.link_history("thon-1") == ()
    await tv.send_str(json.dumps({**REPORT, "rtt_ms": None}))  # unknown RTT is fine
    await tv.send_str('{"type":"ping","id":4}')
    assert await ws_messages(tv, 1) == [{"type": "pong", "id": 4}]
    await tv.close()


async def test_only_a_hall_page_may_report(client: TestClient, settings: Settings) -> None:
    for key in (settings.keys.viewer, settings.keys.chair):
        ws = await client.ws_connect(f"/ws?key={key}")
        await ws_messages(ws, 2)
        await ws.send_str(json.dumps(REPORT))
        (reply,) = await ws_messages(ws, 1)
        assert reply["type"] == "error" and reply["code"] == "forbidden"
        assert not ws.closed
        await ws.close()
