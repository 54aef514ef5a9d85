"""The page WebSocket: a welcome, state snapshots, pings, TV reports, and clear errors.

A message over 64 KiB closes the socket with 1009; anything else that is wrong
gets an `error` reply and the socket stays open. A socket silent for 30 s is
closed, so a TV that lost power does not linger as connected; one that sends
but never reads its replies is closed with 1008.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from rooms import LinkReport, RoomError
from rooms.screen import SHOWN_STATES

from .keys import KEYRING, MEETING, SOCKET_SILENCE, SOCKETS
from .meeting import Client, Meeting
from .socketbudget import SOCKET_REFUSED

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
# A page that sends faster than it reads would make the server queue replies forever.
MAX_UNSENT_REPLIES = 64


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


class _BadField(ValueError):
    pass


# Field: (kind, lowest, highest). Ranges are generous; they only keep nonsense out of
# the meeting's history and the metrics (a 100000-fps TV is a broken page, not a report).
_REPORT_FIELDS: dict[str, tuple[type, float, float]] = {
    "frames": (int, 0, 2**53),
    "fps": (float, 0, 1000),
    "width": (int, 0, 16384),
    "height": (int, 0, 16384),
    "audio_level": (float, 0, 1),
    "loss": (float, 0, 1),
    "jitter_ms": (float, 0, 600_000),
    "rtt_ms": (float, 0, 600_000),
    "bitrate_kbps": (float, 0, 10_000_000),
}


def _number(message: dict[str, Any], name: str) -> float | None:
    kind, low, high = _REPORT_FIELDS[name]
    value = message.get(name)
    if value is None and name == "rtt_ms":
        return None
    wanted = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        raise _BadField(f"report needs {'an integer' if kind is int else 'a number'} '{name}'")
    if not (math.isfinite(value) and low <= value <= high):
        raise _BadField(f"report field '{name}' must be between {low} and {high:g}")
    return value


def parse_report(message: dict[str, Any]) -> LinkReport:
    """A `report` message as the room's LinkReport; _BadField names the first bad field."""
    shown = message.get("shown")
    if shown not in SHOWN_STATES:
        raise _BadField(f"report field 'shown' must be one of {', '.join(sorted(SHOWN_STATES))}")
    numbers = {name: _number(message, name) for name in _REPORT_FIELDS}
    return LinkReport(shown=str(shown), **numbers)  # type: ignore[arg-type]


def _reply(meeting: Meeting, client: Client, raw: str) -> dict[str, Any] | None:
    """The answer to one text message from a page, if it needs one."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
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
    if kind == "report":
        try:
            meeting.report(client, parse_report(message))
        except _BadField as exc:
            return _error("bad-field", str(exc))
        except RoomError as exc:
            return _error("forbidden", str(exc))
        return None
    return _error("unknown-type", f"unknown message type {kind[:40]!r}")


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
                    meeting.send(client, reply)
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
        budget.release(identity, address)
    return ws
