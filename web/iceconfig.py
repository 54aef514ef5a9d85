"""The `ice_servers:` and `turn:` sections of config.yaml: the STUN/TURN servers pages
are given, and the TURN server whose shared secret the bridge keeps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from web.errors import ConfigError
from web.yamlcheck import kind, mapping, reject_unknown, string

ICE_KEYS = ("urls", "username", "credential")
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
TURN_KEYS = ("urls", "secret", "ttl")
TURN_SCHEMES = ("turn:", "turns:")
MIN_TURN_SECRET = 16
TURN_TTL_DEFAULT, TURN_TTL_RANGE = 86400, (60, 7 * 86400)
UNSAFE_IN_URL = re.compile(r'[\s"<>,\\\x00-\x1f\x7f]')
UNSAFE_IN_CREDENTIAL = re.compile(r'["\\\x00-\x1f\x7f]')


@dataclass(frozen=True)
class TurnConfig:
    """A TURN server that shares `secret` with the bridge (coturn's use-auth-secret).

    The secret stays on the bridge: clients get credentials derived from it that
    expire after `ttl` seconds (web/turn.py).
    """

    urls: tuple[str, ...]
    secret: str = field(repr=False)  # kept out of logs and tracebacks
    ttl: int = TURN_TTL_DEFAULT


def read_ice_servers(file: str, raw: object) -> tuple[dict[str, object], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(file, "ice_servers", f"must be a list, not {kind(raw)}")
    servers: list[dict[str, object]] = []
    for index, entry in enumerate(raw):
        where = f"ice_servers[{index}]"
        entry = mapping(file, where, entry)
        reject_unknown(file, where, entry, ICE_KEYS)
        urls = entry.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not url_list:
            raise ConfigError(file, f"{where}.urls", "missing: give a stun: or turn: URL or a list")
        for url in url_list:
            ice_url(file, f"{where}.urls", url, ICE_SCHEMES, "stun:/turn:")
        server: dict[str, object] = {"urls": urls if isinstance(urls, str) else list(url_list)}
        for name in ("username", "credential"):
            if entry.get(name) is not None:
                value = string(file, f"{where}.{name}", entry[name])
                # These go into HTTP Link headers (RFC 9725): no quotes or control characters.
                if UNSAFE_IN_CREDENTIAL.search(value):
                    message = "must not contain quotes, backslashes or control characters"
                    raise ConfigError(file, f"{where}.{name}", message)
                server[name] = value
        if ("username" in server) != ("credential" in server):
            message = "username and credential go together: give both or neither"
            raise ConfigError(file, where, message)
        servers.append(server)
    return tuple(servers)


def read_turn(file: str, raw: object) -> TurnConfig | None:
    if raw is None:
        return None
    raw = mapping(file, "turn", raw)
    reject_unknown(file, "turn", raw, TURN_KEYS)
    urls = raw.get("urls")
    url_list = [urls] if isinstance(urls, str) else urls
    if not isinstance(url_list, list) or not url_list:
        message = "missing: give a turn: URL or a list, e.g. turn:HOST:3478"
        raise ConfigError(file, "turn.urls", message)
    for url in url_list:
        ice_url(file, "turn.urls", url, TURN_SCHEMES, "turn:/turns:")
    if raw.get("secret") is None:
        message = "missing: give the static-auth-secret of your turnserver.conf"
        raise ConfigError(file, "turn.secret", message)
    secret = string(file, "turn.secret", raw["secret"])
    if len(secret) < MIN_TURN_SECRET:
        message = f"too short: use at least {MIN_TURN_SECRET} random characters"
        raise ConfigError(file, "turn.secret", message)
    ttl = raw.get("ttl")
    ttl = TURN_TTL_DEFAULT if ttl is None else ttl
    low, high = TURN_TTL_RANGE
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise ConfigError(file, "turn.ttl", f"must be a whole number of seconds, not {kind(ttl)}")
    if not low <= ttl <= high:
        raise ConfigError(file, "turn.ttl", f"{ttl} is out of range ({low}..{high} seconds)")
    return TurnConfig(urls=tuple(url_list), secret=secret, ttl=ttl)


def ice_url(file: str, dotted: str, url: object, schemes: tuple[str, ...], names: str) -> None:
    if not isinstance(url, str) or not url.startswith(schemes):
        raise ConfigError(file, dotted, f"{url!r} is not a {names} URL")
    if UNSAFE_IN_URL.search(url):
        raise ConfigError(file, dotted, f"{url!r} has a space, quote or <>,")
