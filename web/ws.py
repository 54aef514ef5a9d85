"""The page WebSocket: a welcome, state snapshots, pings, and clear errors for bad messages.

A message over 64 KiB closes the socket with 1009; anything else that is wrong
gets an `error` reply and the socket stays open. A socket silent for 30 s is
closed, so a TV that lost power does not linger as connected; one that sends
but never reads its replies is closed with 1008.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .keys import KEYRING, MEETING, SOCKET_SILENCE
from .meeting import Client

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
# A page that sends faster than it reads would make the server queue replies forever.
MAX_UNSENT_REPLIES = 64


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _reply(raw: str) -> dict[str, Any]:
    """The answer to one text message from a page."""
    try:
        message = json.loads(raw)
    except ValueError:
        return _error("bad-json", "the message is not valid JSON")
    if not isinstance(message, dict):
        return _error("bad-json", "the message must be a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str):
        return _error("bad-field", "the message needs a string field 'type'")
    if kind == "ping":
        ping_id = message.get("id")
        if not isinstance(ping_id, int) or isinstance(ping_id, bool):
            return _error("bad-field", "ping needs an integer field 'id'")
        return {"type": "pong", "id": ping_id}
    return _error("unknown-type", f"unknown message type {kind[:40]!r}")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    identity = request.app[KEYRING].from_query(request)  # 401/403 before the upgrade
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    meeting = request.app[MEETING]
    silence = request.app[SOCKET_SILENCE]
    client = Client(secrets.token_hex(8), identity, ws)
    meeting.connect(client)
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=silence)
            except TimeoutError:
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"silent too long")
                break
            if len(client.outbox) > MAX_UNSENT_REPLIES:
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"not reading replies")
                break
            if msg.type == WSMsgType.TEXT:
                meeting.send(client, _reply(msg.data))
            elif msg.type == WSMsgType.BINARY:
                meeting.send(client, _error("bad-json", "binary messages are not understood"))
            elif msg.type == WSMsgType.ERROR:
                # aiohttp has already closed a too-big message with 1009.
                if not ws.closed:
                    await ws.close(code=WSCloseCode.MESSAGE_TOO_BIG)
                break
            else:  # CLOSE, CLOSING, CLOSED
                break
    finally:
        meeting.disconnect(client)
    return ws
