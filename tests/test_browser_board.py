"""The public board and the schedule in headless Chromium: the board shows an announcement
as text between meetings, switches to the live program with the Live badge and who is
speaking when the chair broadcasts, goes back when the chair stops, and comes back by
itself after the bridge restarts; a hall TV waiting between meetings names the next one."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from aiohttp import ClientSession, FormData
from aiohttp.test_utils import TestServer
from PIL import Image

from tests.chromium import open_page, url
from tests.peers import wait_for
from web.app import create_app
from web.config import Settings

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.pwned=1">Họp <b>dân</b>'


def red_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (210, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def announce(server: TestServer, settings: Settings, title: str, text: str) -> None:
    form = FormData(default_to_multipart=True)
    form.add_field("title", title)
    form.add_field("text", text)
    form.add_field("image", red_jpeg(), filename="do.jpg", content_type="image/jpeg")
    async with ClientSession() as http:
        address = url(server, f"/announcements?key={settings.keys.secretary}")
        async with http.post(address, data=form) as response:
            assert response.status == 201, await response.text()


async def board_view(page: Any, view: str, timeout: int = 30_000) -> None:
    await page.wait_for_function(f"() => window.boardStats.view === '{view}'", timeout=timeout)


async def test_the_board_shows_an_announcement_as_text_with_its_picture(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    await announce(server, settings, HOSTILE, f"Dòng một\n{HOSTILE}")
    board = await open_page(browser, url(server, f"/board?key={settings.keys.viewer}"))
    await board.wait_for_function(
        "() => window.boardStats.slide === 'announcement'", timeout=15_000
    )
    assert await board.evaluate("window.boardStats.view") == "board"
    assert await board.text_content(".slide-title") == HOSTILE  # shown, never run
    assert await board.text_content(".slide-text") == f"Dòng một\n{HOSTILE}"
    assert await board.evaluate("window.pwned === undefined")
    kind = await board.text_content(".slide-kind")
    assert kind is not None and kind.startswith("Thông báo") and "Announcement" in kind
    # The one picture on the page is the announcement's, decoded by the browser.
    await board.wait_for_function(
        "() => document.querySelector('.slide-image')?.naturalWidth === 320", timeout=10_000
    )
    assert await board.evaluate("document.querySelectorAll('img').length") == 1
    assert not await board.is_visible("#live-badge")
    assert board.errors == []


async def raise_and_grant(server: TestServer, settings: Settings, topic: str) -> None:
    """The chair's own socket raises a hand for Thôn 1 and gives it the floor."""
    async with ClientSession() as http:
        async with http.ws_connect(url(server, f"/ws?key={settings.keys.chair}")) as ws:
            await ws.send_str(json.dumps({"type": "raise", "hall": "thon-1", "topic": topic}))
            entry = None
            while entry is None:
                message = json.loads((await ws.receive()).data)
                queue = message.get("queue") if message["type"] == "state" else None
                entry = next((e["id"] for e in queue or [] if e["topic"] == topic), None)
            await ws.send_str(json.dumps({"type": "grant", "entry": entry}))
            while True:
                message = json.loads((await ws.receive()).data)
                if message["type"] == "state" and message.get("floor"):
                    return


async def test_the_board_goes_live_with_the_badge_and_the_speaker_and_back_when_the_chair_stops(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    await announce(server, settings, "Lịch tiêm phòng", "Thứ Bảy tại trạm y tế")
    board = await open_page(browser, url(server, f"/board?key={settings.keys.viewer}"))
    await board.wait_for_function(
        "() => window.boardStats.slide === 'announcement'", timeout=15_000
    )
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)

    await board_view(board, "live")
    await board.wait_for_function("() => window.boardStats.frames > 10", timeout=20_000)
    assert await board.is_visible("#live-badge")
    badge = await board.text_content("#live-badge")
    assert badge is not None and "Trực tiếp" in badge and "Live" in badge
    assert not await board.is_visible("#slides")
    # The picture plays with its sound off.
    assert await board.evaluate("document.getElementById('video').muted")
    assert await board.evaluate("document.getElementById('video').videoWidth") > 0

    await raise_and_grant(server, settings, "Đường liên thôn")
    await board.wait_for_function(
        "() => (window.boardStats.caption || '').includes('Đường liên thôn')", timeout=10_000
    )
    assert await board.text_content("#caption-hall") == "Thôn 1"
    tag = await board.text_content("#caption-tag")
    assert tag is not None and tag.startswith("Đang phát biểu")

    await chair.click("#stop")
    await board_view(board, "board")
    assert not await board.is_visible("#live-badge")
    assert await board.text_content(".slide-title") == "Lịch tiêm phòng"
    for page in (board, chair):
        assert page.errors == []


async def start_server(settings: Settings, port: int = 0) -> TestServer:
    """A server that gives open pages 2 s, not a minute, to go when it stops."""
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server(shutdown_timeout=2.0)
    return server


