"""The secretary's announcements for the public board: their table, their pictures under
`<data_dir>/announcements/`, and the HTTP endpoints that create, edit, schedule and remove
them (docs/protocol.md, "Announcements").

A picture is checked and re-encoded in memory (web/images.py) before a byte is written;
the file is then written to a temporary name and renamed, so a refused or failed upload
leaves nothing on disk.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from rooms.errors import BadValue
from rooms.permissions import MANAGE_ANNOUNCEMENTS, WATCH

from .announcement import Announcement, Draft, apply_draft
from .errors import Forbidden, NotFound
from .files import make_private_dir, write_file_atomically
from .images import MAX_BYTES, CleanImage, clean_image
from .keys import KEYRING, SETTINGS
from .tablestore import TableStore
from .uploads import Form, read_form

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS announcements (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    starts_at REAL,
    ends_at REAL,
    image TEXT,
    updated_at REAL NOT NULL
);
"""
FOLDER = "announcements"
MAX_ANNOUNCEMENTS = 200  # a board rotates a handful; hundreds would be a runaway script
_IMAGE_NAME = re.compile(r"^a-[0-9a-f]{10}-[0-9a-f]{8}\.(jpg|png)$")
_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


class Announcements:
    """Every announcement, in memory and in its table; pictures as files beside them."""

    def __init__(self, store: TableStore, folder: Path, items: list[Announcement]) -> None:
        self.store = store
        self.folder = folder
        self._items = {a.id: a for a in items}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, data_dir: Path) -> Announcements:
        store = await TableStore.open(data_dir, _SCHEMA, "announcements")

        def load(db: sqlite3.Connection) -> list[Announcement]:
            rows = db.execute(
                "SELECT id, title, text, starts_at, ends_at, image, updated_at FROM announcements"
            ).fetchall()
            return [Announcement(*row) for row in rows]

        folder = data_dir / FOLDER
        return cls(store, folder, await store.run(load))

    def all(self) -> list[Announcement]:
        """Newest first."""
        return sorted(self._items.values(), key=lambda a: (-a.updated_at, a.id))

    def showing(self, at: float) -> list[Announcement]:
        return [a for a in self.all() if a.showing(at)]

    def get(self, announcement_id: str) -> Announcement:
        try:
            return self._items[announcement_id]
        except KeyError:
            raise NotFound(f"no announcement {announcement_id[:40]!r}") from None

    def image_path(self, name: str) -> Path:
        """The file of a picture some announcement shows; NotFound for any other name."""
        if not _IMAGE_NAME.match(name) or all(a.image != name for a in self._items.values()):
            raise NotFound("no such picture")
        return self.folder / name

    # --- changes: check everything, then write the picture, then the row ---------------

    async def save(
        self, old: Announcement, draft: Draft, image: bytes | None, drop_image: bool, at: float
    ) -> Announcement:
        new = apply_draft(old, draft, at)  # fields first: a bad title costs no decoding
        loop = asyncio.get_running_loop()
        cleaned = None if image is None else await loop.run_in_executor(None, clean_image, image)
        async with self._lock:
            if old.id not in self._items and len(self._items) >= MAX_ANNOUNCEMENTS:
                raise BadValue("id", f"at most {MAX_ANNOUNCEMENTS} announcements are kept")
            if cleaned is not None:
                name = f"{old.id}-{secrets.token_hex(4)}{cleaned.suffix}"
                await loop.run_in_executor(None, self._write_image, name, cleaned)
                new = _with_image(new, name)
            elif drop_image:
                new = _with_image(new, None)
            try:
                await self._put(new)
            except BaseException:
                if new.image != old.image and new.image is not None:
                    await loop.run_in_executor(None, self._unlink, new.image)
                raise
            self._items[new.id] = new
        if old.image is not None and old.image != new.image:
            await loop.run_in_executor(None, self._unlink, old.image)
        return new

    async def remove(self, announcement_id: str) -> None:
        async with self._lock:
            old = self.get(announcement_id)
            await self.store.run(
                lambda db: db.execute("DELETE FROM announcements WHERE id = ?", (old.id,))
            )
            del self._items[old.id]
        if old.image is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._unlink, old.image)

    async def _put(self, a: Announcement) -> None:
        row = (a.id, a.title, a.text, a.starts_at, a.ends_at, a.image, a.updated_at)
        sql = "INSERT OR REPLACE INTO announcements VALUES (?, ?, ?, ?, ?, ?, ?)"
        await self.store.run(lambda db: db.execute(sql, row))

    def _write_image(self, name: str, image: CleanImage) -> None:
        make_private_dir(self.folder)
        write_file_atomically(self.folder / name, image.data)

    def _unlink(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    async def close(self) -> None:
        await self.store.close()


def _with_image(a: Announcement, name: str | None) -> Announcement:
    return Announcement(a.id, a.title, a.text, a.starts_at, a.ends_at, name, a.updated_at)


ANNOUNCEMENTS = web.AppKey("announcements", Announcements)


# --- HTTP -------------------------------------------------------------------------------


def _editor(request: web.Request) -> Announcements:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(MANAGE_ANNOUNCEMENTS):
        raise Forbidden("only the secretary manages announcements")
    return request.app[ANNOUNCEMENTS]


def _number(form: Form, name: str) -> float | None:
    raw = form.fields.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadValue(name, f"{name} must be a number of seconds since 1970") from None
    if not math.isfinite(value):
        raise BadValue(name, f"{name} must be a finite time")
    return value


def _draft(form: Form) -> Draft:
    present = form.fields.keys()
    return Draft(
        title=form.fields.get("title"),
        text=form.fields.get("text"),
        starts_at=_number(form, "starts_at"),
        ends_at=_number(form, "ends_at"),
        clear_starts="starts_at" in present and not form.fields["starts_at"].strip(),
        clear_ends="ends_at" in present and not form.fields["ends_at"].strip(),
    )


def _image_of(form: Form) -> bytes | None:
    data = form.files.get("image")
    return data if data else None  # a form's empty file input sends an empty part


async def list_announcements(request: web.Request) -> web.Response:
    board = _editor(request)
    at = time.time()
    return web.json_response({"announcements": [a.to_wire(at) for a in board.all()], "now": at})


async def create_announcement(request: web.Request) -> web.Response:
    board = _editor(request)
    form = await read_form(request, MAX_BYTES)
    at = time.time()
    blank = Announcement("a-" + secrets.token_hex(5), "")
    saved = await board.save(blank, _draft(form), _image_of(form), False, at)
    logger.info("announcement %s created", saved.id)
    return web.json_response(saved.to_wire(at), status=201)


async def edit_announcement(request: web.Request) -> web.Response:
    board = _editor(request)
    old = board.get(request.match_info["id"])
    form = await read_form(request, MAX_BYTES)
    at = time.time()
    drop = form.fields.get("remove_image", "") in ("1", "true", "on")
    saved = await board.save(old, _draft(form), _image_of(form), drop, at)
    return web.json_response(saved.to_wire(at))


async def remove_announcement(request: web.Request) -> web.Response:
    board = _editor(request)
    await board.remove(request.match_info["id"])
    return web.Response(status=204)


async def announcement_image(request: web.Request) -> web.FileResponse:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(WATCH):
        raise Forbidden("this key may not watch")
    path = request.app[ANNOUNCEMENTS].image_path(request.match_info["name"])
    headers = {
        "Content-Type": _TYPES[path.suffix],
        "Cache-Control": "private, max-age=86400",  # the name changes with the picture
        "Content-Disposition": "inline",
    }
    return web.FileResponse(path, headers=headers)


def board_wire(board: Announcements, at: float) -> list[dict[str, Any]]:
    """What the public board rotates through now."""
    return [a.to_wire() for a in board.showing(at)]


async def announcements_lifecycle(app: web.Application) -> AsyncIterator[None]:
    board = await Announcements.open(app[SETTINGS].data_dir)
    app[ANNOUNCEMENTS] = board
    yield
    await board.close()


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(announcements_lifecycle)
    app.router.add_get("/announcements", list_announcements)
    app.router.add_post("/announcements", create_announcement)
    app.router.add_patch("/announcements/{id}", edit_announcement)
    app.router.add_delete("/announcements/{id}", remove_announcement)
    app.router.add_get("/announcements/images/{name}", announcement_image)
