"""The record's sections of config.yaml: who signs the minutes (`minutes:`) and how long
the commune gives itself to answer a question (`register:`). How long files are kept
(`retention:`) is read by web/retentionconfig.py, for the purge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rooms.entry import clean_text
from rooms.register import DUE_DAYS, MAX_DUE_DAYS
from web.errors import ConfigError
from web.yamlcheck import kind, mapping, reject_unknown

SECTIONS = ("minutes", "register")
MINUTES_KEYS = ("chair_name", "secretary_name")
REGISTER_KEYS = ("due_days",)
NAME_LIMIT = 80


@dataclass(frozen=True)
class RecordsConfig:
    chair_name: str = ""  # printed under the signature lines of the minutes
    secretary_name: str = ""
    due_days: int = DUE_DAYS


def read_records(file: str, raw: Mapping[str, object]) -> RecordsConfig:
    """The two sections from the top level of the config (each may be left out)."""
    minutes = mapping(file, "minutes", raw.get("minutes"))
    reject_unknown(file, "minutes", minutes, MINUTES_KEYS)
    names = {key: _name(file, f"minutes.{key}", minutes.get(key)) for key in MINUTES_KEYS}
    register = mapping(file, "register", raw.get("register"))
    reject_unknown(file, "register", register, REGISTER_KEYS)
    due_days = _days(file, "register.due_days", register.get("due_days", DUE_DAYS), MAX_DUE_DAYS)
    return RecordsConfig(due_days=due_days, **names)


def _name(file: str, dotted: str, raw: object) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ConfigError(file, dotted, f"must be text (quote it), not {kind(raw)}")
    name = clean_text(raw)
    if len(name) > NAME_LIMIT:
        raise ConfigError(file, dotted, f"is {len(name)} characters; at most {NAME_LIMIT}")
    return name


def _days(file: str, dotted: str, raw: object, highest: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise ConfigError(file, dotted, f"must be a whole number of days, not {kind(raw)}")
    if not 1 <= raw <= highest:
        raise ConfigError(file, dotted, f"{raw} is not in 1..{highest}")
    return raw