async def test_the_board_comes_back_by_itself_after_the_bridge_restarts(
    browser: Any, settings: Settings
) -> None:
    server = await start_server(settings)
    port = server.port
    assert port is not None
    try:
        await announce(server, settings, "Trước khi khởi động lại", "")
        board = await open_page(browser, url(server, f"/board?key={settings.keys.viewer}"))
        await board.wait_for_function("() => window.boardStats.socket === 'open'", timeout=15_000)
        sessions = await board.evaluate("window.boardStats.sessions")
        await server.close()
        await board.wait_for_function("() => window.boardStats.socket !== 'open'", timeout=20_000)
        server = await start_server(settings, port=port)
        await announce(server, settings, "Sau khi khởi động lại", "")
        chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
        await chair.click("#start")
        # Nobody touches the board: its socket, its session and its picture come back.
        await board.wait_for_function(
            f"() => window.boardStats.sessions > {sessions} && window.boardStats.view === 'live'",
            timeout=60_000,
        )
        await chair.click("#stop")
        await board_view(board, "board")
        await board.evaluate("window.boardDebug.refreshFeed()")
        await board.wait_for_function(
            "() => window.boardStats.slides.filter((k) => k === 'announcement').length === 2",
            timeout=15_000,
        )
    finally:
        await server.close()


