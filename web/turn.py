"""The ICE servers each key is given, with short-lived TURN credentials instead of the secret.

TURN credentials follow the TURN REST API scheme that coturn checks with
`use-auth-secret`: the username is "<expiry unix time>:<label>" and the password
is base64(HMAC-SHA1(secret, username)). The TURN server needs only the shared
secret to check them, and refuses them once the expiry has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from rooms.permissions import PUBLISH, WATCH

from .auth import Identity
from .config import Settings, TurnConfig

# Only a key that sends or receives media needs a path for it.
MEDIA_PERMISSIONS = (PUBLISH, WATCH)


def ice_servers_for(
    settings: Settings, identity: Identity, now: float | None = None
) -> list[dict[str, object]]:
    """The RTCConfiguration iceServers for `identity`: none unless it handles media."""
    if not any(identity.may(permission) for permission in MEDIA_PERMISSIONS):
        return []
    servers = [dict(server) for server in settings.ice_servers]
    if settings.turn is not None:
        at = time.time() if now is None else now
        servers.append(turn_server(settings.turn, label_for(identity), at))
    return servers


def turn_server(turn: TurnConfig, label: str, now: float) -> dict[str, object]:
    """One iceServers entry for `turn`, valid for `turn.ttl` seconds from `now`."""
    username = f"{int(now) + turn.ttl}:{label}"
    return {
        "urls": list(turn.urls),
        "username": username,
        "credential": credential(turn.secret, username),
    }


def credential(secret: str, username: str) -> str:
    """The password coturn expects for `username` under `static-auth-secret=secret`."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def label_for(identity: Identity) -> str:
    """Who the credential was given to, as coturn logs it: "chair", "hall-thon-1".

    No ':' (coturn splits the expiry off at the first one) and nothing that would
    need quoting in a Link header.
    """
    return f"{identity.role}-{identity.hall_id}" if identity.hall_id else identity.role
