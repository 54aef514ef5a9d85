"""Turns config.yaml into frozen `Settings`, or into one ConfigError naming file, key and problem.

Keys the operator left out are generated once and kept in `<data_dir>/keys.yaml`, so join
links printed at the first start stay valid after a restart.
"""

from __future__ import annotations

import difflib
import errno
import ipaddress
import os
import re
import secrets
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import yaml

from web.errors import ConfigError

DEFAULTS_NAME = "<defaults>"
KEYS_FILE = "keys.yaml"
MIN_KEY_LENGTH = 16
HALL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
ROLES = ("chair", "secretary", "viewer")
TOP_LEVEL_KEYS = ("commune", "server", "data_dir", "keys", "halls", "ice_servers")
SERVER_KEYS = ("host", "port", "tls", "allow_plain_http")
HALL_KEYS = ("id", "name", "key")
ICE_KEYS = ("urls", "username", "credential")
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
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


def load_settings(path: Path | None, overrides: Mapping[str, object] | None = None) -> Settings:
    """Read, validate and complete the config; `path=None` means the built-in defaults."""
    file = DEFAULTS_NAME if path is None else str(path)
    raw = {} if path is None else _read_yaml(path, file)
    raw.update(overrides or {})
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(file, str(key), _unknown_key(str(key), TOP_LEVEL_KEYS))
    base_dir = Path.cwd() if path is None else path.resolve().parent

    commune = _string(file, "commune", _get(raw, "commune", "Xã Trực Khang"))
    server = _server(file, _mapping(file, "server", raw.get("server")), base_dir)
    data_dir = (base_dir / _path(file, "data_dir", _get(raw, "data_dir", "./data"))).resolve()
    given_keys = _role_keys(file, _mapping(file, "keys", raw.get("keys")))
    halls = _halls(file, raw.get("halls"))
    ice_servers = _ice_servers(file, raw.get("ice_servers"))

    keys, hall_keys, generated = _complete_keys(file, data_dir, given_keys, halls)
    return Settings(
        commune=commune,
        server=server,
        data_dir=data_dir,
        keys=KeysConfig(**keys),
        halls=tuple(HallConfig(h, name, hall_keys[h]) for h, name, _ in halls),
        ice_servers=ice_servers,
        config_file=file,
        generated_keys=generated,
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
    ]
    for hall in settings.halls:
        links.append(
            (f"hall {hall.id} ({hall.name})", f"{base}/hall/{hall.id}?key={key(hall.key)}")
        )
    return links


