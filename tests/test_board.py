"""The public board's page and feed: the viewer key opens it, a hall key does not, the feed
carries the upcoming meetings, and answered questions show no name unless agreed."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestClient

from tests.edge import app_of
from web.board import ANSWERS, PublicAnswer, recent_answers
from web.config import Settings

NOW = 1764400000.0


def test_an_answer_shows_the_name_only_when_the_citizen_agreed() -> None:
    agreed = PublicAnswer("Đường", "Thôn 1", "Đã sửa", NOW - 60, "Bà Lan", name_agreed=True)
    declined = PublicAnswer("Điện", "Thôn 2", "Tháng sau", NOW - 30, "Ông Ba", name_agreed=False)
    shown = recent_answers([agreed, declined], NOW)
    assert shown == [
        {
            "topic": "Điện",
            "hall": "Thôn 2",
            "answer": "Tháng sau",
            "answered_at": NOW - 30,
            "name": None,
        },
        {
            "topic": "Đường",
            "hall": "Thôn 1",
            "answer": "Đã sửa",
            "answered_at": NOW - 60,
            "name": "Bà Lan",
        },
    ]


def test_only_recent_answers_with_a_topic_and_an_answer_reach_the_board() -> None:
    answers = [
        PublicAnswer("Cũ", "Thôn 1", "x", NOW - 40 * 86400),
        PublicAnswer("", "Thôn 1", "x", NOW),
        PublicAnswer("Chưa", "Thôn 1", "  ", NOW),
        *[PublicAnswer(f"Câu {i}", "Thôn 2", "Có", NOW - i) for i in range(15)],
    ]
    shown = recent_answers(answers, NOW)
    assert [a["topic"] for a in shown] == [f"Câu {i}" for i in range(10)]


@pytest.mark.asyncio
async def test_the_board_opens_with_the_viewer_key_only(
    client: TestClient, settings: Settings
) -> None:
    page = await client.get(f"/board?key={settings.keys.viewer}")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert "board.js" in await page.text()
    assert (await client.get(f"/board?key={settings.halls[0].key}")).status == 403
    assert (await client.get("/board")).status == 401
    assert (await client.get(f"/board/feed?key={settings.halls[0].key}")).status == 403
    assert (await client.get(f"/secretary?key={settings.keys.secretary}")).status == 200
    assert (await client.get(f"/secretary?key={settings.keys.viewer}")).status == 403


@pytest.mark.asyncio
async def test_the_feed_lists_upcoming_meetings_and_answers_from_the_register(
    client: TestClient, settings: Settings
) -> None:
    start = time.time() + 86400
    made = await client.post(
        f"/schedule?key={settings.keys.chair}",
        json={"title": "Họp dân", "starts_at": start, "agenda": "1. Đường"},
    )
    assert made.status == 201

    async def register(at: float) -> list[PublicAnswer]:
        return [PublicAnswer("Nước sạch", "Thôn 3", "Đã lắp ống", at - 10, "Bà Hoa")]

    app_of(client)[ANSWERS].source = register
    feed = await (await client.get(f"/board/feed?key={settings.keys.viewer}")).json()
    assert [(m["title"], m["starts_at"], m["agenda"]) for m in feed["meetings"]] == [
        ("Họp dân", start, "1. Đường")
    ]
    assert [(a["topic"], a["hall"], a["name"]) for a in feed["answers"]] == [
        ("Nước sạch", "Thôn 3", None)
    ]
