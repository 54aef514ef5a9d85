"""Errors the bridge raises; web/ maps them to HTTP replies.

BridgeError
├── BadOffer             the SDP offer is empty, malformed or unusable
├── CodecUnsupported     no codec both sides can use (the message names it)
├── SessionNotFound      no such session id
├── TooManySessions      the configured session limit is reached
└── InternalsChanged     the installed aiortc no longer has what we rely on
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class BadOffer(BridgeError):
    pass


class CodecUnsupported(BridgeError):
    pass


class SessionNotFound(BridgeError):
    pass


class TooManySessions(BridgeError):
    pass


class InternalsChanged(BridgeError):
    pass
