"""The page WebSocket: a welcome, state snapshots, pings, TV reports, and clear errors.

A message over 64 KiB closes the socket with 1009; anything else that is wrong
gets an `error` reply and the socket stays open. A socket silent for 30 s is
closed, so a TV that lost power does not linger as connected; one that sends
but never reads its replies is closed with 1008.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from rooms import RoomError

from . import messages
from .errors import MessageError
from .fanout import Client
from .keys import KEYRING, MEETING, SOCKET_SILENCE, SOCKETS
from .meeting import Meeting
from .socketbudget import SOCKET_REFUSED

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
# A page that sends faster than it reads would make the server queue replies forever.
MAX_UNSENT_REPLIES = 64


def _reply(meeting: Meeting, client: Client, raw: str) -> dict[str, Any] | None:
    """The answer to one text message from a page, if it needs one."""
    try:
        message = messages.decode(raw)
    except MessageError as exc:
        return exc.to_wire()
    if isinstance(message, messages.PingMessage):
        return {"type": "pong", "id": message.id}
    try:
        if isinstance(message, messages.ReportMessage):
            meeting.report(client, message.to_report())
        else:
            command = message.command(client.conn_id)
            if command is not None:
                meeting.handle(command)
    except RoomError as exc:
        error = MessageError.from_room(exc)
        if error.code == "forbidden":
            meeting.refused.warning(
                "%s page %s was refused %s: %s",
                client.identity.role,
                client.conn_id,
                type(message).__name__.removesuffix("Message").lower(),
                exc,
            )
        return error.to_wire()
    except MessageError as exc:  # refused at the edge: a recording with too little disk
        return exc.to_wire()
    return None


async def websocket(request: web.Request) -> web.WebSocketResponse:
    identity = request.app[KEYRING].from_query(request)  # 401/403 before the upgrade
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    # Past its key's cap the socket opens only to say why, so the page can show it.
    budget, address = request.app[SOCKETS], request.remote or "?"
    refusal = budget.take(identity, address)
    if refusal is not None:
        await ws.close(code=SOCKET_REFUSED, message=refusal.encode())
        return ws
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
                reply = _reply(meeting, client, msg.data)
                if reply is not None:
                    meeting.pages.send(client, reply)
            elif msg.type == WSMsgType.BINARY:
                error = MessageError("bad-json", "binary messages are not understood")
                meeting.pages.send(client, error.to_wire())
            elif msg.type == WSMsgType.ERROR:
                # aiohttp has already closed a too-big message with 1009.
                if not ws.closed:
                    await ws.close(code=WSCloseCode.MESSAGE_TOO_BIG)
                break
            else:  # CLOSE, CLOSING, CLOSED
                break
    finally:
        meeting.disconnect(client)
        budget.release(identity, address)
    return ws
