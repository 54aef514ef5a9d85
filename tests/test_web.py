"""The HTTP and WebSocket edge, with aiohttp's test client and real aiortc peers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import psutil
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from tests.peers import Publisher, start_publisher, start_viewer, wait_for
from web.app import create_app
from web.config import Settings
from web.keys import BRIDGE, MEETING

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    app = create_app(settings, bridge_options={"idle_timeout": 3.0})
    return await aiohttp_client(app)


@pytest.fixture
async def live_chair(client: TestClient, settings: Settings) -> AsyncIterator[Publisher]:
    """A chair publishing over real WHIP, already live at the bridge."""
    publisher = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    try:
        await wait_for(lambda: app_of(client)[BRIDGE].publishing.live, 10, "the chair live")
        yield publisher
    finally:
        await publisher.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}


def app_of(client: TestClient) -> web.Application:
    app = client.app
    assert app is not None
    return app


def http_signal(  # type: ignore[no-untyped-def]
    client: TestClient, path: str, key: str, connection: str | None = None
):
    """Signal over real HTTP; `connection` names the page socket (X-Connection)."""
    headers = bearer(key) if connection is None else {**bearer(key), "X-Connection": connection}

    async def signal(offer: str) -> str:
        response = await client.post(path, data=offer, headers=headers)
        assert response.status == 201, await response.text()
        assert response.headers["Location"].startswith(f"{path}/")
        return await response.text()

    return signal


def udp_sockets() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


async def test_whip_with_a_hall_key_is_forbidden_before_any_peer(
    client: TestClient, settings: Settings
) -> None:
    response = await client.post("/whip", data="v=0\r\n", headers=bearer(settings.halls[0].key))
    assert response.status == 403
    assert response.headers["X-Error-Code"] == "wrong-key"
    assert app_of(client)[BRIDGE].sessions == {}


async def test_whip_without_a_key_is_unauthorized(client: TestClient) -> None:
    response = await client.post("/whip", data="v=0", headers={"Content-Type": "application/sdp"})
    assert response.status == 401
    assert "Bearer" in await response.text()


async def test_wrong_key_is_forbidden(client: TestClient) -> None:
    response = await client.post("/whep", data="v=0", headers=bearer("x" * 32))
    assert response.status == 403


@pytest.mark.parametrize("path", ["/whip", "/whep"])
@pytest.mark.parametrize(
    "body,reason",
    [
        ("", "empty"),
        ("hello", "v=0"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no audio or video"),
        (
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=mid:0\r\n",
            "ICE",
        ),
    ],
)
async def test_malformed_sdp_gets_400_with_a_reason_and_leaves_nothing_behind(
    client: TestClient, settings: Settings, path: str, body: str, reason: str
) -> None:
    before = udp_sockets()
    key = settings.keys.chair
    response = await client.post(path, data=body, headers=bearer(key))
    assert response.status == 400
    assert response.headers["X-Error-Code"] == "bad-sdp"
    assert reason in await response.text()
    assert app_of(client)[BRIDGE].sessions == {}
    assert udp_sockets() == before


async def test_wrong_content_type_gets_415(client: TestClient, settings: Settings) -> None:
    response = await client.post(
        "/whip",
        data="v=0",
        headers={"Authorization": f"Bearer {settings.keys.chair}", "Content-Type": "text/plain"},
    )
    assert response.status == 415


async def test_options_answers_cors_for_browsers_and_obs(client: TestClient) -> None:
    response = await client.options("/whip")
    assert response.status == 204
    assert response.headers["Accept-Post"] == "application/sdp"
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


async def test_patch_says_trickle_is_not_supported(client: TestClient) -> None:
    response = await client.patch("/whip/abc", data="a=candidate")
    assert response.status == 405


async def test_chair_publishes_over_whip_and_halls_watch_over_whep(
    client: TestClient, settings: Settings
) -> None:
    publisher = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    viewers = [
        await start_viewer(http_signal(client, "/whep", hall.key)) for hall in settings.halls[:2]
    ]
    try:
        await wait_for(lambda: all(v.frames >= 10 for v in viewers), 20, "frames at both halls")
        room = app_of(client)[MEETING].room
        await wait_for(lambda: room.broadcast.live, 5, "the room to see the broadcast")
        states = {hall_id: state for hall_id, _, state in room.hall_states()}
        assert states["thon-1"] == "watching" and states["thon-2"] == "watching"
        assert states["thon-3"] == "offline"
    finally:
        for v in viewers:
            await v.close()
        await publisher.close()


async def test_delete_stops_the_stream_and_only_its_owner_may(
    client: TestClient, settings: Settings, live_chair: Publisher
) -> None:
    bridge = app_of(client)[BRIDGE]
    (session_id,) = [s.id for s in bridge.sessions.values() if s.direction == "publish"]
    other = await client.delete(f"/whip/{session_id}", headers=bearer(settings.halls[0].key))
    assert other.status == 403
    own = await client.delete(f"/whip/{session_id}", headers=bearer(settings.keys.chair))
    assert own.status == 200
    await wait_for(lambda: not bridge.publishing.live, 5, "the broadcast to stop")
    again = await client.delete(f"/whip/{session_id}", headers=bearer(settings.keys.chair))
    assert again.status == 404


async def test_a_screen_that_cannot_receive_the_chairs_codec_gets_406(
    client: TestClient, settings: Settings
) -> None:
    publisher = await start_publisher(
        http_signal(client, "/whip", settings.keys.chair), codec="H264"
    )
    bridge = app_of(client)[BRIDGE]
    try:
        await wait_for(lambda: bridge.publishing.video_codec == "H264", 10, "H.264 to go live")
        viewer_pc = None

        async def signal(offer: str) -> str:
            response = await client.post("/whep", data=offer, headers=bearer(settings.keys.viewer))
            assert response.status == 406
            assert response.headers["X-Error-Code"] == "codec-unsupported"
            assert "H264" in await response.text()
            raise LookupError("refused as expected")

        with pytest.raises(LookupError):
            viewer_pc = await start_viewer(signal, video_codecs=("VP8",))
        assert viewer_pc is None
        assert [s.direction for s in bridge.sessions.values()] == ["publish"]
    finally:
        await publisher.close()


async def ws_messages(ws: Any, count: int) -> list[dict[str, Any]]:
    return [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def next_besides_state(ws: Any, timeout: float = 15) -> dict[str, Any]:
    """The next message that is not a state snapshot (those come whenever anything moves)."""
    while True:
        message: dict[str, Any] = json.loads((await ws.receive(timeout=timeout)).data)
        if message["type"] != "state":
            return message


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


async def test_hall_goes_connected_then_lost_when_its_page_drops(
    client: TestClient, settings: Settings
) -> None:
    chair = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    await ws_messages(chair, 2)
    hall = await client.ws_connect(f"/ws?key={settings.halls[0].key}")

    async def hall_state() -> str:
        while True:
            message = json.loads((await chair.receive(timeout=5)).data)
            if message["type"] == "state":
                return str(message["halls"][0]["state"])

    assert await hall_state() == "connected"
    await hall.close()
    assert await hall_state() == "lost"
    await chair.close()


async def test_garbage_and_silent_clients_do_not_disturb_watching_halls(
    client: TestClient, settings: Settings
) -> None:
    publisher = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    viewer = await start_viewer(http_signal(client, "/whep", settings.halls[0].key))
    silent = await client.ws_connect(f"/ws?key={settings.halls[2].key}")
    noisy = await client.ws_connect(f"/ws?key={settings.halls[1].key}")
    try:
        await wait_for(lambda: viewer.frames >= 5, 20, "first frames")
        before = viewer.frames
        for i in range(200):
            await noisy.send_str("}{" * (i % 50))
        junk = await client.post(
            "/whep", data=b"\xff\xfe" * 100, headers=bearer(settings.halls[1].key)
        )
        assert junk.status == 400
        await wait_for(lambda: viewer.frames >= before + 30, 20, "frames to keep flowing")
        assert not silent.closed and not noisy.closed
    finally:
        await silent.close()
        await noisy.close()
        await viewer.close()
        await publisher.close()


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


async def test_healthz_reports_live_state(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert await response.json() == {"ok": True, "live": False}


async def start_peer_process(
    client: TestClient, endpoint: str, key: str
) -> asyncio.subprocess.Process:
    """A peer in another process, running until it has moved 10 frames."""
    url = str(client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.peer_process",
        endpoint,
        url,
        key,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    frames = 0
    while frames < 10:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line, "the peer process ended early"
        frames = int(line.split()[1])
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()  # no BYE, no DTLS close: the peer just goes dark
        await process.wait()


async def test_a_hall_that_vanishes_without_goodbye_is_cleaned_up(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    room = app_of(client)[MEETING].room
    publisher = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    process = await start_peer_process(client, "whep", settings.halls[0].key)
    try:
        await kill(process)
        await wait_for(
            lambda: [s.direction for s in bridge.sessions.values()] == ["publish"],
            30,
            "the vanished viewer's session to close",
        )
        assert dict((h, s) for h, _, s in room.hall_states())["thon-1"] != "watching"
        forwarding = [t for t in asyncio.all_tasks() if "Consumer._run" in repr(t.get_coro())]
        assert forwarding == []  # the publisher has producers only: no consumer task is left
    finally:
        await kill(process)
        await publisher.close()


async def test_a_chair_that_vanishes_ends_the_broadcast_and_halls_wait(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    tv = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(tv, 2)
    viewer = await start_viewer(http_signal(client, "/whep", settings.halls[0].key))
    process = await start_peer_process(client, "whip", settings.keys.chair)
    try:
        await wait_for(lambda: viewer.frames >= 5, 20, "the chair's frames at the hall")
        await kill(process)
        await wait_for(lambda: not bridge.publishing.live, 30, "the broadcast to end")
        message = json.loads((await tv.receive(timeout=10)).data)
        while message["type"] != "state" or message["broadcast"]["live"]:
            message = json.loads((await tv.receive(timeout=10)).data)
        assert message["broadcast"]["live"] is False
        # The hall stays connected, ready for the chair to come back.
        await wait_for(
            lambda: [s.direction for s in bridge.sessions.values()] == ["subscribe"],
            10,
            "only the hall's session left",
        )
    finally:
        await kill(process)
        await tv.close()
        await viewer.close()


async def test_beyond_the_session_limit_a_clear_503(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings, bridge_options={"max_sessions": 1}))
    first = await start_viewer(http_signal(client, "/whep", settings.halls[0].key))

    async def refused(offer: str) -> str:
        response = await client.post("/whep", data=offer, headers=bearer(settings.halls[1].key))
        assert response.status == 503 and response.headers["X-Error-Code"] == "busy"
        raise LookupError("refused as expected")

    try:
        with pytest.raises(LookupError):
            await start_viewer(refused)
    finally:
        await first.close()


async def test_the_chair_page_whose_stream_is_taken_over_is_told_so(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    console = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    welcome, _ = await ws_messages(console, 2)
    console_signal = http_signal(client, "/whip", settings.keys.chair, welcome["connection"])
    first = await start_publisher(console_signal, audio=False)
    await wait_for(lambda: bridge.publishing.live, 10, "the first chair device live")
    second = await start_publisher(http_signal(client, "/whip", settings.keys.chair), audio=False)
    try:
        message = await next_besides_state(console)
        assert message == {"type": "replaced"}
        assert len([s for s in bridge.sessions.values() if s.direction == "publish"]) == 1
    finally:
        await console.close()
        await first.close()
        await second.close()


async def test_halls_are_told_to_rejoin_when_the_chair_changes_codec(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    hall = settings.halls[0]
    tv_socket = await client.ws_connect(f"/ws?key={hall.key}")
    await ws_messages(tv_socket, 2)
    vp8_chair = await start_publisher(http_signal(client, "/whip", settings.keys.chair))
    tv = await start_viewer(http_signal(client, "/whep", hall.key))
    try:
        await wait_for(lambda: tv.frames >= 5, 20, "VP8 frames at the hall")
        await vp8_chair.close()
        await wait_for(lambda: not bridge.publishing.live, 5, "the VP8 chair gone")
        h264_chair = await start_publisher(
            http_signal(client, "/whip", settings.keys.chair), codec="H264"
        )
        message = await next_besides_state(tv_socket)
        assert message == {"type": "rejoin", "reason": "codec-changed"}
        rejoined = await start_viewer(http_signal(client, "/whep", hall.key))
        await wait_for(lambda: rejoined.frames >= 5, 20, "H.264 frames after the rejoin")
        await rejoined.close()
        await h264_chair.close()
    finally:
        await tv_socket.close()
        await tv.close()
        await vp8_chair.close()


async def test_pages_and_whip_clients_get_the_configured_ice_servers(
    aiohttp_client: Any, tmp_path: Any
) -> None:
    from web.config import load_settings
    from web.whip import ice_server_links

    servers = [
        {"urls": "stun:127.0.0.1:3478"},
        {"urls": ["turn:127.0.0.1:3478"], "username": "hall", "credential": "s3cret-pass"},
    ]
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
            "ice_servers": servers,
        },
    )
    client = await aiohttp_client(create_app(settings))
    ws = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    welcome, _ = await ws_messages(ws, 2)
    assert welcome["ice_servers"] == servers
    await ws.close()
    assert ice_server_links(settings.ice_servers) == [
        '<stun:127.0.0.1:3478>; rel="ice-server"',
        '<turn:127.0.0.1:3478>; rel="ice-server"; username="hall"; '
        'credential="s3cret-pass"; credential-type="password"',
    ]


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
    (page,) = meeting.clients.values()
    assert page.writer is not None
    page.writer.cancel()  # fault injection: replies pile up, as for a client that never reads
    for i in range(100):
        await ws.send_str(f'{{"type":"ping","id":{i}}}')
    msg = await ws.receive(timeout=5)
    while msg.type == WSMsgType.TEXT:
        msg = await ws.receive(timeout=5)
    assert ws.close_code == 1008
    await wait_for(lambda: meeting.clients == {}, 5, "the server to forget the page")


async def test_one_key_cannot_hold_more_than_its_quota_of_streams(
    client: TestClient, settings: Settings
) -> None:
    key = settings.halls[0].key
    viewers = [await start_viewer(http_signal(client, "/whep", key)) for _ in range(3)]

    async def refused(offer: str) -> str:
        response = await client.post("/whep", data=offer, headers=bearer(key))
        assert response.status == 503 and "3 streams" in await response.text()
        raise LookupError("refused as expected")

    try:
        with pytest.raises(LookupError):
            await start_viewer(refused)
        other_hall = await start_viewer(http_signal(client, "/whep", settings.halls[1].key))
        await other_hall.close()
    finally:
        for viewer in viewers:
            await viewer.close()


async def test_delete_must_name_the_right_kind_of_session(
    client: TestClient, settings: Settings, live_chair: Publisher
) -> None:
    bridge = app_of(client)[BRIDGE]
    session_id = bridge.publishing.session_id
    wrong = await client.delete(f"/whep/{session_id}", headers=bearer(settings.keys.chair))
    assert wrong.status == 404
    assert bridge.publishing.live


async def test_aiohttps_own_errors_carry_an_error_code_too(client: TestClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status == 404 and missing.headers["X-Error-Code"] == "not-found"
    wrong_method = await client.get("/whip")
    assert wrong_method.status == 405
    assert wrong_method.headers["X-Error-Code"] == "method-not-allowed"


async def test_without_a_key_nobody_learns_which_halls_exist(client: TestClient) -> None:
    assert (await client.get("/hall/thon-1")).status == 401
    assert (await client.get("/hall/no-such-hall")).status == 401


async def test_a_chair_replacing_its_own_stream_is_not_told_it_was_replaced(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    console = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    welcome, _ = await ws_messages(console, 2)
    signal = http_signal(client, "/whip", settings.keys.chair, welcome["connection"])
    first = await start_publisher(signal, audio=False)
    await wait_for(lambda: bridge.publishing.live, 10, "live")
    first_id = bridge.publishing.session_id
    # The same console publishes again, as after a network blip, before the old one died.
    second = await start_publisher(signal, audio=False)
    try:
        await wait_for(lambda: first_id not in bridge.sessions, 10, "the old stream replaced")
        await console.send_str('{"type":"ping","id":9}')
        message = await next_besides_state(console)
        assert message == {"type": "pong", "id": 9}
    finally:
        await console.close()
        await first.close()
        await second.close()
