"""Log lines nobody outside can multiply: rate-limited, and no tracebacks for client errors.

A client that sends a bad request, a wrong key or a flood of connections gets
a line now and then, with a count of what was left out, never one per attempt.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

# Loggers that write a line (often with a traceback) per bad request or accept error.
NOISY_LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.websocket", "asyncio", "web.app")
# Errors a client can cause at will: worth a line, never a traceback.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    HttpProcessingError,
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
    UnicodeDecodeError,
    OSError,  # EMFILE on accept or on a new UDP socket: the flood, not a bug
)


class RateLimitedLog:
    """At most `per_minute` lines per minute through `logger`; the next line says how many
    were left out."""

    def __init__(
        self,
        logger: logging.Logger,
        per_minute: int = 6,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._per_minute = per_minute
        self._clock = clock
        self._window_start = -60.0
        self._written = 0
        self.dropped = 0

    def allow(self) -> bool:
        now = self._clock()
        if now - self._window_start >= 60.0:
            self._window_start, self._written = now, 0
        if self._written >= self._per_minute:
            self.dropped += 1
            return False
        self._written += 1
        return True

    def suffix(self) -> str:
        dropped, self.dropped = self.dropped, 0
        return f" ({dropped} similar lines left out)" if dropped else ""

    def warning(self, message: str, *args: object) -> None:
        if self.allow():
            self._logger.warning(message + self.suffix(), *args)


class QuietClientErrors(logging.Filter):
    """On the noisy loggers: tracebacks of client errors become one short line, and all
    their records share a budget of lines per minute."""

    def __init__(self, per_minute: int = 12, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._budget = RateLimitedLog(logging.getLogger(__name__), per_minute, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and isinstance(error, CLIENT_ERRORS):
            detail = " ".join(str(error).split())[:200]  # one line, however the error reads
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {detail}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if not self._budget.allow():
            return False
        suffix = self._budget.suffix()
        if suffix:
            record.msg = f"{record.getMessage()}{suffix}"
            record.args = None
        return True


def quiet_noisy_loggers() -> QuietClientErrors:
    """Attach one shared filter to every noisy logger; returns it so a caller can detach it."""
    quiet = QuietClientErrors()
    for name in NOISY_LOGGERS:
        logging.getLogger(name).addFilter(quiet)
    return quiet


def detach(quiet: QuietClientErrors) -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).removeFilter(quiet)
