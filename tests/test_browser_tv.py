"""Hall TVs in headless Chromium tell the truth: their reports reach the chair, a frozen TV is
flagged, Stop shows the waiting screen at once, and the TV names its state from messages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url, wait_until_live
from tests.peers import Publisher, start_publisher
from web.config import Settings
from web.keys import MEETING

pytestmark = pytest.mark.browser

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
        await wait_until_live(page)
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
        await wait_until_live(tv)
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
