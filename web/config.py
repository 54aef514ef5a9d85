"""Turns config.yaml into frozen `Settings`, or into one ConfigError naming file, key and problem.

Keys the operator left out are generated once and kept in `<data_dir>/keys.yaml`, so join
links printed at the first start stay valid after a restart.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from web.errors import ConfigError
from web.keystore import KEY_NAMES, complete_keys
from web.limits import Limits, read_limits
from web.speakerconfig import SpeakerSettings, read_speakers, speaker_links
from web.yamlcheck import (
    key_value,
    kind,
    mapping,
    path_value,
    read_yaml,
    reject_unknown,
    string,
    unknown_key,
)

DEFAULTS_NAME = "<defaults>"
HALL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
TOP_LEVEL_KEYS = (
    "commune",
    "server",
    "data_dir",
    "keys",
    "halls",
    "ice_servers",
    "turn",
    "limits",
    "floor",
    "speakers",
    "speaker_limits",
    "speaker_idle_file",
)
FLOOR_KEYS = ("limit",)
# How long a hall may speak before the chair is warned; it never ends the floor by itself.
SPEAKING_LIMIT_DEFAULT, SPEAKING_LIMIT_RANGE = 180, (30, 3600)
SERVER_KEYS = ("host", "port", "tls", "allow_plain_http")
HALL_KEYS = ("id", "name", "key")
ICE_KEYS = ("urls", "username", "credential")
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
TURN_KEYS = ("urls", "secret", "ttl")
TURN_SCHEMES = ("turn:", "turns:")
MIN_TURN_SECRET = 16
# Long enough to outlast a meeting day, short enough that a leaked one soon stops working.
TURN_TTL_DEFAULT, TURN_TTL_RANGE = 86400, (60, 7 * 86400)
UNSAFE_IN_URL = re.compile(r'[\s"<>,\\\x00-\x1f\x7f]')
UNSAFE_IN_CREDENTIAL = re.compile(r'["\\\x00-\x1f\x7f]')
DEFAULT_HALLS = tuple((f"thon-{n}", f"Thôn {n}") for n in range(1, 7))


@dataclass(frozen=True)
class HallConfig:
    id: str
    name: str
    key: str


@dataclass(frozen=True)
class KeysConfig:
    chair: str
    secretary: str
    viewer: str
    metrics: str  # not a role: it opens /metrics and nothing else


@dataclass(frozen=True)
class TlsConfig:
    mode: Literal["auto", "off", "files"]
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    tls: TlsConfig
    allow_plain_http: bool = False


@dataclass(frozen=True)
class TurnConfig:
    """A TURN server that shares `secret` with the bridge (coturn's use-auth-secret).

    The secret stays on the bridge: clients get credentials derived from it that
    expire after `ttl` seconds (web/turn.py).
    """

    urls: tuple[str, ...]
    secret: str = field(repr=False)  # kept out of logs and tracebacks
    ttl: int = TURN_TTL_DEFAULT


@dataclass(frozen=True)
class Settings:
    commune: str
    server: ServerConfig
    data_dir: Path
    keys: KeysConfig
    halls: tuple[HallConfig, ...]
    ice_servers: tuple[dict[str, object], ...]
    config_file: str
    generated_keys: tuple[str, ...]
    turn: TurnConfig | None = None
    speaking_limit: int = SPEAKING_LIMIT_DEFAULT  # seconds
    limits: Limits = field(default_factory=Limits)
    speakers: SpeakerSettings = field(default_factory=SpeakerSettings)


def load_settings(path: Path | None, overrides: Mapping[str, object] | None = None) -> Settings:
    """Read, validate and complete the config; `path=None` means the built-in defaults."""
    file = DEFAULTS_NAME if path is None else str(path)
    raw = {} if path is None else read_yaml(path, file)
    raw.update(overrides or {})
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(file, str(key), unknown_key(str(key), TOP_LEVEL_KEYS))
    base_dir = Path.cwd() if path is None else path.resolve().parent

    commune = string(file, "commune", _get(raw, "commune", "Xã Trực Khang"))
    server = _server(file, mapping(file, "server", raw.get("server")), base_dir)
    data_dir = (base_dir / path_value(file, "data_dir", _get(raw, "data_dir", "./data"))).resolve()
    given_keys = _role_keys(file, mapping(file, "keys", raw.get("keys")))
    halls = _halls(file, raw.get("halls"))
    ice_servers = _ice_servers(file, raw.get("ice_servers"))
    turn = _turn(file, raw.get("turn"))
    speaking_limit = _speaking_limit(file, raw.get("floor"))
    limits = read_limits(file, raw.get("limits"))

    keys, hall_keys, generated = complete_keys(file, data_dir, given_keys, halls)
    speakers = read_speakers(file, raw, base_dir, data_dir, keys, hall_keys)
    return Settings(
        commune=commune,
        server=server,
        data_dir=data_dir,
        keys=KeysConfig(**keys),
        halls=tuple(HallConfig(h, name, hall_keys[h]) for h, name, _ in halls),
        ice_servers=ice_servers,
        config_file=file,
        generated_keys=generated + speakers.generated_keys,
        turn=turn,
        speaking_limit=speaking_limit,
        limits=limits,
        speakers=speakers,
    )


def check_port_free(settings: Settings) -> None:
    """Fail at startup with a config-style message rather than deep inside aiohttp."""
    host, port, file = settings.server.host, settings.server.port, settings.config_file
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ConfigError(file, "server.host", f"cannot resolve {host}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # The bridge's own server sets SO_REUSEADDR too, so a port in TIME_WAIT after a
        # restart is free for it and must not be reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = f"port {port} is already in use on {host}"
                raise ConfigError(file, "server.port", message) from exc
            if exc.errno == errno.EACCES:
                message = f"port {port} needs root; use a port above 1023"
                raise ConfigError(file, "server.port", message) from exc
            message = f"cannot listen on {host}: {exc.strerror}"
            raise ConfigError(file, "server.host", message) from exc


def join_links(settings: Settings, base_url: str) -> list[tuple[str, str]]:
    """The (label, url) pairs printed at startup; the secretary watches like a viewer."""
    base = base_url.rstrip("/")

    def key(value: str) -> str:
        return quote(value, safe="")

    links = [
        ("chair", f"{base}/chair?key={key(settings.keys.chair)}"),
        ("secretary", f"{base}/view?key={key(settings.keys.secretary)}"),
        ("viewer", f"{base}/view?key={key(settings.keys.viewer)}"),
        ("metrics", f"{base}/metrics?key={key(settings.keys.metrics)}"),
    ]
    for hall in settings.halls:
        links.append(
            (f"hall {hall.id} ({hall.name})", f"{base}/hall/{hall.id}?key={key(hall.key)}")
        )
    return links + speaker_links(settings.speakers, base)


def _server(file: str, raw: Mapping[str, object], base_dir: Path) -> ServerConfig:
    reject_unknown(file, "server", raw, SERVER_KEYS)
    host = string(file, "server.host", _get(raw, "host", "0.0.0.0"))
    port = _get(raw, "port", 8443)
    if not isinstance(port, int) or isinstance(port, bool):
        raise ConfigError(file, "server.port", f"must be a whole number, not {kind(port)}")
    if not 1 <= port <= 65535:
        raise ConfigError(file, "server.port", f"{port} is not a port (1..65535)")
    allow_plain_http = _get(raw, "allow_plain_http", False)
    if not isinstance(allow_plain_http, bool):
        raise ConfigError(file, "server.allow_plain_http", "must be true or false")
    tls = _tls(file, raw.get("tls", "auto"), base_dir)
    if tls.mode == "off" and not allow_plain_http and not _is_loopback(host):
        raise ConfigError(
            file,
            "server.tls",
            f"tls is off but host {host} is reachable from other machines; browsers there "
            "refuse camera and microphone without HTTPS. Use tls: auto, a loopback host, "
            "or set allow_plain_http: true",
        )
    return ServerConfig(host=host, port=port, tls=tls, allow_plain_http=allow_plain_http)


def _tls(file: str, raw: object, base_dir: Path) -> TlsConfig:
    # YAML 1.1 reads a bare `off` as false, which is what most people will write.
    if raw is False or raw == "off":
        return TlsConfig("off")
    if raw is None or raw == "auto":
        return TlsConfig("auto")
    if not isinstance(raw, dict):
        raise ConfigError(file, "server.tls", "must be auto, off or {cert: PATH, key: PATH}")
    reject_unknown(file, "server.tls", raw, ("cert", "key"))
    paths: list[Path] = []
    for name in ("cert", "key"):
        dotted = f"server.tls.{name}"
        if raw.get(name) is None:
            raise ConfigError(file, dotted, "missing: give the path of the PEM file")
        found = (base_dir / path_value(file, dotted, raw[name])).resolve()
        if not found.is_file():
            raise ConfigError(file, dotted, f"file not found: {found}")
        paths.append(found)
    return TlsConfig("files", cert=paths[0], key=paths[1])


def _role_keys(file: str, raw: Mapping[str, object]) -> dict[str, str]:
    reject_unknown(file, "keys", raw, KEY_NAMES)
    return {
        role: key_value(file, f"keys.{role}", raw[role])
        for role in KEY_NAMES
        if raw.get(role) is not None
    }


def _halls(file: str, raw: object) -> list[tuple[str, str, str | None]]:
    """(id, name, key or None) per hall, in config order."""
    if raw is None:
        return [(hall_id, name, None) for hall_id, name in DEFAULT_HALLS]
    if not isinstance(raw, list):
        raise ConfigError(file, "halls", f"must be a list of halls, not {kind(raw)}")
    if not raw:
        raise ConfigError(file, "halls", "must list at least one hall")
    halls: list[tuple[str, str, str | None]] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"halls[{index}]"
        entry = mapping(file, where, entry)
        reject_unknown(file, where, entry, HALL_KEYS)
        if entry.get("id") is None:
            raise ConfigError(file, f"{where}.id", "missing: every hall needs an id like thon-1")
        hall_id = string(file, f"{where}.id", entry["id"])
        if not HALL_ID.match(hall_id):
            raise ConfigError(
                file,
                f"{where}.id",
                f"{hall_id!r} is not a valid id: use 1-32 lowercase letters, digits or '-', "
                "starting with a letter or digit",
            )
        if hall_id in first_seen:
            raise ConfigError(
                file,
                f"{where}.id",
                f"duplicate hall id {hall_id!r} (also halls[{first_seen[hall_id]}])",
            )
        first_seen[hall_id] = index
        name = string(file, f"{where}.name", _get(entry, "name", hall_id))
        key = None if entry.get("key") is None else key_value(file, f"{where}.key", entry["key"])
        halls.append((hall_id, name, key))
    return halls


def _ice_servers(file: str, raw: object) -> tuple[dict[str, object], ...]:
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
            _ice_url(file, f"{where}.urls", url, ICE_SCHEMES, "stun:/turn:")
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


def _turn(file: str, raw: object) -> TurnConfig | None:
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
        _ice_url(file, "turn.urls", url, TURN_SCHEMES, "turn:/turns:")
    if raw.get("secret") is None:
        message = "missing: give the static-auth-secret of your turnserver.conf"
        raise ConfigError(file, "turn.secret", message)
    secret = string(file, "turn.secret", raw["secret"])
    if len(secret) < MIN_TURN_SECRET:
        message = f"too short: use at least {MIN_TURN_SECRET} random characters"
        raise ConfigError(file, "turn.secret", message)
    ttl = _get(raw, "ttl", TURN_TTL_DEFAULT)
    low, high = TURN_TTL_RANGE
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise ConfigError(file, "turn.ttl", f"must be a whole number of seconds, not {kind(ttl)}")
    if not low <= ttl <= high:
        raise ConfigError(file, "turn.ttl", f"{ttl} is out of range ({low}..{high} seconds)")
    return TurnConfig(urls=tuple(url_list), secret=secret, ttl=ttl)


def _speaking_limit(file: str, raw: object) -> int:
    if raw is None:
        return SPEAKING_LIMIT_DEFAULT
    raw = mapping(file, "floor", raw)
    reject_unknown(file, "floor", raw, FLOOR_KEYS)
    limit = _get(raw, "limit", SPEAKING_LIMIT_DEFAULT)
    low, high = SPEAKING_LIMIT_RANGE
    if not isinstance(limit, int) or isinstance(limit, bool):
        message = f"must be a whole number of seconds, not {kind(limit)}"
        raise ConfigError(file, "floor.limit", message)
    if not low <= limit <= high:
        raise ConfigError(file, "floor.limit", f"{limit} is out of range ({low}..{high} seconds)")
    return limit


def _ice_url(file: str, dotted: str, url: object, schemes: tuple[str, ...], names: str) -> None:
    if not isinstance(url, str) or not url.startswith(schemes):
        raise ConfigError(file, dotted, f"{url!r} is not a {names} URL")
    if UNSAFE_IN_URL.search(url):
        raise ConfigError(file, dotted, f"{url!r} has a space, quote or <>,")


def _get(raw: Mapping[str, object], key: str, default: object) -> object:
    """A key written with no value (`port:`) means the default, as if it were left out."""
    value = raw.get(key)
    return default if value is None else value


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
