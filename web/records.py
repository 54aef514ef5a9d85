"""The record over HTTP: the secretary page, the meetings and their minutes, the question
register (page, data, edits, XLSX and CSV) and the access log (docs/protocol.md,
"The record"). Only keys with `export_records` see them, only `keep_minutes` edits;
every view, download and edit, and every refusal of a known key, is logged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from media.minutes import MinutesDocument, minutes_json
from media.minutesdocx import minutes_docx
from media.minuteshtml import minutes_html
from media.names import stamp
from media.registersheet import SheetRow, register_csv, register_xlsx
from rooms.errors import BadValue
from rooms.minutes import STATUSES
from rooms.permissions import EXPORT_RECORDS, KEEP_MINUTES
from rooms.register import OVERDUE, DuePolicy, local_date, standing

from .accesslog import DENIED, DOWNLOAD, EDIT, VIEW, AccessLog
from .auth import Identity
from .errors import BadRequest, Forbidden, NotFound, UnsupportedMediaType
from .keys import ACCESS_LOG, KEYRING, MEETING, REGISTER, SETTINGS
from .minutesview import check_meeting_id, meeting_minutes
from .pages import PAGE_HEADERS, TEMPLATES
from .register import Register, RegisterRow

MAX_EDIT_BYTES = 16 * 1024
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
MINUTES_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "json": "application/json; charset=utf-8",
}


def _allowed(request: web.Request, permission: str, target: str) -> Identity:
    """The key's identity, if it holds `permission`; a refusal is logged, then 403."""
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(permission):
        request.app[ACCESS_LOG].add(identity.role, DENIED, target, time.time())
        raise Forbidden(f"a {identity.role} key may not open the record")
    return identity


def _log(request: web.Request, identity: Identity, action: str, target: str) -> None:
    request.app[ACCESS_LOG].add(identity.role, action, target, time.time())


def _attachment(body: bytes, content_type: str, filename: str) -> web.Response:
    # The names are ASCII (media/names.py), so no RFC 5987 encoding is needed.
    headers = {
        **DOWNLOAD_HEADERS,
        "Content-Type": content_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return web.Response(body=body, headers=headers)


# -- pages ---------------------------------------------------------------------------------


async def secretary_page(request: web.Request) -> web.FileResponse:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(KEEP_MINUTES):
        raise Forbidden("this page needs the secretary's or the chair's key")
    return web.FileResponse(TEMPLATES / "secretary.html", headers=PAGE_HEADERS)


async def register_page(request: web.Request) -> web.FileResponse:
    identity = _allowed(request, EXPORT_RECORDS, "register")
    _log(request, identity, VIEW, "register")
    return web.FileResponse(TEMPLATES / "register.html", headers=PAGE_HEADERS)


# -- meetings and their minutes ------------------------------------------------------------


async def meetings(request: web.Request) -> web.Response:
    identity = _allowed(request, EXPORT_RECORDS, "meetings")
    _log(request, identity, VIEW, "meetings")
    log = request.app[MEETING].log
    titles = await request.app[REGISTER].titles()
    return web.json_response(
        {
            "meetings": [
                {"id": m, "title": titles.get(m, ""), "opened_at": opened, "closed_at": closed}
                for m, opened, closed in await log.meetings(limit=1000)
            ]
        }
    )


async def minutes(request: web.Request) -> web.Response:
    meeting_id, kind = request.match_info["meeting"], request.match_info["kind"]
    target = f"minutes.{kind[:8]}:{meeting_id[:64]}"
    identity = _allowed(request, EXPORT_RECORDS, target)
    if kind not in MINUTES_TYPES:
        raise NotFound("the minutes come as .docx, .html or .json")
    document = await meeting_minutes(
        request.app[MEETING], request.app[REGISTER], request.app[SETTINGS], meeting_id
    )
    body = await asyncio.get_running_loop().run_in_executor(None, _render, document, kind)
    _log(request, identity, DOWNLOAD, target)
    filename = f"bien-ban_{check_meeting_id(meeting_id)}.{kind}"
    return _attachment(body, MINUTES_TYPES[kind], filename)


def _render(document: MinutesDocument, kind: str) -> bytes:
    if kind == "docx":
        return minutes_docx(document)
    if kind == "html":
        return minutes_html(document).encode("utf-8")
    return minutes_json(document).encode("utf-8")


# -- the question register -----------------------------------------------------------------


def row_wire(row: RegisterRow, at: float) -> dict[str, Any]:
    return {
        "meeting": row.meeting_id,
        "meeting_title": row.meeting_title,
        "entry": row.entry_id,
        "hall": row.hall_id,
        "hall_name": row.hall_name,
        "name": row.name,
        "topic": row.topic,
        "granted_at": row.granted_at,
        "status": row.status,
        "answer": row.answer,
        "due": row.due.isoformat(),
        "state": standing(row.status, row.due, at),
        "days_left": (row.due - local_date(at)).days,
        "changed_at": row.changed_at,
        "changed_by": row.changed_by,
    }


def _status_filter(request: web.Request) -> str | None:
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="bad-field")
    return status


