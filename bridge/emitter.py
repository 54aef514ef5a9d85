"""The event emitter every bridge object uses: a listener that throws is logged, never fatal.

pyee re-raises a listener's exception as an `error` event; without a listener
for it, one bad listener would break a close cascade.
"""

from __future__ import annotations

import logging

from pyee.asyncio import AsyncIOEventEmitter

logger = logging.getLogger(__name__)


class Emitter(AsyncIOEventEmitter):
    def __init__(self) -> None:
        super().__init__()
        self.on("error", self._listener_failed)

    def _listener_failed(self, exc: Exception) -> None:
        logger.error("%s listener failed", type(self).__name__, exc_info=exc)
