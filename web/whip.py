"""WHIP (RFC 9725) and WHEP endpoints: SDP offer in, SDP answer and a session URL out.

Keys are checked before any peer connection exists. No trickle ICE: the client
sends a complete offer and gets a complete answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiohttp import web
from multidict import CIMultiDict

from bridge.candidates import trim_candidates
from bridge.errors import SessionNotFound
from bridge.offers import MAX_OFFER_BYTES, read_offer
from rooms.permissions import PUBLISH, SHARE_SCREEN, WATCH

from .auth import Identity
from .errors import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
)
from .keys import BRIDGE, CANDIDATES, KEYRING, MEETING, SESSIONS, SETTINGS
from .relay import layout_for
from .turn import ice_servers_for

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, X-Connection",
    "Access-Control-Expose-Headers": "Location, ETag, Link, X-Error-Code",
}


async def options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={**CORS_HEADERS, "Accept-Post": "application/sdp"})


async def _read_offer(request: web.Request) -> str:
    if request.content_type != "application/sdp":
        raise UnsupportedMediaType("the offer must be sent as Content-Type: application/sdp")
    if request.content_length is not None and request.content_length > MAX_OFFER_BYTES:
        raise BadRequest("the SDP offer is larger than 64 KiB", code="bad-sdp")
    # One read returns what has arrived so far: an offer sent in several TCP segments
    # (a slow LAN, or a client that writes headers and body apart) must be read whole.
    body = b""
    try:
        async with asyncio.timeout(OFFER_READ_TIMEOUT):  # a body sent a byte a second
            while len(body) <= MAX_OFFER_BYTES:
                chunk = await request.content.read(MAX_OFFER_BYTES + 1 - len(body))
                if not chunk:
                    break
                body += chunk
    except TimeoutError:
        raise BadRequest("the SDP offer took too long to arrive", code="bad-sdp") from None
    if len(body) > MAX_OFFER_BYTES:
        raise BadRequest("the SDP offer is larger than 64 KiB", code="bad-sdp")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the SDP offer is not UTF-8 text", code="bad-sdp") from None


def ice_server_links(servers: Iterable[Mapping[str, object]]) -> list[str]:
    """RFC 9725 section 4.6: each STUN/TURN URL a client is given, as a Link header value."""
    links = []
    for server in servers:
        urls = server["urls"]
        for url in [urls] if isinstance(urls, str) else list(urls):  # type: ignore[call-overload]
            link = f'<{url}>; rel="ice-server"'
            if server.get("username") is not None:
                link += f'; username="{server["username"]}"; credential="{server["credential"]}"'
                link += '; credential-type="password"'
            links.append(link)
    return links


OFFER_READ_TIMEOUT = 10.0
DIRECTIONS = {"whip": "publish", "whep": "subscribe"}


def _created(answer: str, prefix: str, session_id: str, links: list[str]) -> web.Response:
    headers = CIMultiDict(CORS_HEADERS)
    headers["Location"] = f"/{prefix}/{session_id}"
    headers["ETag"] = f'"{session_id}"'
    for link in links:
        headers.add("Link", link)
    return web.Response(
        status=201, body=answer.encode(), content_type="application/sdp", headers=headers
    )


async def _open(request: web.Request, prefix: str) -> web.Response:
    """Answer a WHIP or WHEP offer: check the key, then make the session, then reply."""
    identity = request.app[KEYRING].from_bearer(request)
    # `?source=slides`: the chair's shared screen, published beside its camera.
    screen = prefix == "whip" and request.query.get("source") == "slides"
    if prefix == "whip" and not identity.may(SHARE_SCREEN if screen else PUBLISH):
        raise Forbidden("this key may not share a screen" if screen else "this key may not publish")
    if prefix == "whep" and not identity.may(WATCH):
        raise Forbidden("this key may not watch")
    address = request.remote or "?"
    # Only candidates the bridge may check: never strangers named by the offer.
    offer = trim_candidates(await _read_offer(request), address, request.app[CANDIDATES]).sdp
    settings = request.app[SETTINGS]
    links = ice_server_links(ice_servers_for(settings, identity))
    meeting = request.app[MEETING]
    budget = request.app[SESSIONS]
    bridge = request.app[BRIDGE]
    label = f"{identity.role}:{identity.hall_id}" if identity.hall_id else identity.role
    slots: list[str] = []
    with budget.opening(identity, address):
        if prefix == "whip":
            # Everyone but the chair sends in the chair's codec, so no TV ever has to
            # negotiate anew when the floor changes hands.
            camera = identity.role == "chair" and not screen
            codec = None if camera else meeting.video_codec()
            session = await bridge.publish(
                offer, label=f"{label}:slides" if screen else label, video_codec=codec
            )
        else:
            kinds = [s.kind for s in read_offer(offer).sections]
            slots = layout_for(kinds, identity.role, [h.id for h in settings.halls])
            session = await bridge.subscribe(offer, label=label, video_codec=meeting.video_codec())
    budget.track(session, identity, address)
    try:
        meeting.session_opened(
            session, identity, request.headers.get("X-Connection"), slots, screen=screen
        )
        return _created(session.answer, prefix, session.id, links)
    except BaseException:
        await session.close("the answer could not be sent")
        raise


async def post_whip(request: web.Request) -> web.Response:
    return await _open(request, "whip")


async def post_whep(request: web.Request) -> web.Response:
    return await _open(request, "whep")


async def delete_session(request: web.Request) -> web.Response:
    identity: Identity = request.app[KEYRING].from_bearer(request)
    session_id = request.match_info["session"]
    gone = NotFound("no such session (it may have ended already)")
    owner = request.app[MEETING].sessions.owners.get(session_id)
    if owner is None:
        raise gone
    if owner != identity:
        raise Forbidden("this session belongs to another key")
    bridge = request.app[BRIDGE]
    try:
        session = bridge.get(session_id)
        if session.state == "closed" or session.direction != DIRECTIONS[request.path.split("/")[1]]:
            raise gone
        await bridge.close_session(session_id, "deleted by its owner")
    except SessionNotFound:
        raise gone from None
    return web.Response(status=200, headers=CORS_HEADERS)


async def patch_session(request: web.Request) -> web.Response:
    raise MethodNotAllowed("trickle ICE is not supported: send a complete offer")


def add_routes(app: web.Application) -> None:
    for prefix, post in (("whip", post_whip), ("whep", post_whep)):
        app.router.add_route("OPTIONS", f"/{prefix}", options)
        app.router.add_post(f"/{prefix}", post)
        app.router.add_route("OPTIONS", f"/{prefix}/{{session}}", options)
        app.router.add_delete(f"/{prefix}/{{session}}", delete_session)
        app.router.add_route("PATCH", f"/{prefix}/{{session}}", patch_session)