async def register_data(request: web.Request) -> web.Response:
    identity = _allowed(request, EXPORT_RECORDS, "register")
    rows = await request.app[REGISTER].questions(status=_status_filter(request))
    now = time.time()
    return web.json_response(
        {
            "questions": [row_wire(r, now) for r in rows],
            "now": now,
            "due_days": request.app[REGISTER].policy.due_days,
            "statuses": dict(STATUSES),
            "may_edit": identity.may(KEEP_MINUTES),
        },
        headers={"Cache-Control": "no-store"},
    )


async def register_sheet(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    identity = _allowed(request, EXPORT_RECORDS, f"register.{kind}")
    rows = await request.app[REGISTER].questions(status=_status_filter(request))
    now = time.time()
    sheet = [
        SheetRow(
            r.meeting_title,
            r.meeting_id,
            r.granted_at,
            r.hall_name,
            r.name,
            r.topic,
            STATUSES.get(r.status, r.status),
            r.answer,
            r.due.strftime("%d/%m/%Y"),
            standing(r.status, r.due, now) == OVERDUE,
        )
        for r in rows
    ]
    writer = register_xlsx if kind == "xlsx" else register_csv
    body = await asyncio.get_running_loop().run_in_executor(None, writer, sheet)
    _log(request, identity, DOWNLOAD, f"register.{kind}")
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if kind == "xlsx"
        else "text/csv; charset=utf-8"
    )
    return _attachment(body, content_type, f"so-theo-doi-cau-hoi_{stamp(now)}.{kind}")


async def register_edit(request: web.Request) -> web.Response:
    """POST /register/<meeting>/<entry>: {"status"?, "answer"?, "name"?, "topic"?}."""
    meeting_id = check_meeting_id(request.match_info["meeting"])
    entry_id = request.match_info["entry"]
    target = f"register:{meeting_id}/{entry_id[:40]}"
    identity = _allowed(request, KEEP_MINUTES, target)
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the changes as application/json")
    raw = await request.content.read(MAX_EDIT_BYTES + 1)
    if len(raw) > MAX_EDIT_BYTES:
        raise BadRequest("the changes are too long", code="bad-field")
    try:
        changes = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not JSON", code="bad-json") from None
    if not isinstance(changes, dict) or not changes:
        raise BadRequest("send an object of the fields to change", code="bad-field")
    try:
        row = await request.app[REGISTER].update(
            meeting_id, entry_id, changes, identity.role, time.time()
        )
    except BadValue as exc:
        raise BadRequest(str(exc), code="bad-field") from None
    if row is None:
        raise NotFound(f"no question {entry_id[:40]!r} in meeting {meeting_id!r}")
    _log(request, identity, EDIT, target)
    return web.json_response(row_wire(row, time.time()))


async def register_changes(request: web.Request) -> web.Response:
    meeting_id = check_meeting_id(request.match_info["meeting"])
    entry_id = request.match_info["entry"]
    _allowed(request, EXPORT_RECORDS, f"register:{meeting_id}/{entry_id[:40]}")
    changes = await request.app[REGISTER].changes(meeting_id, entry_id)
    return web.json_response(
        {
            "changes": [
                {"at": c.at, "by": c.by, "field": c.field, "old": c.old, "new": c.new}
                for c in changes
            ]
        }
    )


async def access_log(request: web.Request) -> web.Response:
    _allowed(request, EXPORT_RECORDS, "access-log")
    entries = await request.app[ACCESS_LOG].entries(limit=200)
    return web.json_response({"entries": [e.to_wire() for e in entries]})


# -- wiring --------------------------------------------------------------------------------


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Open the register and the access log beside the event log; the register then
    follows the live meeting, after catching up on meetings held before it existed."""
    settings, meeting = app[SETTINGS], app[MEETING]
    access = await AccessLog.open(settings.data_dir)
    register = await Register.open(
        settings.data_dir,
        {h.id: h.name for h in settings.halls},
        DuePolicy(settings.records.due_days),
    )
    held = await meeting.log.meetings(limit=1000)
    await register.catch_up(meeting.log, [m for m, _, _ in reversed(held)])
    app[ACCESS_LOG], app[REGISTER] = access, register
    meeting.followers.append(register.follow)
    yield
    meeting.followers.remove(register.follow)
    await register.close()
    await access.close()


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/secretary", secretary_page)
    app.router.add_get("/meetings", meetings)
    app.router.add_get("/meetings/{meeting}/minutes.{kind}", minutes)
    app.router.add_get("/register", register_page)
    app.router.add_get("/register.json", register_data)
    app.router.add_get(r"/register.{kind:xlsx|csv}", register_sheet)
    app.router.add_post("/register/{meeting}/{entry}", register_edit)
    app.router.add_get("/register/{meeting}/{entry}/changes", register_changes)
    app.router.add_get("/access-log", access_log)
