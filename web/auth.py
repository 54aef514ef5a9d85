"""Turns a key into an identity (role, and hall for hall keys), in constant time.

Permissions come from rooms/permissions.py: the edge checks a permission,
never a role name.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from rooms.permissions import permissions_for

from .config import Settings
from .errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Identity:
    role: str
    hall_id: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_for(self.role)

    def may(self, permission: str) -> bool:
        return permission in self.permissions


class KeyRing:
    """Every key the config knows, and whose it is."""

    def __init__(self, settings: Settings) -> None:
        keys = settings.keys
        entries: list[tuple[bytes, Identity]] = [
            (keys.chair.encode(), Identity("chair")),
            (keys.secretary.encode(), Identity("secretary")),
            (keys.viewer.encode(), Identity("viewer")),
        ]
        entries += [(h.key.encode(), Identity("hall", h.id)) for h in settings.halls]
        self._entries = entries

    def identify(self, key: str | None) -> Identity:
        """The identity for `key`; Unauthorized when absent, Forbidden when unknown."""
        if not key:
            raise Unauthorized("a key is required: open the join link you were given")
        candidate = key.encode()
        found: Identity | None = None
        # Compare against every key, without stopping early, so timing tells nothing.
        for stored, identity in self._entries:
            if hmac.compare_digest(stored, candidate):
                found = identity
        if found is None:
            raise Forbidden("this key is not valid for this bridge")
        return found

    def from_bearer(self, request: web.Request) -> Identity:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise Unauthorized("missing Authorization: Bearer <key>")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <key>'")
        return self.identify(token.strip())

    def from_query(self, request: web.Request) -> Identity:
        return self.identify(request.query.get("key"))
