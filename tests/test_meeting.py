"""The live meeting: hall presence, the broadcast, takeovers and rejoins, as pages see them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import (
    app_of,
    bearer,
    http_signal,
    kill,
    next_besides_state,
    publishing,
    start_peer_process,
    ws_messages,
)
from tests.peers import start_publisher, start_viewer, wait_for
from web.config import Settings
from web.keys import BRIDGE, MEETING

pytestmark = pytest.mark.asyncio


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
        await wait_for(lambda: not publishing(bridge).live, 30, "the broadcast to end")
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


async def test_the_chair_page_whose_stream_is_taken_over_is_told_so(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    console = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    welcome, _ = await ws_messages(console, 2)
    console_signal = http_signal(client, "/whip", settings.keys.chair, welcome["connection"])
    first = await start_publisher(console_signal, audio=False)
    await wait_for(lambda: publishing(bridge).live, 10, "the first chair device live")
    second = await start_publisher(http_signal(client, "/whip", settings.keys.chair), audio=False)
    try:
        message = await next_besides_state(console)
        assert message == {"type": "replaced"}
        assert len([s for s in bridge.sessions.values() if s.direction == "publish"]) == 1
    finally:
        await console.close()
        await first.close()
        await second.close()


async def test_a_chair_replacing_its_own_stream_is_not_told_it_was_replaced(
    client: TestClient, settings: Settings
) -> None:
    bridge = app_of(client)[BRIDGE]
    console = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    welcome, _ = await ws_messages(console, 2)
    signal = http_signal(client, "/whip", settings.keys.chair, welcome["connection"])
    first = await start_publisher(signal, audio=False)
    await wait_for(lambda: publishing(bridge).live, 10, "live")
    first_id = publishing(bridge).session_id
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
        await wait_for(lambda: not publishing(bridge).live, 5, "the VP8 chair gone")
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


async def _live_broadcast(tv_socket: Any) -> dict[str, Any]:
    """The first state snapshot that shows the broadcast live with both codecs."""
    while True:
        message = json.loads((await tv_socket.receive(timeout=15)).data)
        broadcast = message.get("broadcast") or {}
        if (
            message["type"] == "state"
            and broadcast.get("video_codec")
            and broadcast.get("audio_codec")
        ):
            return dict(broadcast)


@pytest.mark.parametrize("audio_first", [False, True], ids=["video-first", "audio-first"])
async def test_the_room_records_both_codecs_whatever_order_the_tracks_come_in(
    client: TestClient, settings: Settings, audio_first: bool
) -> None:
    room = app_of(client)[MEETING].room
    tv_socket = await client.ws_connect(f"/ws?key={settings.halls[0].key}")
    await ws_messages(tv_socket, 2)
    chair = await start_publisher(
        http_signal(client, "/whip", settings.keys.chair), audio_first=audio_first
    )
    try:
        broadcast = await _live_broadcast(tv_socket)
        assert (broadcast["video_codec"], broadcast["audio_codec"]) == ("VP8", "opus")
        assert (room.broadcast.video_codec, room.broadcast.audio_codec) == ("VP8", "opus")
        assert room.broadcast.session == publishing(app_of(client)[BRIDGE]).session_id
    finally:
        await tv_socket.close()
        await chair.close()


async def test_the_chair_console_is_told_which_rendition_each_hall_gets(
    client: TestClient, settings: Settings
) -> None:
    publisher = await start_publisher(
        http_signal(client, "/whip", settings.keys.chair), audio=False, light=(320, 180)
    )
    viewer = await start_viewer(http_signal(client, "/whep", settings.halls[0].key), audio=False)
    chair = await client.ws_connect(f"/ws?key={settings.keys.chair}")
    states: list[dict[str, Any]] = []

    async def read() -> None:
        async for message in chair:
            data = json.loads(message.data)
            if data["type"] == "state":
                states.append(data)

    reader = asyncio.ensure_future(read())
    hall = settings.halls[0].id
    rendition = lambda: states[-1]["halls"][0]["rendition"] if states else None  # noqa: E731
    try:
        await wait_for(lambda: viewer.frame_size == (320, 240), 20, "the full picture")
        await wait_for(lambda: rendition() == "full", 10, "the hall on the full picture")
        bridge = app_of(client)[BRIDGE]
        (session,) = [s for s in bridge.sessions.values() if s.label == f"hall:{hall}"]
        session.consumers[0].link_report(0.3)  # what the hall's receiver report says
        await wait_for(lambda: rendition() == "light", 10, "the chair told of the light picture")
        await wait_for(lambda: viewer.frame_size == (320, 180), 10, "the light picture")
    finally:
        reader.cancel()
        await chair.close()
        await viewer.close()
        await publisher.close()


async def test_a_whep_request_may_name_only_a_socket_of_its_own_key(
    client: TestClient, settings: Settings
) -> None:
    hall = settings.halls[0]
    page = await client.ws_connect(f"/ws?key={hall.key}")
    welcome, _ = await ws_messages(page, 2)
    meeting = app_of(client)[MEETING]
    viewers = []
    try:
        for key in (settings.keys.viewer, hall.key):
            signal = http_signal(client, "/whep", key, connection=welcome["connection"])
            viewers.append(await start_viewer(signal, audio=False))
        named = {
            who.role: meeting.sessions.sockets.get(session)
            for session, who in meeting.sessions.owners.items()
        }
        assert named == {"viewer": None, "hall": welcome["connection"]}
    finally:
        for viewer in viewers:
            await viewer.close()
        await page.close()


async def test_an_older_chair_attempt_that_connects_late_does_not_take_over(
    client: TestClient, settings: Settings
) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from tests.peers import NO_ICE_SERVERS, StampedVideoTrack

    bridge = app_of(client)[BRIDGE]
    slow = RTCPeerConnection(NO_ICE_SERVERS)
    slow.addTransceiver(StampedVideoTrack(), direction="sendonly")
    await slow.setLocalDescription(await slow.createOffer())
    slow_answer = await http_signal(client, "/whip", settings.keys.chair)(slow.localDescription.sdp)
    (slow_id,) = bridge.sessions
    newer = await start_publisher(http_signal(client, "/whip", settings.keys.chair), audio=False)
    try:
        await wait_for(lambda: publishing(bridge).live, 10, "the newer chair live")
        current = publishing(bridge).session_id
        assert current != slow_id
        # Only now does the older attempt's answer arrive and its connection come up.
        await slow.setRemoteDescription(RTCSessionDescription(slow_answer, "answer"))
        await wait_for(lambda: slow_id not in bridge.sessions, 10, "the old one closed")
        assert publishing(bridge).session_id == current
    finally:
        await slow.close()
        await newer.close()
