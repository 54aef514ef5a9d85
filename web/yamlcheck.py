"""Small checks that turn one YAML value into a typed value, or a ConfigError naming it."""

from __future__ import annotations

import difflib
import math
import os
import string as charsets
from collections.abc import Mapping
from pathlib import Path

import yaml

from web.errors import ConfigError

MIN_KEY_LENGTH = 16
MIN_KEY_BITS = 96
# Character classes a key draws from, and how many characters each offers.
_CLASSES = (
    (charsets.ascii_lowercase, 26),
    (charsets.ascii_uppercase, 26),
    (charsets.digits, 10),
    ("-_", 2),
)
_OTHER_CHARACTERS = 33  # printable ASCII punctuation and anything beyond


def read_yaml(path: Path, file: str) -> dict[str, object]:
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
        raise ConfigError(file, "-", f"top level must be a mapping of keys, not {kind(data)}")
    return dict(data)


def key_value(file: str, dotted: str, raw: object) -> str:
    value = string(file, dotted, raw)
    if len(value) < MIN_KEY_LENGTH:
        raise ConfigError(
            file, dotted, f"too short: keys must be at least {MIN_KEY_LENGTH} random characters"
        )
    bits = key_bits(value)
    if bits < MIN_KEY_BITS:
        raise ConfigError(
            file,
            dotted,
            f"too easy to guess (about {bits:.0f} bits; keys need {MIN_KEY_BITS}): use 22 or "
            "more random letters and digits, e.g. from "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'",
        )
    return value


def key_bits(key: str) -> float:
    """How many bits of randomness `key` can hold at most, judged by length and characters.

    The pool is every character class the key uses, but no more than twice the
    characters it actually repeats over, so `aaaa…` or `abab…` count as what they are.
    """
    pool = sum(size for chars, size in _CLASSES if any(c in chars for c in key))
    if any(not any(c in chars for chars, _ in _CLASSES) for c in key):
        pool += _OTHER_CHARACTERS
    pool = min(pool, 2 * len(set(key)))
    return len(key) * math.log2(max(pool, 1))


def string(file: str, dotted: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ConfigError(file, dotted, f"must be text (quote it), not {kind(raw)}")
    if not raw.strip():
        raise ConfigError(file, dotted, "must not be empty")
    return raw


def path_value(file: str, dotted: str, raw: object) -> Path:
    if isinstance(raw, os.PathLike):
        return Path(raw)
    return Path(string(file, dotted, raw)).expanduser()


def mapping(file: str, dotted: str, raw: object) -> dict[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(file, dotted, f"must be a mapping of keys, not {kind(raw)}")
    return raw


def reject_unknown(
    file: str, dotted: str, raw: Mapping[str, object], known: tuple[str, ...]
) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(file, f"{dotted}.{key}", unknown_key(str(key), known))


def unknown_key(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key ({hint}expected one of: {', '.join(known)})"


def kind(value: object) -> str:
    names: dict[type, str] = {bool: "true/false", int: "a number", float: "a number"}
    names.update({str: "text", list: "a list", dict: "a mapping", type(None): "nothing"})
    return names.get(type(value), type(value).__name__)
