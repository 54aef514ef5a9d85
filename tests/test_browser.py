"""The real pages in headless Chromium: the chair broadcasts its fake camera, six hall TVs watch.

Chromium is a different WebRTC stack from aiortc (RTX padding first, mDNS,
its own jitter buffer), so these catch what the aiortc-only tests cannot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from tests.peers import Publisher, start_publisher
from web.app import create_app
from web.config import Settings
from web.keys import BRIDGE, MEETING

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    # Keep ICE on this machine: no mDNS host names to resolve over multicast.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM) and shutil.which(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


async def start_server(settings: Settings, port: int = 0) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    return server


@pytest.fixture
async def server(browser: Any, settings: Settings) -> AsyncIterator[TestServer]:
    server = await start_server(settings)
    yield server
    # Pages first: the server otherwise waits out its shutdown timeout on their sockets.
    for context in browser.contexts:
        await context.close()
    await server.close()


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


async def open_page(browser: Any, address: str) -> Any:
    context = await browser.new_context(viewport={"width": 960, "height": 540})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A Content-Security-Policy violation is only a console message: count it as an error.
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.errors = errors
    await page.goto(address)
    return page


async def hall_frames(page: Any) -> int:
    return int(await page.evaluate("window.hallStats.framesRendered"))


async def audio_is_live(page: Any) -> bool:
    return bool(
        await page.evaluate(
            """() => {
                const stream = document.getElementById('video').srcObject;
                const tracks = stream ? stream.getAudioTracks() : [];
                return tracks.length > 0 && tracks[0].readyState === 'live' && !tracks[0].muted;
            }"""
        )
    )


async def test_chair_broadcasts_and_six_halls_show_the_picture_with_sound(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)

    halls = [
        await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        for hall in settings.halls
    ]
    for page in halls:
        await page.wait_for_function(
            "() => window.hallStats && window.hallStats.framesRendered > 10", timeout=30_000
        )
        await page.wait_for_function("() => window.hallStats.state === 'live'", timeout=10_000)
        assert await page.get_attribute("#status", "data-state") == "live"
    # The picture keeps advancing, everywhere, and sound arrives.
    before = [await hall_frames(page) for page in halls]
    await halls[0].wait_for_timeout(2000)
    after = [await hall_frames(page) for page in halls]
    assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)
    for page in halls:
        await page.wait_for_function("() => window.hallStats.audioTracks >= 1", timeout=10_000)
        assert await audio_is_live(page)
        assert "Thôn" in (await page.text_content("#hall-name") or "")
    # The chair sees every hall watching.
    await chair.wait_for_function(
        "() => document.querySelectorAll('#halls [data-state=watching]').length === 6",
        timeout=15_000,
    )
    # Chromium sends the camera twice, full and light; each hall on a clean link gets
    # the full one, and the console says so.
    full, light = server.app[BRIDGE].router.renditions["video"]
    assert full.packets_received > 0 and light.packets_received > 0
    await chair.wait_for_function(
        "() => document.querySelectorAll('#halls [data-rendition=full]').length === 6",
        timeout=15_000,
    )
    for page in [chair, *halls]:
        assert page.errors == []

    # The chair stops: halls say they are waiting for the commune room.
    await chair.click("#stop")
    for page in halls:
        await page.wait_for_selector("#status[data-state=waiting]", timeout=15_000)


async def test_a_second_chair_device_takes_over_and_the_first_stops_instead_of_fighting(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    address = url(server, f"/chair?key={settings.keys.chair}")
    first = await open_page(browser, address)
    await first.click("#start")
    await first.wait_for_selector("#live[data-state=live]", timeout=20_000)
    second = await open_page(browser, address)
    await second.click("#start")
    await second.wait_for_selector("#live[data-state=live]", timeout=20_000)
    await first.wait_for_selector("#live[data-state=off]", timeout=15_000)
    assert "thiết bị khác" in (await first.text_content("#error") or "")
    # Well past the first page's retry back-off: it stays off, the second stays live.
    await first.wait_for_timeout(8000)
    assert await first.get_attribute("#live", "data-state") == "off"
    assert await second.get_attribute("#live", "data-state") == "live"


async def test_hall_rejoins_by_itself_after_the_bridge_restarts(
    browser: Any, settings: Settings
) -> None:
    server = await start_server(settings)
    port = server.port
    assert port is not None
    try:
        chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}&lang=en"))
        assert (await chair.text_content("#start") or "").strip() == "Start broadcast"
        await chair.click("#start")
        await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
        hall = settings.halls[0]
        tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        await tv.wait_for_function("() => window.hallStats.framesRendered > 10", timeout=30_000)
        sessions = await tv.evaluate("window.hallStats.sessions")

        await server.close()
        await tv.wait_for_selector(
            "#status[data-state=reconnecting], #status[data-state=connecting]", timeout=20_000
        )
        server = await start_server(settings, port=port)

        # Nobody touches the TV: the chair republishes and the TV comes back to live.
        await chair.wait_for_selector("#live[data-state=live]", timeout=60_000)
        await tv.wait_for_function(
            "() => "
            f"window.hallStats.sessions > {sessions} && "
            "Date.now() - window.hallStats.lastFrameAt < 1000",
            timeout=60_000,
        )
        await tv.wait_for_function("() => window.hallStats.state === 'live'", timeout=10_000)
        assert await tv.get_attribute("#status", "data-state") == "live"
    finally:
        await server.close()


# -- what each TV really shows, and honest TV states ----------------------------------

# Installed in a hall page by the test, independent of hall.js: notes when the video
# element presents each frame and every overlay state, both as wall-clock times.
RECORDER = """() => {
    const rec = { frames: [], states: [] };
    const video = document.getElementById('video');
    // When the frame was handed to the compositor: before any callback reacts to it.
    const loop = (now, frame) => {
        rec.frames.push(performance.timeOrigin + frame.presentationTime);
        video.requestVideoFrameCallback(loop);
    };
    video.requestVideoFrameCallback(loop);
    const status = document.getElementById('status');
    const at = () => performance.timeOrigin + performance.now();
    const note = () => rec.states.push({ state: status.dataset.state, at: at() });
    const watched = { attributes: true, attributeFilter: ['data-state'] };
    new MutationObserver(note).observe(status, watched);
    note();
    window.recorder = rec;
}"""


async def start_chair(browser: Any, server: TestServer, settings: Settings) -> Any:
    chair = await open_page(browser, url(server, f"/chair?key={settings.keys.chair}"))
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
    return chair


async def live_halls(browser: Any, server: TestServer, settings: Settings, count: int) -> list[Any]:
    halls = []
    for hall in settings.halls[:count]:
        page = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        await page.wait_for_function("() => window.hallStats.state === 'live'", timeout=30_000)
        await page.evaluate(RECORDER)
        halls.append(page)
    return halls


async def test_each_hall_reports_what_it_shows_and_the_chair_sees_the_figures(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await start_chair(browser, server, settings)
    halls = await live_halls(browser, server, settings, 2)
    for hall in settings.halls[:2]:
        row = f"#halls li[data-hall='{hall.id}']"
        await chair.wait_for_selector(f"{row}[data-picture=moving] .link", timeout=15_000)
        assert (await chair.text_content(f"{row} .badge") or "").strip() == "Đang xem"
        figures = await chair.text_content(f"{row} .link-figures") or ""
        assert "hình/giây" in figures and "mất gói" in figures and "Mbps" in figures, figures
    room = server.app[MEETING].room
    latest = room.link_history("thon-1")[-1].report
    assert latest.shown == "live" and latest.frames > 10 and latest.fps > 5
    assert (latest.width, latest.height) != (0, 0) and latest.bitrate_kbps > 50
    assert latest.rtt_ms is not None and latest.audio_level > 0  # the fake microphone beeps
    # A local scraper sees the same TV.
    async with ClientSession() as http:
        async with http.get(url(server, "/metrics")) as response:
            text = await response.text()
    assert 'commune_hall_picture_moving{hall="thon-1"} 1.0' in text
    assert 'commune_hall_frames_per_second{hall="thon-2"}' in text
    for page in [chair, *halls]:
        assert page.errors == []


async def test_a_hall_whose_picture_stops_is_flagged_frozen_and_the_others_are_not(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await start_chair(browser, server, settings)
    stuck, fine = await live_halls(browser, server, settings, 2)
    await chair.wait_for_selector("#halls li[data-hall='thon-1'][data-picture=moving]")
    # The TV's player stops presenting frames, as a hung decoder would.
    await stuck.evaluate("document.getElementById('video').pause()")
    frozen = "#halls li[data-hall='thon-1'][data-picture=frozen]"
    await chair.wait_for_selector(f"{frozen} .warning[data-warning=frozen]", timeout=15_000)
    assert "đứng" in (await chair.text_content(f"{frozen} .warning") or "")
    assert (await chair.text_content(f"{frozen} .badge") or "").strip() == "Hình bị đứng"
    assert await chair.get_attribute("#halls li[data-hall='thon-2']", "data-picture") == "moving"
    before = len(await fine.evaluate("window.recorder.frames"))
    await fine.wait_for_timeout(500)
    assert len(await fine.evaluate("window.recorder.frames")) > before


async def test_after_stop_every_hall_shows_the_waiting_screen_within_a_second(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await start_chair(browser, server, settings)
    halls = await live_halls(browser, server, settings, 3)
    stopped_at = await chair.evaluate(
        "() => { const at = Date.now(); document.getElementById('stop').click(); return at; }"
    )
    for page in halls:
        await page.wait_for_selector("#status[data-state=waiting]", timeout=10_000)
        states = await page.evaluate("window.recorder.states")
        waiting_at = next(s["at"] for s in states if s["state"] == "waiting")
        assert waiting_at - stopped_at < 1000, states
        assert all(s["state"] != "live" for s in states if s["at"] > waiting_at), states


async def test_stop_then_start_within_a_second_never_shows_a_stale_frame_as_live(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await start_chair(browser, server, settings)
    halls = await live_halls(browser, server, settings, 3)
    times = await chair.evaluate(
        """async () => {
            const stoppedAt = Date.now();
            document.getElementById('stop').click();
            await new Promise((done) => setTimeout(done, 300));
            const startedAt = Date.now();
            document.getElementById('start').click();
            return { stoppedAt, startedAt };
        }"""
    )
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
    for page in halls:
        await page.wait_for_function(
            "() => "
            f"window.recorder.frames.some(at => at > {times['startedAt']}) && "
            "document.getElementById('status').dataset.state === 'live'",
            timeout=20_000,
        )
        record = await page.evaluate("window.recorder")
        after_stop = [s for s in record["states"] if s["at"] >= times["stoppedAt"]]
        # It left "live" when the chair stopped...
        assert after_stop and after_stop[0]["state"] != "live", (record["states"], times)
        back_live = next(s["at"] for s in after_stop if s["state"] == "live")
        # ...and said "live" again only over a picture presented after the new Start.
        new_frames = [at for at in record["frames"] if times["startedAt"] < at <= back_live]
        assert new_frames, (record["states"], times)


@contextlib.asynccontextmanager
async def aiortc_chair(server: TestServer, key: str, **options: Any) -> AsyncIterator[Publisher]:
    """A non-browser chair (as OBS or FFmpeg would be), publishing over real WHIP."""
    async with ClientSession() as http:

        async def signal(offer: str) -> str:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
            async with http.post(url(server, "/whip"), data=offer, headers=headers) as response:
                assert response.status == 201, await response.text()
                return await response.text()

        publisher = await start_publisher(signal, **options)
        try:
            yield publisher
        finally:
            await publisher.close()


async def test_an_audio_first_chair_is_shown_live_and_known_to_carry_video(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    async with aiortc_chair(server, settings.keys.chair, audio_first=True):
        hall = settings.halls[0]
        tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        await tv.wait_for_function("() => window.hallStats.state === 'live'", timeout=30_000)
        # The page knows a picture is expected, so its stall rejoin stays armed.
        assert await tv.evaluate("window.hallStats.videoCodec") == "VP8"
        assert await tv.evaluate("window.hallStats.audioCodec") == "opus"
        assert tv.errors == []


async def test_a_sound_only_chair_is_shown_as_sound_only(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    async with aiortc_chair(server, settings.keys.chair, video=False):
        hall = settings.halls[0]
        tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
        await tv.wait_for_selector("#status[data-state=audio]", timeout=30_000)
        assert "không có hình" in (await tv.text_content("#status-text") or "")
        assert await tv.evaluate("window.hallStats.videoCodec") is None


# Events in, the TV's state out: hall.js's pure reducer, run in the page's own module.
TV_SCENARIO = """async () => {
    const { initialState, reduce, view } = await import('/static/hall.js');
    let s = initialState;
    let at = 1000;
    const seen = [];
    const step = (event, ms = 10) => {
        at += ms;
        s = reduce(s, { at, ...event });
        seen.push([event.type === 'message' ? event.msg.type : event.type, view(s), s.session.gen]);
    };
    const state = (live, since, video = 'VP8') =>
        ({ type: 'message', msg: { type: 'state', broadcast:
            { live, since, video_codec: live ? video : null, audio_codec: 'opus' } } });
    const welcome = (instance) =>
        ({ type: 'message', msg: { type: 'welcome', instance, ice_servers: [] } });
    step({ type: 'socket', status: 'open' });
    step(welcome('A'));
    step(state(true, 1));
    step({ type: 'session-up', gen: 1, pc: 'connected', video: 'muted', audio: 'muted' });
    step({ type: 'frame' });
    step(state(false, null));
    step({ type: 'frame' });
    step(state(true, 2));
    step({ type: 'frame' });
    step(state(true, 3));
    step({ type: 'frame' });
    step(state(true, 3, 'H264'));
    step({ type: 'socket', status: 'closed' });
    step({ type: 'socket', status: 'open' });
    step(welcome('A'));
    step(welcome('B'));
    step({ type: 'session-up', gen: 2, pc: 'connected', video: 'muted', audio: 'live' });
    step(state(true, 4, null));
    step({ type: 'pc', gen: 2, state: 'disconnected' });
    step({ type: 'tick' }, 6000);
    return seen;
}"""


async def test_the_tv_names_its_state_from_messages_and_track_events_alone(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    hall = settings.halls[0]
    tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
    seen = [tuple(step) for step in await tv.evaluate(TV_SCENARIO)]
    assert seen == [
        ("socket", "connecting", 1),
        ("welcome", "connecting", 1),
        ("state", "connecting", 1),  # live, but no session yet
        ("session-up", "connecting", 1),  # connected, but no picture of this broadcast yet
        ("frame", "live", 1),
        ("state", "waiting", 1),  # Stop: the waiting screen at once, whatever the frames
        ("frame", "waiting", 1),
        ("state", "connecting", 1),  # a new broadcast: the last frame on screen is stale
        ("frame", "live", 1),
        ("state", "connecting", 1),  # a new broadcast whose "off air" never reached us
        ("frame", "live", 1),
        ("state", "live", 1),  # another chair device took over the same broadcast
        ("socket", "live", 1),  # the socket dropped: the picture is still ours
        ("socket", "live", 1),
        ("welcome", "live", 1),  # the same bridge run: a blip, keep the session
        ("welcome", "reconnecting", 2),  # a restarted bridge forgot us: a new session now
        ("session-up", "reconnecting", 2),
        ("state", "audio", 2),  # the chair sends sound only
        ("pc", "reconnecting", 2),
        ("tick", "reconnecting", 3),  # still disconnected after the grace: start over
    ]
    assert tv.errors == []
