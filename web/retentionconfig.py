"""The `retention:` section of config.yaml: how many days recordings, clips and exports
are kept (see media/retention.py)."""

from __future__ import annotations

from media.retention import RetentionPolicy

from .errors import ConfigError
from .yamlcheck import kind, mapping, reject_unknown

RETENTION_KEYS = ("recordings_days", "clips_days", "exports_days")
DAYS_RANGE = (1, 3650)


def read_retention(file: str, raw: object) -> RetentionPolicy:
    """The `retention:` mapping as a RetentionPolicy, or a ConfigError naming the bad entry."""
    given = mapping(file, "retention", raw)
    reject_unknown(file, "retention", given, RETENTION_KEYS)
    values: dict[str, int] = {}
    low, high = DAYS_RANGE
    for name in RETENTION_KEYS:
        value = given.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                file, f"retention.{name}", f"must be a whole number of days, not {kind(value)}"
            )
        if not low <= value <= high:
            raise ConfigError(file, f"retention.{name}", f"{value} is out of range ({low}..{high})")
        values[name] = value
    return RetentionPolicy(**values)
