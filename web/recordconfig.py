"""The `recording:` section of config.yaml: whether every meeting records from its opening,
and how much free disk a recording needs before it may start."""

from __future__ import annotations

from dataclasses import dataclass

from web.errors import ConfigError
from web.yamlcheck import kind, mapping, reject_unknown

RECORDING_KEYS = ("auto", "min_free_gib")
MIN_FREE_RANGE = (0.0, 100_000.0)  # GiB; 0 turns the check off


@dataclass(frozen=True)
class RecordingConfig:
    auto: bool = False  # start recording whenever a meeting opens
    min_free_gib: float = 2.0  # below this free space a recording refuses to start


def read_recording(file: str, raw: object) -> RecordingConfig:
    """The `recording:` mapping as RecordingConfig, or a ConfigError naming the bad entry."""
    given = mapping(file, "recording", raw)
    reject_unknown(file, "recording", given, RECORDING_KEYS)
    config = RecordingConfig()
    auto = given.get("auto", config.auto)
    if not isinstance(auto, bool):
        raise ConfigError(file, "recording.auto", f"must be true or false, not {kind(auto)}")
    free = given.get("min_free_gib", config.min_free_gib)
    if isinstance(free, bool) or not isinstance(free, int | float):
        raise ConfigError(file, "recording.min_free_gib", f"must be a number, not {kind(free)}")
    low, high = MIN_FREE_RANGE
    if not low <= free <= high:
        message = f"{free} is out of range ({low:g}..{high:g})"
        raise ConfigError(file, "recording.min_free_gib", message)
    return RecordingConfig(auto=auto, min_free_gib=float(free))
