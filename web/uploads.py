"""Reading a multipart/form-data upload in memory, every part bounded, nothing on disk.

The app's body limit (256 KiB) is for signalling; a picture needs more, so the form is
read part by part here, with its own limits, instead of by `request.post()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from .errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FIELD_LIMIT = 16 * 1024
MAX_PARTS = 12
CHUNK = 64 * 1024
# An over-large file is read to its end (then refused) so the client hears our answer
# instead of a reset connection; past this much, the connection is simply dropped.
DRAIN_LIMIT = 32 * 1024 * 1024


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


async def read_form(request: web.Request, file_limit: int) -> Form:
    """The form's text fields and files; 415 when it is no form, 413 when a file passes
    `file_limit` bytes, 400 for an over-long field or too many parts."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("send the announcement as multipart/form-data")
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError) as exc:  # aiohttp asserts on a missing boundary
        raise BadRequest(f"the form cannot be read: {exc}", code="bad-form") from None
    form = Form()
    too_large: str | None = None
    read = 0
    parts = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise BadRequest("nested multipart forms are not accepted", code="bad-form")
        parts += 1
        if parts > MAX_PARTS:
            raise BadRequest(f"the form has more than {MAX_PARTS} parts", code="bad-form")
        name = part.name or ""
        limit = file_limit if part.filename is not None else FIELD_LIMIT
        body = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            read += len(chunk)
            if read > DRAIN_LIMIT:
                raise PayloadTooLarge(f"the form is over {DRAIN_LIMIT} bytes")
            if len(body) <= limit:
                body += chunk
        if len(body) > limit:
            if part.filename is None:
                raise BadRequest(f"field {name[:40]!r} is over {limit} bytes", code="bad-field")
            too_large = name
            continue
        if part.filename is not None:
            form.files[name] = bytes(body)
            continue
        try:
            form.fields[name] = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"field {name[:40]!r} is not UTF-8 text", code="bad-field") from None
    if too_large is not None:
        raise PayloadTooLarge(f"the file {too_large[:40]!r} is over {file_limit} bytes")
    return form
