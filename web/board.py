"""The public bulletin board: the kiosk page `/board?key=<viewer key>` and the feed it
rotates through between meetings (announcements, upcoming meetings, answered questions).

While a meeting is on air the page watches the program over WHEP and reads the speaker
from the page socket like any viewer page; only the feed is the board's own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from rooms.permissions import WATCH

from .announcements import ANNOUNCEMENTS, board_wire
from .errors import Forbidden
from .keys import KEYRING, REGISTER
from .pages import PAGE_HEADERS, TEMPLATES
from .schedule import SCHEDULE_BOOK

MEETINGS_SHOWN = 5
ANSWERS_SHOWN = 10
RECENT_ANSWERS = 30 * 86400.0  # "recently answered": the last thirty days


@dataclass(frozen=True)
class PublicAnswer:
    """A citizen's question as the public may read it. `name` is shown only when the
    citizen agreed to it; the register's other fields never reach the board."""

    topic: str
    hall_name: str
    answer: str
    answered_at: float
    name: str | None = None
    name_agreed: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "hall": self.hall_name,
            "answer": self.answer,
            "answered_at": self.answered_at,
            "name": self.name if self.name_agreed and self.name else None,
        }


AnswerSource = Callable[[float], Awaitable[list[PublicAnswer]]]


async def no_answers(at: float) -> list[PublicAnswer]:
    return []


class AnswerFeed:
    """Where the board's answered questions come from: the question register (the minutes'
    store) is plugged in as `source`, which gets "now" and returns the answered ones.
    Until it is, there are none, and the board leaves that section out."""

    def __init__(self) -> None:
        self.source: AnswerSource = no_answers


ANSWERS = web.AppKey("board_answers", AnswerFeed)


def recent_answers(answers: list[PublicAnswer], at: float) -> list[dict[str, Any]]:
    """The newest answers of the last thirty days that have an answer and a topic."""
    kept = [
        a
        for a in answers
        if a.answer.strip() and a.topic.strip() and at - a.answered_at < RECENT_ANSWERS
    ]
    kept.sort(key=lambda a: -a.answered_at)
    return [a.to_wire() for a in kept[:ANSWERS_SHOWN]]


def _watcher(request: web.Request) -> None:
    identity = request.app[KEYRING].from_query(request)
    # The public screen runs on the viewer key; a hall's key stays on its own TV.
    if identity.hall_id is not None or not identity.may(WATCH):
        raise Forbidden("the board opens with the viewer key")


async def board_page(request: web.Request) -> web.FileResponse:
    _watcher(request)
    return web.FileResponse(TEMPLATES / "board.html", headers=PAGE_HEADERS)


async def board_feed(request: web.Request) -> web.Response:
    _watcher(request)
    app = request.app
    at = time.time()
    upcoming = app[SCHEDULE_BOOK].schedule.upcoming(at)[:MEETINGS_SHOWN]
    answers = await app[ANSWERS].source(at)
    return web.json_response(
        {
            "announcements": board_wire(app[ANNOUNCEMENTS], at),
            "meetings": [
                {"id": m.id, "title": m.title, "starts_at": m.starts_at, "agenda": m.agenda}
                for m in upcoming
            ],
            "answers": recent_answers(answers, at),
            "now": at,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _answers_from_register(app: web.Application) -> AsyncIterator[None]:
    """Plug the question register in as the source of answered questions. Names never
    reach the board: the register does not know whether a citizen agreed to show theirs."""
    register = app[REGISTER]

    async def answered(at: float) -> list[PublicAnswer]:
        rows = await register.questions(status="answered")
        return [
            PublicAnswer(r.topic, r.hall_name, r.answer, r.changed_at or r.granted_at) for r in rows
        ]

    app[ANSWERS].source = answered
    yield
    app[ANSWERS].source = no_answers


def add_routes(app: web.Application) -> None:
    app[ANSWERS] = AnswerFeed()
    app.router.add_get("/board", board_page)
    app.router.add_get("/board/feed", board_feed)
    # After records.add_routes, whose lifecycle opens the register.
    app.cleanup_ctx.append(_answers_from_register)
