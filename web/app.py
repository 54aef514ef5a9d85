"""The aiohttp application factory, and the one place errors become HTTP answers."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bridge.bridge import Bridge
from bridge.errors import BadOffer, BridgeError, CodecUnsupported, SessionNotFound, TooManySessions
from rooms.errors import BadValue, UnknownScheduled

from . import announcements, board, exports, notice, pages, records, schedule, speakers, whip, ws
from .admission import admission
from .auth import KeyRing
from .backoff import KeyBackoff
from .config import Settings
from .errors import BadRequest, Busy, NotAcceptable, NotFound, WebError
from .eventlog import AsyncEventLog
from .guard import ConnectionGuard
from .keys import (
    BACKOFF,
    BRIDGE,
    CANDIDATES,
    GUARD,
    KEYRING,
    MEETING,
    METRICS,
    SESSIONS,
    SETTINGS,
    SOCKET_SILENCE,
    SOCKETS,
    SPEAKERS,
)
from .meeting import Meeting
from .metrics import Metrics
from .peerpolicy import candidate_policy
from .quietlog import detach, quiet_noisy_loggers
from .sessionbudget import SessionBudget
from .socketbudget import SocketBudget
from .speakerhistory import AsyncSpeakerHistory
from .speakerhub import SpeakerHub

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BRIDGE_ERRORS: dict[type[BridgeError], Callable[[str], WebError]] = {
    BadOffer: lambda m: BadRequest(m, code="bad-sdp"),
    CodecUnsupported: NotAcceptable,
    SessionNotFound: NotFound,
    TooManySessions: Busy,
}

_HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}

_TITLES = {
    401: ("Cần mã truy cập", "A key is needed"),
    403: ("Mã truy cập không đúng", "Wrong key"),
    404: ("Không tìm thấy", "Not found"),
}


def _as_web_error(exc: Exception) -> WebError | None:
    if isinstance(exc, WebError):
        return exc
    # The room's refusals of a plain HTTP request (the schedule's endpoints).
    if isinstance(exc, UnknownScheduled):
        return NotFound(str(exc))
    if isinstance(exc, BadValue):
        return BadRequest(f"{exc.field}: {exc}", code="bad-field")
    for kind, make in _BRIDGE_ERRORS.items():
        if isinstance(exc, kind):
            return make(str(exc))
    return None


def _error_response(request: web.Request, error: WebError) -> web.Response:
    headers = {"X-Error-Code": error.code, **whip.CORS_HEADERS}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    wants_page = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
    if wants_page and error.status in _TITLES:
        vi, en = _TITLES[error.status]
        body = (
            "<!doctype html><html lang=vi><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width">'
            f"<title>{vi}</title><link rel=stylesheet href=/static/style.css>"
            f'<body class="error-page"><h1>{vi}</h1><p lang=en>{en}</p>'
            f"<p><small>{html.escape(error.message)}</small></p></body></html>"
        )
        response = web.Response(
            status=error.status, text=body, content_type="text/html", headers=headers
        )
    else:
        response = web.Response(status=error.status, text=error.message + "\n", headers=headers)
    if error.retry_after is not None:
        response.force_close()
    return response


@web.middleware
async def errors_to_wire(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own answers (unknown path, wrong method) get the same shape as ours.
        code = _HTTP_CODES.get(exc.status, f"http-{exc.status}")
        return _error_response(request, WebError(exc.reason, code=code).with_status(exc.status))
    except Exception as exc:
        error = _as_web_error(exc)
        if error is None:
            logger.exception("unexpected error on %s %s", request.method, request.path)
            error = WebError("internal error; see the bridge log")
        return _error_response(request, error)


# Every script and style is a file of ours; the pages talk only to this bridge, show
# only MediaStreams, and must never be framed (a kiosk TV can't see a clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob: mediastream:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Server": "commune-bridge",  # no versions for a scanner to match
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def create_app(
    settings: Settings,
    *,
    bridge_options: dict[str, float] | None = None,
    socket_silence: float = 30.0,
    guard: ConnectionGuard | None = None,
) -> web.Application:
    """The whole bridge as one aiohttp app; tests shorten the timeouts through the options."""
    app = web.Application(middlewares=[errors_to_wire, admission], client_max_size=256 * 1024)
    app.on_response_prepare.append(_security_headers)
    limits = settings.limits
    app[SETTINGS] = settings
    app[KEYRING] = KeyRing(settings)
    app[SOCKET_SILENCE] = socket_silence
    app[GUARD] = guard or ConnectionGuard(limits)
    app[BACKOFF] = KeyBackoff(limits.failed_keys_per_minute)
    app[SOCKETS] = SocketBudget(limits)
    options = {"connect_timeout": limits.pending_timeout, **(bridge_options or {})}

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        quiet = quiet_noisy_loggers()
        app[CANDIDATES] = await candidate_policy(settings)
        bridge = Bridge(settings.ice_servers, **options)  # type: ignore[arg-type]
        app[SESSIONS] = SessionBudget(limits, len(settings.halls), bridge.max_sessions)
        bridge.start()
        app[BRIDGE] = bridge
        log = await AsyncEventLog.open(settings.data_dir)
        meeting = Meeting(settings, bridge, log)
        await meeting.start()
        app[MEETING] = meeting
        app[METRICS] = Metrics(meeting, settings.keys.metrics)
        history = await AsyncSpeakerHistory.open(settings.data_dir)
        app[SPEAKERS] = SpeakerHub(settings.speakers, meeting, history)
        await app[SPEAKERS].start()
        app[METRICS].registry.register(speakers.SpeakerCollector(app[SPEAKERS]))
        yield
        await app[SPEAKERS].close()
        await history.close()
        await meeting.close()
        await bridge.close()
        await log.close()
        detach(quiet)

    app.cleanup_ctx.append(lifecycle)
    pages.add_routes(app)
    whip.add_routes(app)
    speakers.add_routes(app)
    records.add_routes(app)
    exports.add_routes(app)
    app.router.add_get("/ws", ws.websocket)
    # After the meeting's lifecycle: the schedule adds the next meeting to its state.
    schedule.add_routes(app)
    announcements.add_routes(app)
    board.add_routes(app)
    notice.add_routes(app, settings.data_dir)
    return app
