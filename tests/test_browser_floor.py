"""The floor in real Chromium: a hall raises a hand with the remote alone, the chair gives it the
floor, the commune sees and hears that hall, and the floor ends again.

Every page runs in its own browser context with a camera of its own colour and a
microphone of its own tone (tests/fake_devices.py), so what each page receives
is checked by its content: whose colour, moving, and whose tone.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.chromium import open_page, url, wait_until_live
from tests.fake_devices import (
    Device,
    fake_devices,
    text_outside_overscan,
    wait_for_moving_picture,
    wait_for_tone,
)
from web.config import Settings

pytestmark = pytest.mark.browser

CHAIR = Device((40, 170, 40), 440.0)
THON_2 = Device((210, 40, 40), 1250.0)
THON_5 = Device((40, 60, 210), 700.0)
# A name that would run script if any page ever put it into HTML.
NAME = '<img src=x onerror="window.__xss=1">'
TOPIC = "Đường mới"


async def focused(page: Any) -> str:
    return str(await page.evaluate("document.activeElement ? document.activeElement.id : ''"))


async def hall_page(
    browser: Any, server: TestServer, settings: Settings, hall_id: str, device: Device
) -> Any:
    hall = next(h for h in settings.halls if h.id == hall_id)
    page = await open_page(
        browser, url(server, f"/hall/{hall.id}?key={hall.key}"), fake_devices(device)
    )
    # It watches the chair and sends its own camera and microphone from the start.
    await wait_until_live(page)
    await page.wait_for_function("() => window.hallStats.publishing === 'live'", timeout=30_000)
    return page


async def raise_hand_with_the_remote(tv: Any) -> None:
    """Thôn 2's operator: a name and topic, entered and sent with the D-pad and OK only."""
    await tv.wait_for_function("() => document.activeElement?.id === 'raise'", timeout=10_000)
    await tv.keyboard.press("ArrowRight")
    assert await focused(tv) == "details-open"
    await tv.keyboard.press("Enter")
    await tv.wait_for_selector("#details:not([hidden])")
    assert await focused(tv) == "name"
    # Back closes the dialog and leaves the hand down.
    await tv.keyboard.press("Escape")
    await tv.wait_for_selector("#details", state="hidden")
    assert await tv.is_visible("#raise")
    await tv.keyboard.press("ArrowRight")
    await tv.keyboard.press("Enter")
    await tv.wait_for_selector("#details:not([hidden])")
    await tv.keyboard.type(NAME)
    await tv.keyboard.press("ArrowDown")
    assert await focused(tv) == "topic"
    await tv.keyboard.type(TOPIC)
    await tv.keyboard.press("Enter")  # OK in the last field sends
    await tv.wait_for_selector("#queue-place:not([hidden])", timeout=10_000)
    assert (await tv.text_content("#queue-place") or "").strip() == "Đã giơ tay — thứ tự 1"
    assert await focused(tv) == "lower"


