"""The `limits:` section of config.yaml: how much of the bridge one address or one key may hold.

Every default keeps a hall on the air while someone without its key floods the
bridge; an operator raises them for a large meeting, never needs to lower them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from web.errors import ConfigError
from web.yamlcheck import kind, mapping, reject_unknown

SOCKET_ROLES = ("hall", "chair", "secretary", "viewer")
LIMIT_KEYS = (
    "connections",
    "connections_per_ip",
    "reserve",
    "sockets",
    "sockets_per_ip",
    "pending_sessions",
    "pending_sessions_per_ip",
    "pending_timeout",
    "candidates_per_section",
    "candidate_addresses",
    "public_candidates",
    "failed_keys_per_minute",
)
# (lowest, highest) for each number: outside them the bridge would lock itself out or
# stop protecting anything.
_RANGES: dict[str, tuple[float, float]] = {
    "connections": (64, 1_000_000),
    "connections_per_ip": (16, 1_000_000),
    "reserve": (4, 10_000),
    "sockets_per_ip": (1, 100_000),
    "pending_sessions": (1, 1000),
    "pending_sessions_per_ip": (1, 1000),
    "pending_timeout": (1, 120),
    "candidates_per_section": (1, 100),
    "candidate_addresses": (1, 64),
    "failed_keys_per_minute": (1, 10_000),
}


def _default_sockets() -> dict[str, int]:
    return {"hall": 3, "chair": 4, "secretary": 4, "viewer": 50}


@dataclass(frozen=True)
class Limits:
    """Caps on what one client or key may hold; the defaults suit a commune meeting."""

    connections: int = 4000  # TCP connections in all; also kept below the fd limit
    connections_per_ip: int = 200
    reserve: int = 32  # of both, kept for requests that carry a hall, chair or secretary key
    sockets: Mapping[str, int] = field(default_factory=_default_sockets)  # page sockets per key
    sockets_per_ip: int = 20  # page sockets of one key from one address
    pending_sessions: int = 5  # WHIP/WHEP sessions not yet connected, per key
    pending_sessions_per_ip: int = 3
    pending_timeout: float = 10.0  # seconds a session may take to connect
    candidates_per_section: int = 10  # ICE candidates read from each m= section of an offer
    candidate_addresses: int = 4  # distinct addresses the bridge checks per session
    public_candidates: bool = False  # true behind NAT: check any address an offer names
    failed_keys_per_minute: int = 10  # wrong keys from one address before 429


def read_limits(file: str, raw: object) -> Limits:
    """The `limits:` mapping as Limits, or a ConfigError naming the bad entry."""
    given = mapping(file, "limits", raw)
    reject_unknown(file, "limits", given, LIMIT_KEYS)
    values: dict[str, object] = {}
    for name, (low, high) in _RANGES.items():
        if given.get(name) is None:
            continue
        value = given[name]
        whole = name != "pending_timeout"
        wanted: tuple[type, ...] = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            noun = "a whole number" if whole else "a number of seconds"
            raise ConfigError(file, f"limits.{name}", f"must be {noun}, not {kind(value)}")
        if not low <= value <= high:  # type: ignore[operator]
            message = f"{value} is out of range ({low:g}..{high:g})"
            raise ConfigError(file, f"limits.{name}", message)
        values[name] = value
    public = given.get("public_candidates")
    if public is not None:
        if not isinstance(public, bool):
            raise ConfigError(file, "limits.public_candidates", "must be true or false")
        values["public_candidates"] = public
    sockets = _default_sockets()
    for role, count in mapping(file, "limits.sockets", given.get("sockets")).items():
        if role not in SOCKET_ROLES:
            message = f"unknown role (expected one of: {', '.join(SOCKET_ROLES)})"
            raise ConfigError(file, f"limits.sockets.{role}", message)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
            raise ConfigError(file, f"limits.sockets.{role}", "must be a whole number 1..100000")
        sockets[str(role)] = count
    values["sockets"] = sockets
    limits = Limits(**values)  # type: ignore[arg-type]
    if limits.reserve * 2 > limits.connections_per_ip:
        message = f"{limits.reserve} leaves too little of connections_per_ip for anyone else"
        raise ConfigError(file, "limits.reserve", message)
    return limits
