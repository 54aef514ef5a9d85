"""The `speakers:` and `speaker_limits:` sections of config.yaml: the commune's loudspeaker
clusters, each with a key of its own, generated and kept like the hall keys.

A cluster's key opens only that cluster's stream and status (web/speakers.py); it is
no role, so it opens no page. Keys left out are kept under `speakers:` in
`<data_dir>/keys.yaml`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml

from web.errors import ConfigError
from web.files import make_private_dir, write_file_atomically
from web.keystore import KEYS_FILE
from web.yamlcheck import key_value, kind, mapping, path_value, read_yaml, reject_unknown, string

SPEAKER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
SPEAKER_KEYS = ("id", "name", "area", "key")
LIMIT_KEYS = ("listeners", "stale_after", "buffer_seconds")
# (default, lowest, highest) of each limit
LIMIT_RANGES: dict[str, tuple[int, int, int]] = {
    "listeners": (20, 1, 1000),  # receivers on one cluster's streams at once; then 503
    "stale_after": (120, 5, 86400),  # seconds unseen before a cluster is flagged
    "buffer_seconds": (8, 1, 60),  # audio queued for one receiver before it is dropped
}


@dataclass(frozen=True)
class SpeakerConfig:
    id: str
    name: str
    area: str  # the hall or area it serves, e.g. thon-1
    key: str = field(repr=False)


@dataclass(frozen=True)
class SpeakerLimits:
    listeners: int = LIMIT_RANGES["listeners"][0]
    stale_after: int = LIMIT_RANGES["stale_after"][0]
    buffer_seconds: int = LIMIT_RANGES["buffer_seconds"][0]


@dataclass(frozen=True)
class SpeakerSettings:
    clusters: tuple[SpeakerConfig, ...] = ()
    limits: SpeakerLimits = field(default_factory=SpeakerLimits)
    generated_keys: tuple[str, ...] = ()
    idle_file: Path | None = None  # played in a loop between meetings; None: silence

    def by_key(self, key: str) -> SpeakerConfig | None:
        """The cluster `key` belongs to, compared in constant time against every key."""
        found = None
        candidate = key.encode()
        for cluster in self.clusters:
            if hmac.compare_digest(cluster.key.encode(), candidate):
                found = cluster
        return found


def read_speakers(
    file: str,
    raw: Mapping[str, object],
    base_dir: Path,
    data_dir: Path,
    role_keys: Mapping[str, str],
    hall_keys: Mapping[str, str],
) -> SpeakerSettings:
    """Parse both sections of the raw config. A cluster never shares a key with a role or
    a hall (`role_keys`, `hall_keys`: name → key), nor with another cluster."""
    entries = _clusters(file, raw.get("speakers"))
    limits = _limits(file, raw.get("speaker_limits"))
    idle_file = _idle_file(file, raw.get("speaker_idle_file"), base_dir)
    keys, generated = _complete_keys(data_dir, entries)
    owners = {value: f"keys.{name}" for name, value in role_keys.items()}
    owners |= {value: f"halls.{name}.key" for name, value in hall_keys.items()}
    for index, (speaker_id, _, _, _) in enumerate(entries):
        value = keys[speaker_id]
        if value in owners:
            raise ConfigError(file, f"speakers[{index}].key", f"same key as {owners[value]}")
        owners[value] = f"speakers[{index}].key"
    clusters = tuple(SpeakerConfig(i, name, area, keys[i]) for i, name, area, _ in entries)
    if generated:
        _save_keys(data_dir, {i: keys[i] for i in generated})
    named = tuple(f"speakers.{i}.key" for i in generated)
    return SpeakerSettings(clusters, limits, named, idle_file)


def speaker_links(settings: SpeakerSettings, base: str) -> list[tuple[str, str]]:
    """(label, url) of each cluster's MP3 stream, printed at start with the join links."""
    return [
        (f"speaker {c.id} ({c.name})", f"{base}/speakers/{c.id}/stream.mp3?key={quote(c.key, '')}")
        for c in settings.clusters
    ]