async def test_a_hall_tv_between_meetings_names_the_next_planned_meeting(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    start = time.time() + 3 * 86400
    async with ClientSession() as http:
        address = url(server, f"/schedule?key={settings.keys.secretary}")
        body = {"title": "Họp dân thôn quý IV", "starts_at": start, "agenda": "1. Đường"}
        async with http.post(address, json=body) as response:
            assert response.status == 201
    hall = settings.halls[0]
    tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
    await tv.wait_for_selector("#status[data-state=waiting]", timeout=20_000)
    await tv.wait_for_selector("#next-meeting:not([hidden])", timeout=10_000)
    assert await tv.text_content("#next-title") == "Họp dân thôn quý IV"
    when = await tv.text_content("#next-when") or ""
    # Vietnam time, whatever the TV box's own zone: the date of the start in UTC+7.
    local = time.gmtime(start + 7 * 3600)
    assert f"{local.tm_mday:02d}/{local.tm_mon:02d}/{local.tm_year}" in when, when
    assert f"{local.tm_hour:02d}:{local.tm_min:02d}" in when, when
    assert await tv.evaluate("window.hallStats.nextMeeting") == "Họp dân thôn quý IV"
    assert tv.errors == []


async def test_the_chair_is_offered_to_start_the_planned_meeting_with_its_title(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.wait_for_selector("#schedule-panel form", timeout=10_000)
    assert not await chair.is_visible("#start-offer")
    # The chair plans a meeting for a few minutes from now in its own panel.
    soon = time.gmtime(time.time() + 7 * 3600 + 300)
    value = time.strftime("%Y-%m-%dT%H:%M", soon)
    await chair.fill("#schedule-panel .f-title", "Họp giao ban")
    await chair.fill("#schedule-panel .f-when", value)
    await chair.fill("#schedule-panel .f-agenda", "1. Mùa vụ\n2. Thủy lợi")
    await chair.click("#schedule-panel button[type=submit]")
    await chair.wait_for_selector("#schedule-panel li.panel-item", timeout=10_000)
    await chair.wait_for_selector("#start-offer:not([hidden])", timeout=15_000)
    assert await chair.input_value("#start-title") == "Họp giao ban"
    await chair.click("#start-meeting")
    await chair.wait_for_selector("#meeting-state[data-open=true]", timeout=10_000)
    await chair.wait_for_selector("#start-offer", state="hidden", timeout=10_000)
    state = await wait_for_meeting(server)
    assert (state.title, state.agenda) == ("Họp giao ban", "1. Mùa vụ\n2. Thủy lợi")
    assert chair.errors == []


async def wait_for_meeting(server: TestServer) -> Any:
    from web.keys import MEETING

    room = server.app[MEETING].room
    await wait_for(lambda: room.meeting is not None, 5, "the meeting")
    return room.meeting


async def test_the_secretary_panel_refuses_a_file_that_is_no_picture_and_keeps_a_real_one(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    page = await open_page(browser, url(server, f"/secretary?key={settings.keys.secretary}"))
    panel = "#announcements-panel"
    await page.wait_for_selector(f"{panel} form", timeout=10_000)
    await page.fill(f"{panel} .f-title", "Thông báo")
    await page.set_input_files(
        f"{panel} .f-image",
        files=[{"name": "anh.jpg", "mimeType": "image/jpeg", "buffer": b"MZ not a picture" * 50}],
    )
    await page.click(f"{panel} button[type=submit]")
    error = page.locator(f"{panel} .error")
    await error.wait_for(state="visible", timeout=10_000)
    assert "không phải là ảnh" in (await error.text_content() or "")
    assert not (settings.data_dir / "announcements").exists() or not any(
        (settings.data_dir / "announcements").iterdir()
    )
    assert await page.evaluate(f"document.querySelector('{panel}').dataset.count") == "0"

    await page.set_input_files(
        f"{panel} .f-image",
        files=[{"name": "do.jpg", "mimeType": "image/jpeg", "buffer": red_jpeg()}],
    )
    await page.fill(f"{panel} .f-title", HOSTILE)
    await page.click(f"{panel} button[type=submit]")
    await page.wait_for_selector(f"{panel} li.panel-item", timeout=10_000)
    assert await page.text_content(f"{panel} .p-title") == HOSTILE
    await page.wait_for_function(
        f"() => document.querySelector('{panel} .p-image')?.naturalWidth === 320", timeout=10_000
    )
    assert await page.evaluate("window.pwned === undefined")
    assert page.errors == []


# Events in, the board's state out: board-state.js's pure reducer, in the page's own module.
BOARD_SCENARIO = """async () => {
    const { initialBoard, reduceBoard, boardView, slides, currentSlide, caption, SLIDE_MS } =
        await import('/static/board-state.js');
    let s = initialBoard;
    let at = 1000;
    const seen = [];
    const step = (event, dt = 0) => {
        at += dt;
        s = reduceBoard(s, { at, ...event });
        const c = caption(s);
        seen.push([event.type, boardView(s), slides(s).map((x) => x.kind).join(','),
                   currentSlide(s).kind, c.speaking ? c.hall + '|' + c.topic : '']);
    };
    const live = (liveNow, floor = null) => ({ type: 'message', msg: {
        type: 'state',
        broadcast: { live: liveNow, video_codec: 'VP8', audio_codec: 'opus', since: 5 },
        meeting: { id: 'm1', title: 'Họp dân' }, queue: [], floor, muted: [], now: at / 1000 } });
    step({ type: 'socket', status: 'open' });
    step({ type: 'message', msg: { type: 'welcome', instance: 'i1', commune: 'Xã A' } });
    step(live(false));
    const two = [{ id: 'a1', title: 'A' }, { id: 'a2', title: 'B' }];
    step({ type: 'feed', feed: { announcements: two, meetings: [], answers: [] } });
    step({ type: 'tick' }, SLIDE_MS);
    step({ type: 'feed', feed: { announcements: [{ id: 'a1', title: 'A' }],
                                 meetings: [{ id: 's1', title: 'Họp', starts_at: 5 }],
                                 answers: [{ topic: 'Đường', hall: 'Thôn 1', answer: 'Có' }] } });
    step({ type: 'tick' }, SLIDE_MS);
    step({ type: 'tick' }, SLIDE_MS);
    step({ type: 'tick' }, SLIDE_MS);
    step(live(true));
    step({ type: 'session-up', gen: 1, pc: 'connected', video: 'live', audio: 'live' });
    step({ type: 'frame' });
    step(live(true, { hall: 'thon-1', entry: { hall_name: 'Thôn 1', name: '', topic: 'Điện' } }));
    step(live(false));
    step({ type: 'feed', feed: {} });
    return seen;
}"""


async def test_the_board_names_what_it_shows_from_events_alone(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    board = await open_page(browser, url(server, f"/board?key={settings.keys.viewer}"))
    seen = [tuple(step) for step in await board.evaluate(BOARD_SCENARIO)]
    assert seen == [
        ("socket", "board", "empty", "empty", ""),
        ("message", "board", "empty", "empty", ""),
        ("message", "board", "empty", "empty", ""),
        ("feed", "board", "announcement,announcement", "announcement", ""),
        ("tick", "board", "announcement,announcement", "announcement", ""),  # the second one
        # No answers yet: no answers section; with one, it joins the rotation.
        ("feed", "board", "announcement,meetings,answer", "meetings", ""),
        ("tick", "board", "announcement,meetings,answer", "answer", ""),
        ("tick", "board", "announcement,meetings,answer", "announcement", ""),
        ("tick", "board", "announcement,meetings,answer", "meetings", ""),
        ("message", "board", "announcement,meetings,answer", "meetings", ""),  # no picture yet
        ("session-up", "board", "announcement,meetings,answer", "meetings", ""),
        ("frame", "live", "announcement,meetings,answer", "meetings", ""),
        ("message", "live", "announcement,meetings,answer", "meetings", "Thôn 1|Điện"),
        ("message", "board", "announcement,meetings,answer", "meetings", ""),  # off air
        ("feed", "board", "empty", "empty", ""),
    ]
    assert board.errors == []


async def test_going_on_air_at_a_planned_meetings_time_opens_that_meeting(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    async with ClientSession() as http:
        address = url(server, f"/schedule?key={settings.keys.secretary}")
        body = {"title": "Tập huấn nông dân", "starts_at": time.time() + 120, "agenda": "Lúa"}
        async with http.post(address, json=body) as response:
            assert response.status == 201
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.wait_for_selector("#start-offer:not([hidden])", timeout=15_000)
    await chair.click("#start")  # the broadcast, not the offer's own button
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
    meeting = await wait_for_meeting(server)
    assert (meeting.title, meeting.agenda) == ("Tập huấn nông dân", "Lúa")
    assert chair.errors == []
