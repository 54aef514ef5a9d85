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

from rooms import (
    AnswerConsent,
    CloseMeeting,
    Command,
    EditEntry,
    EndFloor,
    ExtendFloor,
    GrantFloor,
    MoveEntry,
    MuteHall,
    NotPermitted,
    OpenMeeting,
    RaiseHand,
    RoomError,
    UnknownEntry,
    UnknownHall,
    WithdrawHand,
)

from . import messages
from .fanout import Client
from .keys import KEYRING, MEETING, SOCKET_SILENCE
from .meeting import Meeting

logger = logging.getLogger(__name__)
# Refused attempts (a hall trying to grant) are logged, at most a few lines a second.
refused = logging.getLogger("web.refused")

MAX_MESSAGE_BYTES = 64 * 1024
# A page that sends faster than it reads would make the server queue replies forever.
MAX_UNSENT_REPLIES = 64


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if field is not None:
        reply["field"] = field
    return reply


# The room's refusals as wire codes (docs/protocol.md, "error"); the first match wins.
_ROOM_ERRORS: tuple[tuple[type[RoomError], str], ...] = (
    (UnknownHall, "not-found"),
    (NotPermitted, "forbidden"),
    (UnknownEntry, "not-found"),
    (RoomError, "refused"),
)


def command_for(message: messages.Message, conn_id: str) -> Command:
    """The room command a page's floor message asks for, sent by socket `conn_id`."""
    match message:
        case messages.Raise():
            return RaiseHand(conn_id, message.hall, message.name, message.topic)
        case messages.Withdraw():
            return WithdrawHand(conn_id, message.entry)
        case messages.Grant():
            return GrantFloor(conn_id, message.entry)
        case messages.End():
            return EndFloor(conn_id)
        case messages.Move():
            return MoveEntry(conn_id, message.entry, message.position)
        case messages.Mute():
            return MuteHall(conn_id, message.hall, message.muted)
        case messages.Extend():
            return ExtendFloor(conn_id, message.seconds)
        case messages.Edit():
            return EditEntry(conn_id, message.entry, message.name, message.topic)
        case messages.Consent():
            return AnswerConsent(conn_id, message.consent)
        case messages.OpenMeeting():
            return OpenMeeting(conn_id, message.title)
        case messages.CloseMeeting():
            return CloseMeeting(conn_id)
    raise TypeError(f"no command for {type(message).__name__}")


def _reply(meeting: Meeting, client: Client, raw: str) -> dict[str, Any] | None:
    """The answer to one text message from a page, if it needs one."""
    try:
        message = messages.decode(raw)
    except messages.MessageError as exc:
        return _error(exc.code, exc.message, exc.field)
    if isinstance(message, messages.Ping):
        return {"type": "pong", "id": message.id}
    try:
        if isinstance(message, messages.Report):
            meeting.report(client, message.link_report())
        else:
            meeting.handle(command_for(message, client.conn_id))
    except RoomError as exc:
        code = next(code for kind, code in _ROOM_ERRORS if isinstance(exc, kind))
        if code == "forbidden":
            refused.warning(
                "%s page %s was refused %s: %s",
                client.identity.role,
                client.conn_id,
                type(message).__name__.lower(),
                exc,
            )
        return _error(code, str(exc), getattr(exc, "field", None))
    return None


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
                reply = _reply(meeting, client, msg.data)
                if reply is not None:
                    meeting.pages.send(client, reply)
            elif msg.type == WSMsgType.BINARY:
                meeting.pages.send(client, _error("bad-json", "binary messages are not understood"))
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