def _clusters(file: str, raw: object) -> list[tuple[str, str, str, str | None]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(file, "speakers", f"must be a list of clusters, not {kind(raw)}")
    entries: list[tuple[str, str, str, str | None]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"speakers[{index}]"
        entry = mapping(file, where, entry)
        reject_unknown(file, where, entry, SPEAKER_KEYS)
        if entry.get("id") is None:
            raise ConfigError(file, f"{where}.id", "missing: every cluster needs an id like loa-1")
        speaker_id = string(file, f"{where}.id", entry["id"])
        if not SPEAKER_ID.match(speaker_id):
            raise ConfigError(
                file,
                f"{where}.id",
                f"{speaker_id!r} is not a valid id: use 1-32 lowercase letters, digits or '-', "
                "starting with a letter or digit",
            )
        if speaker_id in seen:
            message = f"duplicate cluster id {speaker_id!r} (also speakers[{seen[speaker_id]}])"
            raise ConfigError(file, f"{where}.id", message)
        seen[speaker_id] = index
        name = string(file, f"{where}.name", entry.get("name") or speaker_id)
        area = "" if entry.get("area") is None else string(file, f"{where}.area", entry["area"])
        key = None if entry.get("key") is None else key_value(file, f"{where}.key", entry["key"])
        entries.append((speaker_id, name, area, key))
    return entries


def _limits(file: str, raw: object) -> SpeakerLimits:
    raw = mapping(file, "speaker_limits", raw)
    reject_unknown(file, "speaker_limits", raw, LIMIT_KEYS)
    values: dict[str, int] = {}
    for name, (default, low, high) in LIMIT_RANGES.items():
        value = raw.get(name)
        value = default if value is None else value
        dotted = f"speaker_limits.{name}"
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(file, dotted, f"must be a whole number, not {kind(value)}")
        if not low <= value <= high:
            raise ConfigError(file, dotted, f"{value} is out of range ({low}..{high})")
        values[name] = value
    return SpeakerLimits(**values)


def _idle_file(file: str, raw: object, base_dir: Path) -> Path | None:
    if raw is None:
        return None
    found = (base_dir / path_value(file, "speaker_idle_file", raw)).resolve()
    if not found.is_file():
        raise ConfigError(file, "speaker_idle_file", f"file not found: {found}")
    return found


def _stored(data_dir: Path) -> dict[str, object]:
    path = data_dir / KEYS_FILE
    return read_yaml(path, str(path)) if path.exists() else {}


def _complete_keys(
    data_dir: Path, entries: list[tuple[str, str, str, str | None]]
) -> tuple[dict[str, str], tuple[str, ...]]:
    path = data_dir / KEYS_FILE
    stored = mapping(str(path), "speakers", _stored(data_dir).get("speakers"))
    keys: dict[str, str] = {}
    generated: list[str] = []
    for speaker_id, _, _, given in entries:
        if given is not None:
            keys[speaker_id] = given  # config.yaml wins, so a leaked key can be rotated
        elif speaker_id in stored:
            keys[speaker_id] = key_value(str(path), f"speakers.{speaker_id}", stored[speaker_id])
        else:
            keys[speaker_id] = secrets.token_urlsafe(24)
            generated.append(speaker_id)
    return keys, tuple(generated)


def _save_keys(data_dir: Path, keys: Mapping[str, str]) -> None:
    """Add the generated keys to keys.yaml's `speakers:`, keeping every other line's key."""
    raw = _stored(data_dir)
    stored = dict(mapping(str(data_dir / KEYS_FILE), "speakers", raw.get("speakers")))
    stored.update(keys)
    raw["speakers"] = stored
    make_private_dir(data_dir)
    text = "# Generated by commune-bridge. Keys set in config.yaml take precedence.\n"
    text += yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    write_file_atomically(data_dir / KEYS_FILE, text.encode("utf-8"), 0o600)
