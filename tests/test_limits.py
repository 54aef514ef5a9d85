"""The `limits:` section and key strength: clear errors, sensible defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.config import load_settings
from web.errors import ConfigError
from web.limits import Limits, read_limits
from web.yamlcheck import key_bits


def test_no_limits_section_gives_the_defaults_of_the_issue() -> None:
    limits = read_limits("config.yaml", None)
    assert limits == Limits()
    assert dict(limits.sockets) == {"hall": 3, "chair": 4, "secretary": 4, "viewer": 50}
    assert (limits.pending_sessions, limits.pending_sessions_per_ip) == (5, 3)
    assert (limits.candidates_per_section, limits.failed_keys_per_minute) == (10, 10)


def test_limits_can_be_raised_per_role() -> None:
    limits = read_limits("c.yaml", {"sockets": {"viewer": 400}, "public_candidates": True})
    assert limits.sockets["viewer"] == 400
    assert limits.sockets["hall"] == 3
    assert limits.public_candidates is True


@pytest.mark.parametrize(
    "raw,where,says",
    [
        ({"sockets": {"tv": 3}}, "limits.sockets.tv", "unknown role"),
        ({"sockets": {"viewer": 0}}, "limits.sockets.viewer", "1..100000"),
        ({"pending_timeout": 0}, "limits.pending_timeout", "out of range"),
        ({"connections": "many"}, "limits.connections", "whole number"),
        ({"public_candidates": "yes"}, "limits.public_candidates", "true or false"),
        ({"conections": 10}, "limits.conections", "did you mean 'connections'"),
        ({"reserve": 200}, "limits.reserve", "too little"),
    ],
)
def test_a_bad_limit_is_one_clear_error(raw: dict[str, object], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_limits("c.yaml", raw)
    assert caught.value.key == where
    assert says in caught.value.message


@pytest.mark.parametrize(
    "key", ["aaaaaaaaaaaaaaaa", "abababababababababababababab", "0123456789012345678"]
)
def test_a_guessable_key_in_the_config_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"data_dir": str(tmp_path), "keys": {"viewer": key}})
    assert caught.value.key == "keys.viewer"
    assert "96" in caught.value.message


def test_generated_keys_and_random_ones_have_96_bits() -> None:
    settings_keys = ["Zpyp8LT9-LgEQ9FmQm8HC9rwqadROEB_", "k3Jd93hQx0pLmz7Vb2Wq4R"]
    assert all(key_bits(key) >= 96 for key in settings_keys)
    assert key_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 96
