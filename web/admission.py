"""The middleware in front of every request: key back-off, the connection reserve, trust marks.

It runs before the handler looks at the key (errors_to_wire answers its
refusals): an address that guessed too many keys gets 429 at once, and a
request without a hall, chair or secretary key gets 503 when only the
reserve of connections is left.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from rooms.permissions import PUBLISH, REPORT_SCREEN, SEE_HALLS

from .auth import Identity
from .errors import Busy, Forbidden, TooManyRequests, WebError
from .keys import BACKOFF, GUARD, KEYRING, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def carries_key(request: web.Request) -> str | None:
    key = request.query.get("key")
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _trusted(identity: Identity) -> bool:
    """Keys that keep a share of the bridge no one else can take: halls (they report their
    screen), the chair (publishes) and the secretary (sees the halls). Not the viewer."""
    return any(identity.may(p) for p in (REPORT_SCREEN, PUBLISH, SEE_HALLS))


@web.middleware
async def admission(request: web.Request, handler: Handler) -> web.StreamResponse:
    app = request.app
    backoff, guard = app[BACKOFF], app[GUARD]
    address = request.remote or "?"
    now = asyncio.get_running_loop().time()
    key = carries_key(request)
    if key is not None:
        wait = backoff.retry_after(address, now)
        if wait:
            message = f"too many wrong keys from {address}; try again in {wait} s"
            raise TooManyRequests(message, retry_after=wait)
    connection = guard.handlers.get(request.protocol)
    if key is not None:
        try:
            trusted = _trusted(app[KEYRING].identify(key))
        except Forbidden:
            # A loudspeaker cluster's key and the metrics key are no role's, but no wrong
            # keys either: a scraper polling /metrics must not lock its address out.
            settings = app[SETTINGS]
            trusted = settings.speakers.by_key(key) is not None
            if not trusted and not hmac.compare_digest(key, settings.keys.metrics):
                backoff.failed(address, now)  # the handler answers the wrong key itself
        except WebError:
            trusted = False
        if connection is not None:
            connection.trusted = connection.trusted or trusted
    if connection is not None and not connection.trusted and guard.crowded(connection):
        raise Busy("the bridge is busy; try again shortly", retry_after=5)
    if connection is not None:
        connection.busy += 1
        connection.requests += 1
        if connection.timer is not None:  # its first request came in time
            connection.timer.cancel()
            connection.timer = None
    try:
        return await handler(request)
    finally:
        if connection is not None:
            connection.busy -= 1
