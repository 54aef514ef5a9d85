"""The secretary's export over HTTP: start one, follow its progress, download the ZIP.
Only keys with EXPORT_RECORDS (chair, secretary) may; every export, download, refusal
and path trick goes into the access log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path

from aiohttp import web

from media.export import MinutesWriter
from media.names import fold, stamp
from media.retention import AccessRecorder
from rooms.events import Event
from rooms.permissions import EXPORT_RECORDS

from .auth import Identity
from .errors import Forbidden, NotFound
from .exportjobs import ExportManager
from .keys import ACCESS_LOG, EXPORTS, KEYRING, MEETING, REGISTER, SETTINGS
from .minutesview import minutes_writer
from .safepath import SAFE_NAME, PathRefused, SafePaths

logger = logging.getLogger(__name__)

# What the access log calls each use (web/accesslog.py's actions).
EXPORT, DOWNLOAD, DENIED, VIEW = "export", "download", "denied", "view"
MEETINGS_LISTED = 50


def _access(request: web.Request) -> AccessRecorder:
    return request.app[EXPORTS].access


def _allowed(request: web.Request, target: str) -> Identity:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(EXPORT_RECORDS):
        _access(request).add(identity.role, DENIED, target, time.time())
        raise Forbidden("only the secretary's and the chair's keys open the record")
    return identity


def _refused(request: web.Request, identity: Identity, target: str) -> None:
    """A path trick: answered 404 like a missing file, but logged."""
    logger.warning("refused path %r from %s", target[:120], request.remote)
    _access(request).add(identity.role, DENIED, f"path:{target[:120]}", time.time())


async def start_export(request: web.Request) -> web.Response:
    meeting_id = request.match_info["meeting"]
    identity = _allowed(request, f"export:{meeting_id[:64]}")
    exports = request.app[EXPORTS]
    paths = SafePaths(request.app[SETTINGS].data_dir)
    try:
        paths.name(meeting_id)
    except PathRefused:
        _refused(request, identity, meeting_id)
        raise
    known = {m for m, _, _ in await request.app[MEETING].log.meetings(limit=1000)}
    if meeting_id not in known:
        raise NotFound(f"there is no meeting {meeting_id[:40]!r}")
    job = await exports.start(meeting_id, identity.role)
    exports.access.add(identity.role, EXPORT, meeting_id, time.time())
    return web.json_response(job.to_wire(), status=202)


async def list_exports(request: web.Request) -> web.Response:
    identity = _allowed(request, "exports")
    exports = request.app[EXPORTS]
    log = request.app[MEETING].log
    meetings = []
    for meeting_id, opened, closed in await log.meetings(limit=MEETINGS_LISTED):
        first = await log.events(meeting_id, 0, limit=1)
        title = getattr(first[0].event, "title", "") if first else ""
        meetings.append(
            {"id": meeting_id, "title": title, "opened_at": opened, "closed_at": closed}
        )
    exports.access.add(identity.role, VIEW, "exports", time.time())
    jobs = sorted(exports.jobs.values(), key=lambda j: j.requested_at, reverse=True)
    wire = [j.to_wire() for j in jobs]
    current = {j.meeting_id for j in jobs}
    older = [str(m["id"]) for m in meetings if m["id"] not in current]
    paths = SafePaths(request.app[SETTINGS].data_dir / "exports")
    wire += await asyncio.get_running_loop().run_in_executor(None, _saved, paths, older)
    return web.json_response({"meetings": meetings, "exports": wire})


async def export_status(request: web.Request) -> web.Response:
    export_id = request.match_info["export"]
    identity = _allowed(request, f"export:{export_id[:64]}")
    job = request.app[EXPORTS].jobs.get(export_id)
    if job is None:
        await _found(request, identity, export_id)  # an export made before a restart
        return web.json_response(
            {
                "id": export_id,
                "state": "done",
                "progress": 1.0,
                "download": f"/exports/{export_id}/download",
            }
        )
    return web.json_response(job.to_wire())


async def _found(request: web.Request, identity: Identity, export_id: str) -> tuple[str, Path]:
    """The ZIP of `export_id`, looked up under data_dir/exports/<meeting>/ only; NotFound
    otherwise, and a path trick is logged."""
    paths = SafePaths(request.app[SETTINGS].data_dir / "exports")
    try:
        paths.name(export_id)
    except PathRefused:
        _refused(request, identity, export_id)
        raise
    job = request.app[EXPORTS].jobs.get(export_id)
    hint = job.meeting_id if job is not None else None
    loop = asyncio.get_running_loop()
    found = await loop.run_in_executor(None, _locate, paths, hint, export_id)
    if isinstance(found, tuple):
        return found
    if found == REFUSED:
        _refused(request, identity, export_id)  # a symlink planted to lead outside
    raise NotFound("no such export")


REFUSED, MISSING = "refused", "missing"


def _locate(paths: SafePaths, meeting_id: str | None, export_id: str) -> tuple[str, Path] | str:
    """(meeting, real path) of the ZIP, or why not (blocking: it looks at the disk)."""
    meetings = [meeting_id] if meeting_id is not None else _meeting_folders(paths)
    refused = False
    for meeting in meetings:
        try:
            return meeting, paths.file(meeting, export_id, suffix=".zip")
        except PathRefused:
            refused = refused or (paths.root / meeting / f"{export_id}.zip").is_symlink()
    return REFUSED if refused else MISSING


def _meeting_folders(paths: SafePaths) -> list[str]:
    root = paths.root
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink()]


def _saved(paths: SafePaths, meeting_ids: list[str]) -> list[dict[str, object]]:
    """The newest ZIP kept for each meeting, as a finished export (they outlive a restart)."""
    saved: list[dict[str, object]] = []
    for meeting_id in meeting_ids:
        folder = paths.root / meeting_id
        if not SAFE_NAME.fullmatch(meeting_id) or not folder.is_dir() or folder.is_symlink():
            continue
        zips = [p for p in folder.glob("*.zip") if SAFE_NAME.fullmatch(p.stem) and p.is_file()]
        if zips:
            newest = max(zips, key=lambda p: p.stat().st_mtime)
            saved.append(
                {
                    "id": newest.stem,
                    "meeting": meeting_id,
                    "state": "done",
                    "progress": 1.0,
                    "requested_at": newest.stat().st_mtime,
                    "download": f"/exports/{newest.stem}/download",
                }
            )
    return saved


async def download_export(request: web.Request) -> web.StreamResponse:
    export_id = request.match_info["export"]
    identity = _allowed(request, f"download:{export_id[:64]}")
    meeting_id, path = await _found(request, identity, export_id)
    response = web.FileResponse(path)
    settings = request.app[SETTINGS]
    job = request.app[EXPORTS].jobs.get(export_id)
    when = stamp(job.requested_at if job is not None else time.time())
    name = f"{when}_{fold(settings.commune, 30)}_ho-so.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Type"] = "application/zip"
    response.headers["Cache-Control"] = "no-store"
    request.app[EXPORTS].access.add(
        identity.role, DOWNLOAD, f"{meeting_id}/{export_id}.zip", time.time()
    )
    return response


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After the meeting's and the record's: exports write the real minutes (with the
    register's later edits) and log into the access log."""
    meeting, register, settings = app[MEETING], app[REGISTER], app[SETTINGS]

    def minutes_for(events: Sequence[Event]) -> Awaitable[MinutesWriter]:
        return minutes_writer(meeting, register, settings, events)

    manager = ExportManager(
        settings, meeting.log, app[ACCESS_LOG], minutes_for, lambda: meeting.room.broadcast.live
    )
    app[EXPORTS] = manager
    purge = asyncio.ensure_future(manager.purge_daily())
    yield
    purge.cancel()
    await manager.close()


def add_routes(app: web.Application) -> None:
    """Add after records.add_routes: the exports' lifecycle needs the register."""
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_post("/meetings/{meeting}/export", start_export)
    app.router.add_get("/exports", list_exports)
    app.router.add_get("/exports/{export}", export_status)
    app.router.add_get("/exports/{export}/download", download_export)