async def test_a_hall_raises_by_remote_gets_the_floor_and_is_seen_and_heard_then_the_floor_ends(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    chair = await open_page(
        browser, url(server, f"/chair?key={settings.keys.chair}"), fake_devices(CHAIR)
    )
    await chair.click("#start")
    await chair.wait_for_selector("#live[data-state=live]", timeout=20_000)
    # The meeting opens by itself when the chair goes live.
    await chair.wait_for_selector("#meeting-close:not([hidden])", timeout=10_000)
    thon2 = await hall_page(browser, server, settings, "thon-2", THON_2)
    thon5 = await hall_page(browser, server, settings, "thon-5", THON_5)
    board = await open_page(browser, url(server, f"/view?key={settings.keys.viewer}"))
    await wait_until_live(board)
    # The chair's grid sees every publishing hall, floor or not: attendance at a glance.
    await wait_for_moving_picture(chair, "#halls li[data-hall='thon-5'] video", THON_5)
    await wait_for_moving_picture(chair, "#halls li[data-hall='thon-2'] video", THON_2)
    # Nobody has the floor: the chair hears no hall, and Thôn 5 sees the chair large.
    await wait_for_tone(chair, "#floor-audio", THON_2.tone_hz, present=False)
    assert await thon5.evaluate("window.hallStats.layout") == "chair"
    await wait_for_tone(thon5, "#floor-video", THON_2.tone_hz, present=False)
    await wait_for_moving_picture(thon5, "#video", CHAIR)

    await raise_hand_with_the_remote(thon2)
    row = "#queue li[data-hall='thon-2']"
    await chair.wait_for_selector(row, timeout=10_000)
    assert await chair.text_content(f"{row} .q-name") == NAME
    assert await chair.text_content(f"{row} .q-topic") == TOPIC
    assert await chair.is_visible("#cue")
    assert "Thôn 2 giơ tay" in (await chair.text_content("#cue") or "")
    assert await chair.evaluate("window.chairStats.cues") == 1

    await chair.click(f"{row} .q-grant")
    # Thôn 2 is asked about recording, and answers with OK on the focused "Có".
    await thon2.wait_for_selector("#consent:not([hidden])", timeout=10_000)
    assert await focused(thon2) == "consent-yes"
    await thon2.keyboard.press("Enter")
    await chair.wait_for_selector("#floor-consent[data-consent=true]", timeout=10_000)
    await thon2.wait_for_function("() => window.hallStats.layout === 'own'")
    assert await thon2.is_visible("#own-floor")
    assert "Đến lượt thôn mình" in (await thon2.text_content("#own-floor") or "")
    assert ":" in (await thon2.text_content("#own-timer") or "")
    await wait_for_moving_picture(thon2, "#preview", THON_2)
    assert await focused(thon2) == "end"

    # The chair sees and hears Thôn 2 ...
    await chair.wait_for_selector("#floor[data-state=live][data-hall='thon-2']", timeout=10_000)
    assert await chair.text_content("#floor-name") == NAME
    await wait_for_tone(chair, "#floor-audio", THON_2.tone_hz, present=True)
    # ... and so does Thôn 5: Thôn 2 large, named in the lower third, the chair inset.
    await thon5.wait_for_function("() => window.hallStats.layout === 'floor'", timeout=10_000)
    await wait_for_moving_picture(thon5, "#floor-video", THON_2)
    await wait_for_tone(thon5, "#floor-video", THON_2.tone_hz, present=True)
    await wait_for_moving_picture(thon5, "#video", CHAIR)
    assert await thon5.is_visible("#lower-third")
    assert await thon5.text_content("#lt-hall") == "Thôn 2"
    assert await thon5.text_content("#lt-name") == NAME
    assert await thon5.text_content("#lt-topic") == TOPIC
    # Nothing a person reads where a TV may crop it, in either hall's layout.
    assert await text_outside_overscan(thon5) == []
    assert await text_outside_overscan(thon2) == []
    # The public board shows the program: Thôn 2, named, and hears it in the mix.
    await wait_for_moving_picture(board, "#video", THON_2)
    await wait_for_tone(board, "#video", THON_2.tone_hz, present=True)
    assert await board.is_visible("#lower-third")
    assert await board.text_content("#lt-name") == NAME
    assert not await board.is_visible("#floor-bar")
    # A hall never gets its own sound back.
    await wait_for_tone(thon2, "#floor-video", THON_2.tone_hz, present=False)

    # E on the chair's keyboard ends the floor: Thôn 2 is heard and shown no more.
    await chair.keyboard.press("e")
    await chair.wait_for_selector("#floor[data-state=none]", timeout=10_000)
    await thon5.wait_for_function("() => window.hallStats.layout === 'chair'", timeout=10_000)
    assert not await thon5.is_visible("#lower-third")
    await wait_for_tone(thon5, "#floor-video", THON_2.tone_hz, present=False)
    await wait_for_tone(chair, "#floor-audio", THON_2.tone_hz, present=False)
    await thon2.wait_for_function("() => window.hallStats.layout === 'chair'", timeout=10_000)
    assert await thon2.is_visible("#raise")
    await wait_for_moving_picture(board, "#video", CHAIR)
    assert not await board.is_visible("#lower-third")

    for page in [chair, thon2, thon5, board]:
        assert await page.evaluate("window.__xss") is None
        assert await page.locator("#queue img, #lower-third img, #floor img").count() == 0
        assert page.errors == []


# The TV's floor, from messages alone: tv-state.js's pure reducer, run in the page's own module.
TV_FLOOR_SCENARIO = """async () => {
    const tv = await import('/static/tv-state.js');
    const { initialState, reduce, layoutOf, ownHand, publishing } = tv;
    let s = { ...initialState, layout: 'hall' };
    let at = 1000;
    const seen = [];
    const step = (event, ms = 10) => {
        at += ms;
        s = reduce(s, { at, ...event });
        const hand = ownHand(s);
        const name = event.type === 'message' ? event.msg.type
            : event.type + (event.action ? ':' + event.action : '');
        seen.push([name, layoutOf(s), hand ? hand.position : null, s.dialog, publishing(s)]);
    };
    const entry = (id, hall, position) =>
        ({ id, hall, hall_name: hall, name: 'N', topic: '', raised_at: 1, position });
    const state = (queue, floor) => ({ type: 'message', msg: { type: 'state', meeting: { id: 'm' },
        queue, floor, muted: [], now: at / 1000 } });
    const floor = (e, extra = {}) =>
        ({ entry: e, hall: e.hall, deadline: 9e9, consent: null, live: true, muted: false,
           ...extra });
    step({ type: 'socket', status: 'open' });
    step({ type: 'message', msg: { type: 'welcome', instance: 'A', connection: 'c',
        ice_servers: [], hall: { id: 'thon-2', name: 'Thôn 2' },
        permissions: ['publish', 'watch', 'raise_hand'] } });
    step({ type: 'pub-up', gen: 1, pc: 'connecting' });
    step({ type: 'pub-pc', gen: 1, state: 'connected' });
    step(state([entry('e1', 'thon-4', 1), entry('e2', 'thon-2', 2)], null));
    step(state([entry('e2', 'thon-2', 1)], floor(entry('e1', 'thon-4'))));
    step(state([entry('e2', 'thon-2', 1)], floor(entry('e1', 'thon-4'), { live: false })));
    step(state([], floor(entry('e2', 'thon-2'))));
    step({ type: 'ui', action: 'consent' });
    step(state([], floor(entry('e2', 'thon-2'))));
    step(state([], floor(entry('e2', 'thon-2'), { consent: true })));
    step(state([], null));
    step({ type: 'ui', action: 'details' });
    step({ type: 'ui', action: 'back' });
    step({ type: 'pub-pc', gen: 1, state: 'failed' });
    step({ type: 'message', msg: { type: 'replaced' } });
    step({ type: 'pub-failed', gen: 2, code: 'network' });
    return seen;
}"""


async def test_the_tv_lays_out_the_floor_and_asks_consent_once_from_messages_alone(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    hall = settings.halls[1]
    tv = await open_page(browser, url(server, f"/hall/{hall.id}?key={hall.key}"))
    seen = [tuple(step) for step in await tv.evaluate(TV_FLOOR_SCENARIO)]
    assert seen == [
        ("socket", "chair", None, None, "off"),
        ("welcome", "chair", None, None, "starting"),  # it publishes from the start
        ("pub-up", "chair", None, None, "starting"),
        ("pub-pc", "chair", None, None, "live"),
        ("state", "chair", 2, None, "live"),  # hand raised, second in the queue
        ("state", "floor", 1, None, "live"),  # Thôn 4 speaks: it large, the chair inset
        ("state", "chair", 1, None, "live"),  # Thôn 4's stream dropped: the chair, not black
        ("state", "own", None, "consent", "live"),  # our turn: asked about recording
        ("ui:consent", "own", None, None, "live"),
        ("state", "own", None, None, "live"),  # asked once per grant, not again
        ("state", "own", None, None, "live"),
        ("state", "chair", None, None, "live"),
        ("ui:details", "chair", None, "details", "live"),
        ("ui:back", "chair", None, None, "live"),
        ("pub-pc", "chair", None, None, "retrying"),  # the camera's link failed: again
        ("replaced", "chair", None, None, "replaced"),  # another TV of this hall took over
        ("pub-failed", "chair", None, None, "replaced"),  # and this one stays quiet
    ]
    assert tv.errors == []


# The chair's floor panel, from messages alone: chair-floor.js's pure reducer.
CHAIR_FLOOR_SCENARIO = """async () => {
    const { initialFloor, reduceFloor, waiting } = await import('/static/chair-floor.js');
    let s = initialFloor;
    let at = 1000;
    const seen = [];
    const step = (event, ms = 10) => {
        at += ms;
        s = reduceFloor(s, { at, ...event });
        seen.push([event.type, s.cues, s.cue ? s.cue.halls.join() : null,
                   waiting(s).map((e) => e.id).join(), s.editing]);
    };
    const entry = (id, hall) => ({ id, hall, hall_name: 'Thôn ' + hall.slice(-1), name: 'N' });
    const state = (queue, floor = null) =>
        ({ type: 'state', msg: { type: 'state', meeting: { id: 'm' }, queue, floor, now: 1 } });
    step(state([entry('e1', 'thon-1')]));
    step(state([entry('e1', 'thon-1'), entry('e2', 'thon-2')]));
    step({ type: 'edit', entry: 'e2' });
    step(state([entry('e1', 'thon-1')], { entry: entry('e2', 'thon-2'), hall: 'thon-2' }));
    step({ type: 'tick' }, 6000);
    step(state([entry('e1', 'thon-1'), entry('e3', 'thon-3'), entry('e4', 'thon-4')]));
    return seen;
}"""


async def test_the_chair_cues_only_hands_that_go_up_while_it_watches(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    board = await open_page(browser, url(server, f"/view?key={settings.keys.viewer}"))
    seen = [tuple(step) for step in await board.evaluate(CHAIR_FLOOR_SCENARIO)]
    assert seen == [
        ("state", 0, None, "e1", None),  # already waiting when the console opened: no cue
        ("state", 1, "Thôn 2", "e1,e2", None),
        ("edit", 1, "Thôn 2", "e1,e2", "e2"),
        ("state", 1, "Thôn 2", "e1", None),  # e2 got the floor: its edit form closes
        ("tick", 1, None, "e1", None),
        ("state", 3, "Thôn 3,Thôn 4", "e1,e3,e4", None),
    ]
    assert board.errors == []
