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

from media.retention import RetentionPolicy
from web.errors import ConfigError
from web.iceconfig import TurnConfig, read_ice_servers, read_turn
from web.keystore import KEY_NAMES, complete_keys
from web.limits import Limits, read_limits
from web.recordconfig import RecordingConfig, read_recording
from web.recordsconfig import SECTIONS as RECORDS_SECTIONS
from web.recordsconfig import RecordsConfig, read_records
from web.retentionconfig import read_retention
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
    "recording",
    *RECORDS_SECTIONS,
    "retention",
    "speaker_idle_file",
)
FLOOR_KEYS = ("limit",)
# How long a hall may speak before the chair is warned; it never ends the floor by itself.
SPEAKING_LIMIT_DEFAULT, SPEAKING_LIMIT_RANGE = 180, (30, 3600)
SERVER_KEYS = ("host", "port", "tls", "allow_plain_http")
HALL_KEYS = ("id", "name", "key")
# Long enough to outlast a meeting day, short enough that a leaked one soon stops working.
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
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


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
    ice_servers = read_ice_servers(file, raw.get("ice_servers"))
    turn = read_turn(file, raw.get("turn"))
    speaking_limit = _speaking_limit(file, raw.get("floor"))
    limits = read_limits(file, raw.get("limits"))
    recording = read_recording(file, raw.get("recording"))
    records = read_records(file, raw)

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
        recording=recording,
        records=records,
        retention=read_retention(file, raw.get("retention")),
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
        ("secretary", f"{base}/secretary?key={key(settings.keys.secretary)}"),
        ("viewer", f"{base}/view?key={key(settings.keys.viewer)}"),
        ("board", f"{base}/board?key={key(settings.keys.viewer)}"),  # the public screen
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
