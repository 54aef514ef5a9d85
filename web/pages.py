"""The pages: static HTML served only to the right key, with bilingual error pages.

Keys travel in the URL, so pages are never cached and never leak a Referer.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from rooms.permissions import GRANT_FLOOR, WATCH

from .errors import Forbidden, NotFound
from .keys import KEYRING, MEETING, METRICS, SETTINGS
from .metrics import CONTENT_TYPE

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(TEMPLATES / name, headers=PAGE_HEADERS)


async def index(request: web.Request) -> web.FileResponse:
    return _page("index.html")


async def chair(request: web.Request) -> web.FileResponse:
    identity = request.app[KEYRING].from_query(request)
    # The console runs the meeting; a hall publishes its camera too, but never from here.
    if not identity.may(GRANT_FLOOR):
        raise Forbidden("this page needs the chair key")
    return _page("chair.html")


async def hall(request: web.Request) -> web.FileResponse:
    hall_id = request.match_info["hall"]
    # The key first, so that nobody without one can learn which halls exist.
    identity = request.app[KEYRING].from_query(request)
    if hall_id not in {h.id for h in request.app[SETTINGS].halls}:
        raise NotFound(f"there is no hall {hall_id[:40]!r}")
    if identity.hall_id != hall_id:
        raise Forbidden("this key does not open this hall's page")
    return _page("hall.html")


async def view(request: web.Request) -> web.FileResponse:
    identity = request.app[KEYRING].from_query(request)
    if identity.hall_id is not None or not identity.may(WATCH):
        raise Forbidden("a hall key opens only its own hall page")
    return _page("hall.html")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "live": request.app[MEETING].room.broadcast.live})


async def metrics(request: web.Request) -> web.Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.query.get("key")
    exporter = request.app[METRICS]
    exporter.check(request.remote, key)
    return web.Response(
        body=exporter.render(),
        headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/chair", chair)
    app.router.add_get("/hall/{hall}", hall)
    app.router.add_get("/view", view)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_static("/static/", STATIC)