def write_file_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` so a crash leaves the old file or the new one, never half of one."""
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            os.fchmod(tmp.fileno(), mode)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def make_private_dir(path: Path) -> None:
    """Create `path` readable by the bridge's user only; an existing dir is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by umask; chmod is not


def _read_yaml(path: Path, file: str) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(file, "-", "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "-", f"cannot read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, "-", f"YAML syntax error at {where}{problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(file, "-", f"top level must be a mapping of keys, not {_kind(data)}")
    return dict(data)


def _server(file: str, raw: Mapping[str, object], base_dir: Path) -> ServerConfig:
    _reject_unknown(file, "server", raw, SERVER_KEYS)
    host = _string(file, "server.host", _get(raw, "host", "0.0.0.0"))
    port = _get(raw, "port", 8443)
    if not isinstance(port, int) or isinstance(port, bool):
        raise ConfigError(file, "server.port", f"must be a whole number, not {_kind(port)}")
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
    _reject_unknown(file, "server.tls", raw, ("cert", "key"))
    paths: list[Path] = []
    for name in ("cert", "key"):
        dotted = f"server.tls.{name}"
        if raw.get(name) is None:
            raise ConfigError(file, dotted, "missing: give the path of the PEM file")
        found = (base_dir / _path(file, dotted, raw[name])).resolve()
        if not found.is_file():
            raise ConfigError(file, dotted, f"file not found: {found}")
        paths.append(found)
    return TlsConfig("files", cert=paths[0], key=paths[1])


def _role_keys(file: str, raw: Mapping[str, object]) -> dict[str, str]:
    _reject_unknown(file, "keys", raw, ROLES)
    return {
        role: _key(file, f"keys.{role}", raw[role]) for role in ROLES if raw.get(role) is not None
    }


def _halls(file: str, raw: object) -> list[tuple[str, str, str | None]]:
    """(id, name, key or None) per hall, in config order."""
    if raw is None:
        return [(hall_id, name, None) for hall_id, name in DEFAULT_HALLS]
    if not isinstance(raw, list):
        raise ConfigError(file, "halls", f"must be a list of halls, not {_kind(raw)}")
    if not raw:
        raise ConfigError(file, "halls", "must list at least one hall")
    halls: list[tuple[str, str, str | None]] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"halls[{index}]"
        entry = _mapping(file, where, entry)
        _reject_unknown(file, where, entry, HALL_KEYS)
        if entry.get("id") is None:
            raise ConfigError(file, f"{where}.id", "missing: every hall needs an id like thon-1")
        hall_id = _string(file, f"{where}.id", entry["id"])
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
        name = _string(file, f"{where}.name", _get(entry, "name", hall_id))
        key = None if entry.get("key") is None else _key(file, f"{where}.key", entry["key"])
        halls.append((hall_id, name, key))
    return halls


def _ice_servers(file: str, raw: object) -> tuple[dict[str, object], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(file, "ice_servers", f"must be a list, not {_kind(raw)}")
    servers: list[dict[str, object]] = []
    for index, entry in enumerate(raw):
        where = f"ice_servers[{index}]"
        entry = _mapping(file, where, entry)
        _reject_unknown(file, where, entry, ICE_KEYS)
        urls = entry.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not url_list:
            raise ConfigError(file, f"{where}.urls", "missing: give a stun: or turn: URL or a list")
        for url in url_list:
            if not isinstance(url, str) or not url.startswith(ICE_SCHEMES):
                raise ConfigError(file, f"{where}.urls", f"{url!r} is not a stun:/turn: URL")
        server: dict[str, object] = {"urls": urls if isinstance(urls, str) else list(url_list)}
        for name in ("username", "credential"):
            if entry.get(name) is not None:
                server[name] = _string(file, f"{where}.{name}", entry[name])
        servers.append(server)
    return tuple(servers)


def _complete_keys(
    file: str, data_dir: Path, given: dict[str, str], halls: list[tuple[str, str, str | None]]
) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """Fill missing keys from keys.yaml or fresh randomness, saving any new ones."""
    keys_path = data_dir / KEYS_FILE
    stored_roles, stored_halls = _read_stored_keys(keys_path)
    generated: list[str] = []

    def pick(given_key: str | None, stored: dict[str, str], name: str, dotted: str) -> str:
        if given_key is not None:
            return given_key  # config.yaml wins so an operator can rotate a leaked key
        if name not in stored:
            stored[name] = secrets.token_urlsafe(24)
            generated.append(dotted)
        return stored[name]

    keys = {role: pick(given.get(role), stored_roles, role, f"keys.{role}") for role in ROLES}
    hall_keys = {
        hall_id: pick(key, stored_halls, hall_id, f"halls.{hall_id}.key")
        for hall_id, _, key in halls
    }
    _check_keys_unique(file, keys, hall_keys, halls)  # before saving: a bad config stores nothing
    if generated:
        make_private_dir(data_dir)
        # Keys of halls since removed from config stay stored: re-adding a hall revives its link.
        text = "# Generated by commune-bridge. Keys set in config.yaml take precedence.\n"
        text += yaml.safe_dump(
            {"keys": stored_roles, "halls": stored_halls}, allow_unicode=True, sort_keys=False
        )
        write_file_atomically(keys_path, text.encode("utf-8"), 0o600)
    return keys, hall_keys, tuple(generated)


def _read_stored_keys(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    file = str(path)
    if not path.exists():
        return {}, {}
    raw = _read_yaml(path, file)
    sections: list[dict[str, str]] = []
    for section in ("keys", "halls"):
        stored = _mapping(file, section, raw.get(section))
        for name, value in stored.items():
            _key(file, f"{section}.{name}", value)
        sections.append({str(name): str(value) for name, value in stored.items()})
    return sections[0], sections[1]


def _check_keys_unique(
    file: str,
    keys: dict[str, str],
    hall_keys: dict[str, str],
    halls: list[tuple[str, str, str | None]],
) -> None:
    # A shared key would make two roles indistinguishable, since the key alone decides the role.
    owners: dict[str, str] = {}
    named = [(f"keys.{role}", keys[role]) for role in ROLES]
    named += [(f"halls[{index}].key", hall_keys[hall[0]]) for index, hall in enumerate(halls)]
    for dotted, value in named:
        if value in owners:
            raise ConfigError(file, dotted, f"same key as {owners[value]}")
        owners[value] = dotted


def _get(raw: Mapping[str, object], key: str, default: object) -> object:
    """A key written with no value (`port:`) means the default, as if it were left out."""
    value = raw.get(key)
    return default if value is None else value


def _key(file: str, dotted: str, raw: object) -> str:
    value = _string(file, dotted, raw)
    if len(value) < MIN_KEY_LENGTH:
        raise ConfigError(
            file, dotted, f"too short: keys must be at least {MIN_KEY_LENGTH} random characters"
        )
    return value


def _string(file: str, dotted: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ConfigError(file, dotted, f"must be text (quote it), not {_kind(raw)}")
    if not raw.strip():
        raise ConfigError(file, dotted, "must not be empty")
    return raw


def _path(file: str, dotted: str, raw: object) -> Path:
    if isinstance(raw, os.PathLike):
        return Path(raw)
    return Path(_string(file, dotted, raw)).expanduser()


def _mapping(file: str, dotted: str, raw: object) -> dict[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(file, dotted, f"must be a mapping of keys, not {_kind(raw)}")
    return raw


def _reject_unknown(
    file: str, dotted: str, raw: Mapping[str, object], known: tuple[str, ...]
) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(file, f"{dotted}.{key}", _unknown_key(str(key), known))


def _unknown_key(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key ({hint}expected one of: {', '.join(known)})"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _kind(value: object) -> str:
    names: dict[type, str] = {bool: "true/false", int: "a number", float: "a number"}
    names.update({str: "text", list: "a list", dict: "a mapping", type(None): "nothing"})
    return names.get(type(value), type(value).__name__)
