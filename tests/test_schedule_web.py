"""The meeting schedule over HTTP and in the pages' state: the chair and the secretary plan
meetings, others may not, the hall TVs hear the next one, and opening the meeting at its
time carries its title and agenda into the log and marks the plan held."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from rooms import MeetingOpened
from rooms.schedule import GRACE
from tests.edge import app_of
from tests.peers import wait_for
from tests.test_floor_web import open_page
from web.config import Settings
from web.keys import MEETING
from web.schedule import SCHEDULE_BOOK

pytestmark = pytest.mark.asyncio


async def plan(client: TestClient, key: str, **body: object) -> tuple[int, dict[str, object]]:
    response = await client.post(f"/schedule?key={key}", json=body)
    data = await response.json() if response.content_type == "application/json" else {}
    return response.status, data


async def test_the_chair_and_the_secretary_plan_meetings_and_others_may_not(
    client: TestClient, settings: Settings
) -> None:
    start = time.time() + 86400
    status, made = await plan(
        client, settings.keys.secretary, title="Họp dân quý IV", starts_at=start, agenda="1. Đường"
    )
    assert status == 201 and made["title"] == "Họp dân quý IV" and made["due"] is False
    status, _ = await plan(client, settings.keys.chair, title="Họp chi bộ", starts_at=start + 60)
    assert status == 201
    for key in (settings.keys.viewer, settings.halls[0].key):
        assert (await plan(client, key, title="x", starts_at=start))[0] == 403
        assert (await client.get(f"/schedule?key={key}")).status == 403
        gone = await client.delete(f"/schedule/{made['id']}?key={key}")
        assert gone.status == 403
    listed = await (await client.get(f"/schedule?key={settings.keys.chair}")).json()
    assert [m["title"] for m in listed["meetings"]] == ["Họp dân quý IV", "Họp chi bộ"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "starts_at": 1}, "title"),
        ({"title": "x", "starts_at": 1}, "starts_at"),  # 1970: in the past
        ({"title": "x", "starts_at": "tomorrow"}, None),
        ({"title": "x", "starts_at": 4e9, "agenda": "a" * 2001}, "agenda"),
        ({"title": "x", "starts_at": 4e9, "color": "red"}, None),
    ],
)
async def test_a_bad_plan_is_refused_with_its_reason(
    client: TestClient, settings: Settings, body: dict[str, object], field: str | None
) -> None:
    body = {**body, "starts_at": time.time() + 600} if body["starts_at"] == 4e9 else body
    response = await client.post(f"/schedule?key={settings.keys.secretary}", json=body)
    assert response.status == 400
    reason = await response.text()
    assert field is None or reason.startswith(f"{field}: "), reason
    assert len(app_of(client)[SCHEDULE_BOOK].schedule) == 0


async def test_a_plan_can_be_edited_and_removed_and_survives_a_restart(
    client: TestClient, settings: Settings
) -> None:
    start = time.time() + 7200
    _, made = await plan(client, settings.keys.secretary, title="Họp", starts_at=start)
    edited = await client.patch(
        f"/schedule/{made['id']}?key={settings.keys.chair}", json={"agenda": "1. Điện\n2. Nước"}
    )
    assert edited.status == 200 and (await edited.json())["agenda"] == "1. Điện\n2. Nước"
    missing = await client.patch(f"/schedule/s-none?key={settings.keys.chair}", json={"title": "x"})
    assert missing.status == 404
    # A second bridge on the same data folder reads the same plan back.
    from web.schedule import ScheduleBook

    again = await ScheduleBook.open(settings.data_dir)
    try:
        assert again.schedule.get(str(made["id"])).agenda == "1. Điện\n2. Nước"
    finally:
        await again.close()
    removed = await client.delete(f"/schedule/{made['id']}?key={settings.keys.secretary}")
    assert removed.status == 204
    assert len(app_of(client)[SCHEDULE_BOOK].schedule) == 0


async def test_hall_tvs_hear_the_next_meeting_and_the_chair_is_offered_it_at_its_time(
    client: TestClient, settings: Settings
) -> None:
    hall = await open_page(client, settings.halls[0].key)
    chair = await open_page(client, settings.keys.chair)
    assert hall.state.get("next_meeting", "missing") is None
    start = time.time() + 60  # within the quarter hour before it: due at once
    _, made = await plan(
        client, settings.keys.secretary, title="Họp dân", starts_at=start, agenda="1. Đường"
    )
    await wait_for(lambda: hall.state.get("next_meeting") is not None, 5, "the next meeting")
    assert hall.state["next_meeting"]["title"] == "Họp dân"
    assert hall.state["next_meeting"]["starts_at"] == start
    assert chair.state["next_meeting"]["due"] is True
    # The chair starts it with the title and agenda the plan gave.
    await chair.send(type="open-meeting", title="Họp dân", agenda="1. Đường")
    await wait_for(lambda: chair.state.get("meeting") is not None, 5, "the meeting")
    assert chair.state["meeting"]["agenda"] == "1. Đường"
    await wait_for(lambda: hall.state.get("next_meeting") is None, 5, "the plan held")
    book = app_of(client)[SCHEDULE_BOOK]
    meeting_id = chair.state["meeting"]["id"]
    assert book.schedule.get(str(made["id"])).opened_as == meeting_id
    log = app_of(client)[MEETING].log
    opened: list[MeetingOpened] = []
    for _ in range(50):  # the log is written on its own thread, just after the command
        logged = [e.event for e in await log.events(meeting_id)]
        opened = [e for e in logged if isinstance(e, MeetingOpened)]
        if opened:
            break
        await asyncio.sleep(0.1)
    assert [(e.title, e.agenda) for e in opened] == [("Họp dân", "1. Đường")]
    assert book.schedule.next_meeting(start + GRACE) is None
    for page in (hall, chair):
        await page.close()
