"""Errors raised at the edge, and the one place they become wire replies.

WebError                 an HTTP answer with a status and a stable code
├── BadRequest           400 (bad-sdp, bad-content-type is 415)
├── Unauthorized         401 missing-key
├── Forbidden            403 wrong-key
├── NotFound             404 not-found
├── MethodNotAllowed     405 no-trickle
├── NotAcceptable        406 codec-unsupported
├── PayloadTooLarge      413 too-large (an announcement's image over 5 MB)
├── TooManyRequests      429 too-many-wrong-keys (with Retry-After)
└── Busy                 503 busy (Retry-After when it is the connection reserve)
ConfigError              a bad config.yaml: one line naming file, key and problem
MessageError             a WebSocket message that is not JSON, of no known type, or with a
                         bad field (web/messages.py); answered with an `error` reply
"""

from __future__ import annotations

from rooms.errors import (
    BadValue,
    DuplicateConnection,
    IllegalMove,
    RoomError,
    UnknownEntry,
    UnknownHall,
)


class ConfigError(Exception):
    """A config problem, printed as `FILE: KEY: what is wrong`."""

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}")
        self.file = file
        self.key = key
        self.message = message


class WebError(Exception):
    status = 500
    code = "internal"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        # Seconds to wait, for a refusal that passes; the answer then also closes the
        # connection, so it goes back to whoever needs it.
        self.retry_after = retry_after

    def with_status(self, status: int) -> WebError:
        """The same error answered with another status (for aiohttp's own errors)."""
        self.status = status
        return self


class BadRequest(WebError):
    status = 400
    code = "bad-request"


class Unauthorized(WebError):
    status = 401
    code = "missing-key"


class Forbidden(WebError):
    status = 403
    code = "wrong-key"


class NotFound(WebError):
    status = 404
    code = "not-found"


class MethodNotAllowed(WebError):
    status = 405
    code = "no-trickle"


class NotAcceptable(WebError):
    status = 406
    code = "codec-unsupported"


class PayloadTooLarge(WebError):
    status = 413
    code = "too-large"


class UnsupportedMediaType(WebError):
    status = 415
    code = "bad-content-type"


class TooManyRequests(WebError):
    status = 429
    code = "too-many-wrong-keys"


class Busy(WebError):
    status = 503
    code = "busy"


class MessageError(Exception):
    """A WebSocket message the edge refuses before the room sees it: answered with an
    `error` reply (docs/protocol.md), and the socket stays open.

    `code` is `bad-json`, `unknown-type` or `bad-field`; `field` names the field for
    `bad-field` (None otherwise).
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def from_room(cls, error: RoomError) -> MessageError:
        """The wire reply to the room refusing a page's move (docs/protocol.md, `error`)."""
        match error:
            case UnknownHall() | UnknownEntry():  # UnknownHall first: it is a NotPermitted
                return cls("not-found", str(error))
            case BadValue():
                return cls("refused", str(error), error.field)
            case IllegalMove() | DuplicateConnection():
                return cls("refused", str(error))
            case _:  # NotPermitted, UnknownRole, UnknownConnection: not this page's to do
                return cls("forbidden", str(error))

    def to_wire(self) -> dict[str, str]:
        wire = {"type": "error", "code": self.code, "message": self.message}
        if self.field is not None:
            wire["field"] = self.field
        return wire
